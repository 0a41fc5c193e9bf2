import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';

export const MENU = [
  { group: 'menu.groupTags', items: [
    { path: '/tags', name: 'tags', label: 'menu.tags' },
    { path: '/explain', name: 'explain', label: 'menu.explain' },
    { path: '/contact-ways', name: 'contact-ways', label: 'menu.contactWays' },
  ] },
  { group: 'menu.groupCustomers', items: [
    { path: '/customers', name: 'customers', label: 'menu.customers' },
    { path: '/departures', name: 'departures', label: 'menu.departures' },
    { path: '/campaigns', name: 'campaigns', label: 'menu.campaigns' },
    { path: '/materials', name: 'materials', label: 'menu.materials' },
  ] },
  { group: 'menu.groupSecurity', items: [
    { path: '/org', name: 'org', label: 'menu.org' },
    { path: '/roles', name: 'roles', label: 'menu.roles' },
    { path: '/grants', name: 'grants', label: 'menu.grants' },
    { path: '/exports', name: 'exports', label: 'menu.exports' },
    { path: '/audit', name: 'audit', label: 'menu.audit' },
    { path: '/audit-reports', name: 'audit-reports', label: 'menu.auditReports' },
  ] },
  { group: 'menu.groupSystem', items: [
    { path: '/events', name: 'events', label: 'menu.events' },
    { path: '/settings', name: 'settings', label: 'menu.settings' },
  ] },
] as const;

const routes: RouteRecordRaw[] = [
  { path: '/', name: 'dashboard', component: () => import('./views/DashboardView.vue') },
  { path: '/tags', name: 'tags', component: () => import('./views/TagLibraryView.vue') },
  { path: '/explain', name: 'explain', component: () => import('./views/ExplainView.vue') },
  { path: '/contact-ways', name: 'contact-ways', component: () => import('./views/ContactWaysView.vue') },
  { path: '/customers', name: 'customers', component: () => import('./views/CustomersView.vue') },
  { path: '/departures', name: 'departures', component: () => import('./views/DeparturesView.vue') },
  { path: '/campaigns', name: 'campaigns', component: () => import('./views/CampaignsView.vue') },
  { path: '/materials', name: 'materials', component: () => import('./views/MaterialsView.vue') },
  { path: '/org', name: 'org', component: () => import('./views/OrgView.vue') },
  { path: '/roles', name: 'roles', component: () => import('./views/RolesView.vue') },
  { path: '/grants', name: 'grants', component: () => import('./views/GrantsView.vue') },
  { path: '/exports', name: 'exports', component: () => import('./views/ExportsView.vue') },
  { path: '/audit', name: 'audit', component: () => import('./views/AuditView.vue') },
  { path: '/audit-reports', name: 'audit-reports', component: () => import('./views/AuditReportsView.vue') },
  { path: '/events', name: 'events', component: () => import('./views/EventsView.vue') },
  { path: '/settings', name: 'settings', component: () => import('./views/SettingsView.vue') },
  { path: '/:rest(.*)*', redirect: '/' },
];

export function createAdminRouter() {
  return createRouter({ history: createWebHistory('/admin/'), routes });
}
