import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';
import CurrentView from './views/CurrentView.vue';

/**
 * Hash history: the page URL WeCom signs (without the fragment) stays the same while moving between
 * screens, so the JS-SDK is signed once (wecom-api.md §9).
 */
const routes: RouteRecordRaw[] = [
  { path: '/', name: 'current', component: CurrentView },
  { path: '/customer/:id', name: 'customer', component: () => import('./views/CustomerView.vue'), props: true },
  { path: '/customers', name: 'customers', component: () => import('./views/CustomersView.vue') },
  { path: '/pool', name: 'pool', component: () => import('./views/PoolView.vue') },
  { path: '/:rest(.*)*', redirect: '/' },
];

export function createSidebarRouter() {
  return createRouter({ history: createWebHashHistory(), routes });
}
