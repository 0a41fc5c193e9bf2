import { z } from 'zod';
import * as auth from '../auth/auth.route.ts';
import * as callback from '../callback/callback.route.ts';
import * as audit from '../routes/admin-audit.route.ts';
import * as contactWayRoutes from '../routes/admin-contact-ways.route.ts';
import * as events from '../routes/admin-events.route.ts';
import * as roles from '../routes/admin-roles.route.ts';
import * as ruleGroups from '../routes/admin-rule-groups.route.ts';
import * as sync from '../routes/admin-sync.route.ts';
import * as tagPolicy from '../routes/admin-tag-policy.route.ts';
import * as adminTags from '../routes/admin-tags.route.ts';
import * as assignment from '../routes/assignment.route.ts';
import * as customers from '../routes/customers.route.ts';
import * as departures from '../routes/departures.route.ts';
import * as exportRoutes from '../routes/exports.route.ts';
import * as notes from '../routes/follow-up-notes.route.ts';
import * as grants from '../routes/grants.route.ts';
import * as jssdk from '../routes/jssdk.route.ts';
import * as ownershipSettings from '../routes/ownership-settings.route.ts';
import * as personalTags from '../routes/personal-tags.route.ts';
import * as pool from '../routes/pool.route.ts';
import * as transfers from '../routes/transfers.route.ts';
import * as viewAs from '../routes/view-as.route.ts';
import * as auditReports from '../routes/admin-audit-reports.route.ts';
import * as campaigns from '../routes/campaigns.route.ts';
import * as accessExplain from '../routes/customer-access-explain.route.ts';
import * as materials from '../routes/materials.route.ts';
import { audienceSchema } from '../services/audience.service.ts';
import { createCampaignSchema, sendCampaignSchema } from '../services/campaigns.service.ts';
import { materialSchema } from '../services/materials.service.ts';
import { createContactWaySchema, updateContactWaySchema } from '../services/contact-ways.service.ts';
import { customerListQuerySchema } from '../services/customer-list.service.ts';
import { grantSettingsSchema } from '../services/permission-settings.service.ts';

/** Who may call a route: as enforced by its guard (server/http/guard.ts) or its own check. */
export type RouteAccess = 'public' | 'member' | 'admin' | 'wecom' | 'admin-or-metrics-token';

export interface ApiRoute {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** The Express path, as mounted. */
  path: string;
  summary: string;
  access: RouteAccess;
  /** Path parameters: the schemas the handler parses `req.params.<name>` with. */
  params?: Record<string, z.ZodType>;
  /** The schema the handler parses `req.query` with. */
  query?: z.ZodType;
  /** The schema the handler parses `req.body` with (JSON unless `bodyType` says otherwise). */
  body?: z.ZodType;
  bodyType?: string;
  /** What a success answers with, when not JSON. */
  produces?: string;
  /** Exists only in sandbox mode. */
  sandboxOnly?: boolean;
}

const routeParam = (name: string, schema: z.ZodType) => ({ [name]: schema });
const externalUserId = routeParam('externalUserId', customers.externalUserIdSchema);

/**
 * Every HTTP route of the product, with the very zod schemas its handler validates with (imported
 * from the route modules). /api/openapi.json is generated from this list, and a test checks it
 * against the routes the real app mounts, both ways.
 */
export const API_ROUTES: ApiRoute[] = [
  // Operating
  { method: 'get', path: '/healthz', summary: 'Database, Redis and workers; 503 naming the failing part', access: 'public' },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics (text format): an admin session, or `Authorization: Bearer <METRICS_TOKEN>`', access: 'admin-or-metrics-token', produces: 'text/plain' },
  { method: 'get', path: '/api/openapi.json', summary: 'This document', access: 'public' },
  { method: 'get', path: '/', summary: 'Where the surfaces are (plain text)', access: 'public', produces: 'text/plain' },
  ...(['put', 'post', 'patch'] as const).map((method): ApiRoute => ({ method, path: '/admin/queues{/*rest}', summary: 'Bull Board\'s actions (retry, clean, pause, add): refused, the board is read-only', access: 'admin' })),
  { method: 'get', path: '/admin/queues{/*rest}', summary: 'Bull Board, read-only: the queues and their jobs (its page, assets and JSON API live below this path)', access: 'admin', produces: 'text/html' },

  // WeCom callback
  { method: 'get', path: '/wecom/callback', summary: 'WeCom URL verification: answers the decrypted echostr', access: 'wecom', query: callback.verificationQuery, produces: 'text/plain' },
  { method: 'post', path: '/wecom/callback', summary: 'WeCom events (encrypted XML envelope, ≤ 64 KB): stored once per dedupe key, answered 200 ""', access: 'wecom', query: callback.signedQuery, body: z.string().max(65_536), bodyType: 'text/xml', produces: 'text/plain' },

  // Sign-in
  { method: 'get', path: '/api/auth/wecom/start', summary: 'Starts WeCom OAuth2 (snsapi_base); `returnTo` a path of this app', access: 'public', query: z.object({ returnTo: auth.returnToSchema.optional() }) },
  { method: 'get', path: '/api/auth/wecom/callback', summary: 'Finishes the WeCom login and redirects to returnTo', access: 'public', query: auth.oauthCallbackQuery },
  { method: 'post', path: '/api/dev/login', summary: 'Sandbox login as a member', access: 'public', body: auth.devLoginBody, sandboxOnly: true },
  { method: 'post', path: '/api/auth/logout', summary: 'Ends the session', access: 'public' },
  { method: 'get', path: '/api/dev/members', summary: 'Sandbox: active members for the sign-in picker', access: 'public', sandboxOnly: true },
  { method: 'get', path: '/api/me', summary: 'The session member: departments, roles, scopes per action, probation, csrfToken', access: 'member' },
  { method: 'get', path: '/api/jssdk/config', summary: '`ww.register` material (signatures) for a page of this app', access: 'member', query: jssdk.query },

  // Customers
  { method: 'get', path: '/api/customers', summary: 'Customers in the view scope, newest first, keyset-paged', access: 'member', query: customerListQuerySchema },
  { method: 'get', path: '/api/customers/count', summary: 'How many customers the same filters match', access: 'member', query: customerListQuerySchema },
  { method: 'get', path: '/api/customers/:externalUserId', summary: 'One customer with relations, visible tags, owner and permissions', access: 'member', params: externalUserId },
  { method: 'post', path: '/api/customers/:externalUserId/reveal', summary: 'One masked value in full (needs `unmask`); audited', access: 'member', params: externalUserId, body: customers.revealBody },
  { method: 'post', path: '/api/customers/:externalUserId/tags', summary: 'Adds and removes tags on the member\'s relation (through WeCom)', access: 'member', params: externalUserId, body: customers.tagChange },
  { method: 'get', path: '/api/customers/:externalUserId/notes', summary: 'Follow-up notes, newest first', access: 'member', params: externalUserId, query: notes.notesQuery },
  { method: 'post', path: '/api/customers/:externalUserId/notes', summary: 'Adds a follow-up note (needs `edit`)', access: 'member', params: externalUserId, body: notes.noteBody },
  { method: 'patch', path: '/api/customers/:externalUserId/notes/:noteId', summary: 'Edits the author\'s own follow-up note (needs `edit`); audited without the text', access: 'member', params: { ...externalUserId, noteId: notes.noteId }, body: notes.noteBody },
  { method: 'delete', path: '/api/customers/:externalUserId/notes/:noteId', summary: 'Deletes the author\'s own follow-up note; audited', access: 'member', params: { ...externalUserId, noteId: notes.noteId } },
  { method: 'get', path: '/api/customers/:externalUserId/access/explain', summary: 'Why the member may or may not take each action on the customer; audited', access: 'member', params: externalUserId },
  { method: 'get', path: '/api/admin/members/:userid/customers/:externalUserId/access/explain', summary: 'The same explanation for any member; audited', access: 'admin', params: { userid: accessExplain.useridSchema, ...externalUserId } },
  { method: 'get', path: '/api/admin/audit/reports', summary: 'Monthly audit reports', access: 'admin' },
  { method: 'get', path: '/api/admin/audit/reports/:month', summary: 'One monthly audit report', access: 'admin', params: routeParam('month', auditReports.monthSchema) },
  { method: 'post', path: '/api/admin/audit/reports', summary: 'Generates (or regenerates) a month\'s audit report; audited', access: 'admin', body: auditReports.generateBody },
  { method: 'post', path: '/api/audiences/count', summary: 'Customers left after each audience layer, inside the view scope', access: 'member', body: audienceSchema },
  { method: 'get', path: '/api/campaigns', summary: 'Own campaigns (admins: all)', access: 'member' },
  { method: 'post', path: '/api/campaigns', summary: 'New campaign draft (managers and admins)', access: 'member', body: createCampaignSchema },
  { method: 'get', path: '/api/campaigns/:id', summary: 'A campaign with counts and report', access: 'member', params: routeParam('id', campaigns.campaignId) },
  { method: 'get', path: '/api/campaigns/:id/preview', summary: 'Per rep, the customers they would send to', access: 'member', params: routeParam('id', campaigns.campaignId) },
  { method: 'post', path: '/api/campaigns/:id/send', summary: 'Sends now or at a time (one WeCom task per owner)', access: 'member', params: routeParam('id', campaigns.campaignId), body: sendCampaignSchema },
  { method: 'post', path: '/api/campaigns/:id/cancel', summary: 'Cancels a draft or scheduled campaign', access: 'member', params: routeParam('id', campaigns.campaignId) },
  { method: 'post', path: '/api/campaigns/:id/refresh', summary: 'Reads WeCom\'s results now', access: 'member', params: routeParam('id', campaigns.campaignId) },
  { method: 'get', path: '/api/campaigns/:id/touches', summary: 'The touch log, within the view scope', access: 'member', params: routeParam('id', campaigns.campaignId), query: campaigns.touchesQuery },
  { method: 'get', path: '/api/campaigns/:id/touches.csv', summary: 'The touch log as CSV (export scope); audited', access: 'member', params: routeParam('id', campaigns.campaignId), produces: 'text/csv' },
  { method: 'get', path: '/api/materials', summary: 'Materials of tag groups and regions the member may see', access: 'member' },
  { method: 'post', path: '/api/materials/:id/sent', summary: 'Records a material sent into a chat; audited', access: 'member', params: routeParam('id', materials.materialId), body: materials.sentBody },
  { method: 'get', path: '/api/material-library', summary: 'The material library (admins; managers: their regions)', access: 'member' },
  { method: 'post', path: '/api/material-library', summary: 'New material bound to tag groups', access: 'member', body: materialSchema },
  { method: 'put', path: '/api/material-library/:id', summary: 'Changes a material', access: 'member', params: routeParam('id', materials.materialId), body: materialSchema },
  { method: 'delete', path: '/api/material-library/:id', summary: 'Deletes a material', access: 'member', params: routeParam('id', materials.materialId) },
  { method: 'post', path: '/api/customers/:externalUserId/release', summary: 'Releases a customer to the public pool', access: 'member', params: externalUserId, body: pool.releaseBody },
  { method: 'post', path: '/api/customers/assign', summary: 'Assigns an owner to customers, all or nothing', access: 'member', body: assignment.assignBody },
  { method: 'post', path: '/api/customers/assign-by-filter', summary: 'Assigns an owner to every customer a filter matches, as a job', access: 'member', body: assignment.assignByFilterBody },
  { method: 'get', path: '/api/tags', summary: 'The tags the member may see and use', access: 'member' },
  { method: 'get', path: '/api/personal-tags', summary: 'The member\'s own personal tags', access: 'member' },
  { method: 'post', path: '/api/personal-tags', summary: 'New personal tag', access: 'member', body: personalTags.createBody },
  { method: 'patch', path: '/api/personal-tags/:id', summary: 'Renames a personal tag', access: 'member', params: routeParam('id', personalTags.id), body: personalTags.updateBody },
  { method: 'delete', path: '/api/personal-tags/:id', summary: 'Deletes a personal tag (also off the member\'s customers)', access: 'member', params: routeParam('id', personalTags.id) },
  { method: 'get', path: '/api/pool', summary: 'The public pools of the member\'s departments', access: 'member', query: pool.poolQuery },
  { method: 'post', path: '/api/pool/:externalUserId/claim', summary: 'Claims a customer from the pool', access: 'member', params: externalUserId },
  { method: 'post', path: '/api/transfers', summary: 'WeCom relationship transfer of customers', access: 'member', body: transfers.transferBody },
  { method: 'get', path: '/api/transfers/:id', summary: 'A transfer\'s per-customer state', access: 'member', params: routeParam('id', transfers.transferId) },
  { method: 'post', path: '/api/transfers/:id/refresh', summary: 'Asks WeCom for the transfer\'s result now', access: 'member', params: routeParam('id', transfers.transferId) },
  { method: 'post', path: '/api/exports', summary: 'Exports customers matching a filter (CSV or XLSX), as a job', access: 'member', body: exportRoutes.exportBody },
  { method: 'get', path: '/api/exports', summary: 'The member\'s exports', access: 'member', query: exportRoutes.stateQuery },
  { method: 'get', path: '/api/exports/:id', summary: 'One export\'s state', access: 'member', params: routeParam('id', exportRoutes.exportId) },
  { method: 'get', path: '/api/exports/:id/download', summary: 'The export file (audited)', access: 'member', params: routeParam('id', exportRoutes.exportId), produces: 'application/octet-stream' },
  { method: 'get', path: '/api/grants', summary: 'Own grants and requests the member may decide', access: 'member' },
  { method: 'post', path: '/api/grants', summary: 'Requests temporary access (or self-activates an emergency grant)', access: 'member', body: grants.grantBody },
  { method: 'post', path: '/api/grants/:id/approve', summary: 'Approves a grant request', access: 'member', params: routeParam('id', grants.grantId) },
  { method: 'post', path: '/api/grants/:id/reject', summary: 'Rejects a grant request', access: 'member', params: routeParam('id', grants.grantId) },
  { method: 'post', path: '/api/grants/:id/revoke', summary: 'Ends a grant at once', access: 'member', params: routeParam('id', grants.grantId) },
  { method: 'get', path: '/api/jobs/:id', summary: 'A background job\'s progress (requester or admin)', access: 'member', params: routeParam('id', sync.jobId) },
  { method: 'get', path: '/api/admin/departures', summary: 'Members who left with customers, in the caller\'s assign scope', access: 'member' },
  { method: 'get', path: '/api/admin/departures/:userid/customers', summary: 'A departed member\'s customers', access: 'member', params: routeParam('userid', departures.userid), query: departures.pageQuery },
  { method: 'post', path: '/api/admin/departures/:userid/reassign', summary: 'Reassigns a departed member\'s customers', access: 'member', params: routeParam('userid', departures.userid), body: departures.reassignBody },

  // Admin
  { method: 'post', path: '/api/admin/sync', summary: 'Full sync from WeCom, as a job', access: 'admin' },
  { method: 'get', path: '/api/admin/events', summary: 'Callback events (keyset paging with `before`)', access: 'admin', query: events.listQuery },
  { method: 'post', path: '/api/admin/events/:id/retry', summary: 'Re-queues a failed callback event', access: 'admin', params: routeParam('id', events.eventId) },
  { method: 'get', path: '/api/admin/audit', summary: 'Audit entries, newest first', access: 'admin', query: audit.auditQuery },
  { method: 'get', path: '/api/admin/audit/verify', summary: 'Re-computes the audit hash chain', access: 'admin' },
  { method: 'get', path: '/api/admin/dashboard', summary: 'Aggregates for the console overview', access: 'admin' },
  { method: 'get', path: '/api/admin/org', summary: 'Departments and members', access: 'admin' },
  { method: 'get', path: '/api/admin/unassigned', summary: 'WeCom\'s list of customers of departed members not reassigned yet', access: 'admin' },
  { method: 'post', path: '/api/admin/pool/release', summary: 'Runs the pool release now, as a job', access: 'admin' },
  { method: 'get', path: '/api/admin/ownership-settings', summary: 'Pool and export settings', access: 'admin' },
  { method: 'put', path: '/api/admin/ownership-settings', summary: 'Changes pool and export settings (audited)', access: 'admin', body: ownershipSettings.settingsChange },
  { method: 'get', path: '/api/admin/exports', summary: 'Every export (approval queue)', access: 'admin', query: exportRoutes.stateQuery },
  { method: 'post', path: '/api/admin/exports/:id/approve', summary: 'Approves a large export', access: 'admin', params: routeParam('id', exportRoutes.exportId), body: exportRoutes.decisionBody },
  { method: 'post', path: '/api/admin/exports/:id/reject', summary: 'Rejects a large export', access: 'admin', params: routeParam('id', exportRoutes.exportId), body: exportRoutes.decisionBody },
  { method: 'get', path: '/api/admin/grants', summary: 'Every grant, or emergency grants to review', access: 'admin', query: grants.reviewQuery },
  { method: 'post', path: '/api/admin/grants/:id/review', summary: 'Marks an emergency grant reviewed', access: 'admin', params: routeParam('id', grants.grantId), body: grants.reviewBody },
  { method: 'post', path: '/api/admin/view-as', summary: 'Views the app as a member (read-only)', access: 'admin', body: viewAs.viewAsBody },
  { method: 'delete', path: '/api/admin/view-as', summary: 'Ends view-as', access: 'admin' },
  { method: 'get', path: '/api/admin/roles', summary: 'Roles with their scopes per action', access: 'admin' },
  { method: 'post', path: '/api/admin/roles', summary: 'New custom role', access: 'admin', body: roles.createBody },
  { method: 'patch', path: '/api/admin/roles/:name', summary: 'Edits a role', access: 'admin', params: routeParam('name', roles.roleName), body: roles.patchBody },
  { method: 'delete', path: '/api/admin/roles/:name', summary: 'Deletes a custom role', access: 'admin', params: routeParam('name', roles.roleName) },
  { method: 'get', path: '/api/admin/members/:userid/access', summary: 'A member\'s roles, scopes and grants in force', access: 'admin', params: routeParam('userid', roles.userid) },
  { method: 'put', path: '/api/admin/members/:userid/roles', summary: 'Replaces a member\'s named roles and managed departments', access: 'admin', params: routeParam('userid', roles.userid), body: roles.memberRolesBody },
  { method: 'put', path: '/api/admin/members/:userid/probation', summary: 'Puts a member on read-only probation, or clears it', access: 'admin', params: routeParam('userid', roles.userid), body: roles.probationBody },
  { method: 'get', path: '/api/admin/masking', summary: 'Extra masked fields', access: 'admin' },
  { method: 'put', path: '/api/admin/masking', summary: 'Sets the extra masked fields', access: 'admin', body: roles.maskingBody },
  { method: 'get', path: '/api/admin/grant-settings', summary: 'Longest grant and emergency window', access: 'admin' },
  { method: 'put', path: '/api/admin/grant-settings', summary: 'Sets the grant limits', access: 'admin', body: grantSettingsSchema },
  { method: 'get', path: '/api/admin/tag-library', summary: 'The whole tag tree with totals', access: 'admin' },
  { method: 'get', path: '/api/admin/tag-name-rules', summary: 'Tag naming rules', access: 'admin' },
  { method: 'put', path: '/api/admin/tag-name-rules', summary: 'Sets the forbidden characters', access: 'admin', body: adminTags.nameRulesBody },
  { method: 'post', path: '/api/admin/tag-groups', summary: 'New corp tag group (add_corp_tag)', access: 'admin', body: adminTags.createGroupBody },
  { method: 'post', path: '/api/admin/tag-groups/:groupId/tags', summary: 'More tags in a corp tag group', access: 'admin', params: routeParam('groupId', adminTags.wecomId), body: adminTags.addTagsBody },
  { method: 'patch', path: '/api/admin/tag-groups/:groupId', summary: 'Renames, reorders or moves a corp tag group', access: 'admin', params: routeParam('groupId', adminTags.wecomId), body: adminTags.updateGroupBody },
  { method: 'delete', path: '/api/admin/tag-groups/:groupId', summary: 'Deletes a corp tag group (del_corp_tag)', access: 'admin', params: routeParam('groupId', adminTags.wecomId) },
  { method: 'patch', path: '/api/admin/tags/:tagId', summary: 'Renames or reorders a corp tag', access: 'admin', params: routeParam('tagId', adminTags.wecomId), body: adminTags.updateTagBody },
  { method: 'delete', path: '/api/admin/tags/:tagId', summary: 'Deletes a corp tag', access: 'admin', params: routeParam('tagId', adminTags.wecomId) },
  { method: 'post', path: '/api/admin/tag-folders', summary: 'New local folder', access: 'admin', body: adminTags.createFolderBody },
  { method: 'patch', path: '/api/admin/tag-folders/:id', summary: 'Renames, reorders or moves a folder', access: 'admin', params: routeParam('id', adminTags.folderId), body: adminTags.updateFolderBody },
  { method: 'delete', path: '/api/admin/tag-folders/:id', summary: 'Deletes an empty folder', access: 'admin', params: routeParam('id', adminTags.folderId) },
  ...tagPolicy.NODE_PATHS.flatMap(({ path, type, param }): ApiRoute[] => [
    { method: 'get', path, summary: `The visibility rule of a ${type} and what it means per department`, access: 'admin', params: routeParam('id', param) },
    { method: 'put', path, summary: `Sets the visibility rule of a ${type}`, access: 'admin', params: routeParam('id', param), body: tagPolicy.ruleBody },
  ]),
  { method: 'get', path: '/api/admin/explain/tag', summary: 'Why a member may or may not see and use a tag', access: 'admin', query: tagPolicy.explainQuery },
  { method: 'get', path: '/api/admin/tag-policy/conflicts', summary: 'Policy conflicts and their fixes', access: 'admin' },
  { method: 'get', path: '/api/admin/rule-groups', summary: 'This app\'s rule groups', access: 'admin' },
  { method: 'get', path: '/api/admin/rule-groups/:id', summary: 'One rule group, with adminList and privilege read from WeCom', access: 'admin', params: routeParam('id', ruleGroups.strategyId) },
  { method: 'post', path: '/api/admin/rule-groups', summary: 'New rule group (customer_strategy/create)', access: 'admin', body: ruleGroups.createBody },
  { method: 'patch', path: '/api/admin/rule-groups/:id', summary: 'Edits a rule group', access: 'admin', params: routeParam('id', ruleGroups.strategyId), body: ruleGroups.updateBody },
  { method: 'delete', path: '/api/admin/rule-groups/:id', summary: 'Deletes a rule group', access: 'admin', params: routeParam('id', ruleGroups.strategyId) },
  { method: 'post', path: '/api/admin/rule-groups/:id/tag-groups', summary: 'Adds a tag group or tags to a rule group', access: 'admin', params: routeParam('id', ruleGroups.strategyId), body: ruleGroups.addTagsBody },
  { method: 'patch', path: '/api/admin/rule-group-tags/:tagId', summary: 'Renames or reorders a rule-group tag or group', access: 'admin', params: routeParam('tagId', ruleGroups.wecomId), body: ruleGroups.updateTagBody },
  { method: 'delete', path: '/api/admin/rule-group-tags/:tagId', summary: 'Deletes a rule-group tag or group', access: 'admin', params: routeParam('tagId', ruleGroups.wecomId) },
  { method: 'get', path: '/api/admin/contact-ways', summary: 'Live contact ways with their rules', access: 'admin', query: contactWayRoutes.listQuery },
  { method: 'post', path: '/api/admin/contact-ways', summary: 'New contact way (add_contact_way) with its rules', access: 'admin', body: createContactWaySchema },
  { method: 'get', path: '/api/admin/contact-ways/:configId', summary: 'One contact way with warnings', access: 'admin', params: routeParam('configId', contactWayRoutes.configIdParam) },
  { method: 'put', path: '/api/admin/contact-ways/:configId', summary: 'Changes a contact way and its rules', access: 'admin', params: routeParam('configId', contactWayRoutes.configIdParam), body: updateContactWaySchema },
  { method: 'delete', path: '/api/admin/contact-ways/:configId', summary: 'Deletes a contact way', access: 'admin', params: routeParam('configId', contactWayRoutes.configIdParam) },
  { method: 'get', path: '/api/admin/contact-ways/:configId/qr', summary: 'The QR image as an attachment', access: 'admin', params: routeParam('configId', contactWayRoutes.configIdParam), produces: 'image/*' },

  // The web app
  { method: 'get', path: '/sidebar{/*rest}', summary: 'The sidebar (index.html for every path below it)', access: 'public', produces: 'text/html' },
  { method: 'get', path: '/admin{/*rest}', summary: 'The admin console (index.html for every path below it)', access: 'public', produces: 'text/html' },
  { method: 'get', path: '/assets{/*rest}', summary: 'The web app\'s content-hashed assets (cached a year)', access: 'public', produces: 'application/octet-stream' },
];
