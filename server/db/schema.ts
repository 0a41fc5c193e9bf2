import { sql } from 'drizzle-orm';
import {
  bigint, bigserial, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex,
} from 'drizzle-orm/pg-core';

/** One schema for both drivers (PGlite and PostgreSQL). SQL kept to PostgreSQL 15. */
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();

// ── Callback inbox ───────────────────────────────────────────────────────────────────────────────
export type InboxStatus = 'pending' | 'done' | 'ignored' | 'failed';

/** Every decrypted WeCom callback, committed before the 200. The dedupe key makes retries no-ops. */
export const inboxEvents = pgTable('inbox_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  dedupeKey: text('dedupe_key').notNull(),
  event: text('event').notNull(),
  changeType: text('change_type'),
  /** The parsed event fields (ids and enums only: customer-contact events carry no personal data). */
  payload: jsonb('payload').$type<Record<string, string>>().notNull(),
  status: text('status').$type<InboxStatus>().notNull().default('pending'),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  attempts: integer('attempts').notNull().default(0),
  lastError: text('last_error'),
  processedAt: timestamp('processed_at', { withTimezone: true }),
  duplicateDeliveries: integer('duplicate_deliveries').notNull().default(0),
}, (t) => [
  uniqueIndex('inbox_events_dedupe_key').on(t.dedupeKey),
  // The sweeper's scan: pending rows whose job may never have reached Redis.
  index('inbox_events_pending').on(t.id).where(sql`status = 'pending'`),
  index('inbox_events_status').on(t.status, t.id),
]);

// ── Organization ────────────────────────────────────────────────────────────────────────────────
export const departments = pgTable('departments', {
  id: integer('id').primaryKey(),
  name: text('name').notNull(),
  nameEn: text('name_en'),
  parentId: integer('parent_id'),
  order: bigint('order', { mode: 'number' }).notNull().default(0),
  removedAt: timestamp('removed_at', { withTimezone: true }),
  syncedAt: timestamp('synced_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  // Subtree walks (customer scope `dept`, pools, grants on a department) descend by parent.
  index('departments_parent').on(t.parentId),
]);

/** WeCom member status: 1 active, 2 disabled, 4 not activated, 5 left. Members are never deleted. */
export const members = pgTable('members', {
  userid: text('userid').primaryKey(),
  name: text('name').notNull(),
  position: text('position'),
  mainDepartment: integer('main_department'),
  status: integer('status').notNull().default(1),
  leftAt: timestamp('left_at', { withTimezone: true }),
  /** Read-only probation: every action but `view` denied while on; `probationUntil` null = until cleared. */
  probation: boolean('probation').notNull().default(false),
  probationUntil: timestamp('probation_until', { withTimezone: true }),
  syncedAt: timestamp('synced_at', { withTimezone: true }).notNull().defaultNow(),
});

export const memberDepartments = pgTable('member_departments', {
  userid: text('userid').notNull(),
  departmentId: integer('department_id').notNull(),
  isLeader: boolean('is_leader').notNull().default(false),
}, (t) => [primaryKey({ columns: [t.userid, t.departmentId] }), index('member_departments_department').on(t.departmentId)]);

/** Admins named in the console (ADMIN_USERIDS are admins from the start without a row here). */
export const appAdmins = pgTable('app_admins', {
  userid: text('userid').primaryKey(),
  grantedBy: text('granted_by'),
  grantedAt: createdAt(),
});

// ── Customers ───────────────────────────────────────────────────────────────────────────────────
export const customers = pgTable('customers', {
  externalUserId: text('external_userid').primaryKey(),
  name: text('name').notNull(),
  type: integer('type').notNull().default(1),
  avatar: text('avatar'),
  gender: integer('gender').notNull().default(0),
  corpName: text('corp_name'),
  corpFullName: text('corp_full_name'),
  position: text('position'),
  unionid: text('unionid'),
  /** The owner (归属), separate from WeCom follow relations. */
  ownerUserid: text('owner_userid'),
  /** Last activity by the owner (note, tag or remark change, new relation): the pool's clock. */
  lastActivityAt: timestamp('last_activity_at', { withTimezone: true }),
  /** Set while the customer is in a public pool (公海); the pool is a department subtree, null = corp-wide. */
  inPoolSince: timestamp('in_pool_since', { withTimezone: true }),
  poolDepartmentId: integer('pool_department_id'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [
  // A member's customers in list order: the list's `own` arm reads its first page straight off it.
  index('customers_owner').on(t.ownerUserid, t.createdAt.desc().nullsFirst(), t.externalUserId),
  // The customer list's keyset order: (created_at desc, external_userid).
  index('customers_list_order').on(t.createdAt.desc().nullsFirst(), t.externalUserId),
  // Pool customers by pool (null = corp-wide) in list order, for the `view` pool arms of the scope.
  index('customers_pool').on(t.poolDepartmentId, t.createdAt.desc().nullsFirst(), t.externalUserId).where(sql`in_pool_since is not null`),
  // The corp-wide pool in list order (`pool_department_id is null` gives no order on the index above).
  index('customers_corp_pool').on(t.createdAt.desc().nullsFirst(), t.externalUserId).where(sql`in_pool_since is not null and pool_department_id is null`),
]);

export type RelationStatus = 'active' | 'ended';

/** A member's WeCom relation to a customer; ended relations are kept as history. */
export const followRelations = pgTable('follow_relations', {
  externalUserId: text('external_userid').notNull(),
  userid: text('userid').notNull(),
  remark: text('remark'),
  description: text('description'),
  /** Unix seconds, as WeCom reports it. */
  addedAt: bigint('added_at', { mode: 'number' }),
  addWay: integer('add_way'),
  state: text('state'),
  operUserid: text('oper_userid'),
  remarkCorpName: text('remark_corp_name'),
  remarkMobiles: jsonb('remark_mobiles').$type<string[]>().notNull().default([]),
  status: text('status').$type<RelationStatus>().notNull().default('active'),
  endedAt: timestamp('ended_at', { withTimezone: true }),
  /** member_deleted | customer_deleted | transfer | missing_in_wecom */
  endReason: text('end_reason'),
  updatedAt: updatedAt(),
}, (t) => [
  primaryKey({ columns: [t.externalUserId, t.userid] }),
  index('follow_relations_member').on(t.userid, t.status),
  // A member's active relations as (userid → customer ids), index-only, for the customer scope.
  index('follow_relations_member_active').on(t.userid, t.externalUserId).where(sql`status = 'active'`),
]);

export type TagKind = 'corp' | 'strategy' | 'personal';

/** Tags on one relation: corp and rule-group tags by WeCom id, personal tags by local id. */
export const relationTags = pgTable('relation_tags', {
  externalUserId: text('external_userid').notNull(),
  userid: text('userid').notNull(),
  tagId: text('tag_id').notNull(),
  kind: text('kind').$type<TagKind>().notNull(),
  addedAt: createdAt(),
}, (t) => [
  primaryKey({ columns: [t.externalUserId, t.userid, t.tagId] }),
  index('relation_tags_tag').on(t.tagId),
  // Audiences gather a tag's customers index-only (targeted messaging, audience.service.ts).
  index('relation_tags_tag_customer').on(t.tagId, t.externalUserId),
]);

/** The tag diff seen on each relation (from edit callbacks and syncs), for the policy engine. */
export const relationTagChanges = pgTable('relation_tag_changes', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  externalUserId: text('external_userid').notNull(),
  userid: text('userid').notNull(),
  added: jsonb('added').$type<string[]>().notNull(),
  removed: jsonb('removed').$type<string[]>().notNull(),
  source: text('source').$type<'callback' | 'sync' | 'api'>().notNull(),
  inboxEventId: bigint('inbox_event_id', { mode: 'number' }),
  at: createdAt(),
}, (t) => [index('relation_tag_changes_customer').on(t.externalUserId, t.id)]);

export const transferFailures = pgTable('transfer_failures', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  externalUserId: text('external_userid').notNull(),
  takeoverUserid: text('takeover_userid').notNull(),
  /** customer_refused | customer_limit_exceed */
  reason: text('reason').notNull(),
  inboxEventId: bigint('inbox_event_id', { mode: 'number' }),
  at: createdAt(),
}, (t) => [index('transfer_failures_customer').on(t.externalUserId)]);

// ── Tag library ─────────────────────────────────────────────────────────────────────────────────
/** Corp tag groups and rule-group tag groups (strategyId set) as WeCom reports them. */
export const tagGroups = pgTable('tag_groups', {
  groupId: text('group_id').primaryKey(),
  /** Local folder holding this group (deeper nesting than WeCom's group → tag); null = top level. */
  folderId: integer('folder_id'),
  name: text('name').notNull(),
  order: bigint('order', { mode: 'number' }).notNull().default(0),
  createTime: bigint('create_time', { mode: 'number' }),
  strategyId: integer('strategy_id'),
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
  syncedAt: timestamp('synced_at', { withTimezone: true }).notNull().defaultNow(),
});

export const tags = pgTable('tags', {
  tagId: text('tag_id').primaryKey(),
  groupId: text('group_id').notNull(),
  name: text('name').notNull(),
  order: bigint('order', { mode: 'number' }).notNull().default(0),
  createTime: bigint('create_time', { mode: 'number' }),
  strategyId: integer('strategy_id'),
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
  syncedAt: timestamp('synced_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [index('tags_group').on(t.groupId)]);

/** Personal tags: one member's own, stored locally (WeCom's API cannot set them). */
export const personalTags = pgTable('personal_tags', {
  id: text('id').primaryKey(),
  userid: text('userid').notNull(),
  name: text('name').notNull(),
  groupName: text('group_name'),
  createdAt: createdAt(),
}, (t) => [uniqueIndex('personal_tags_owner_name').on(t.userid, t.name)]);

export const strategies = pgTable('strategies', {
  strategyId: integer('strategy_id').primaryKey(),
  parentId: integer('parent_id'),
  name: text('name').notNull(),
  createTime: bigint('create_time', { mode: 'number' }),
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
  syncedAt: timestamp('synced_at', { withTimezone: true }).notNull().defaultNow(),
});

/** A rule group's range: `u:<userid>` for a member, `d:<department id>` for a department. */
export const strategyRanges = pgTable('strategy_ranges', {
  strategyId: integer('strategy_id').notNull(),
  rangeKey: text('range_key').notNull(),
}, (t) => [primaryKey({ columns: [t.strategyId, t.rangeKey] })]);

// ── Operations ──────────────────────────────────────────────────────────────────────────────────
export type BackgroundJobState = 'queued' | 'running' | 'completed' | 'failed';

/** Long jobs an admin starts (full sync, ...): `GET /api/jobs/:id` reads progress from here. */
export const backgroundJobs = pgTable('background_jobs', {
  id: text('id').primaryKey(),
  kind: text('kind').notNull(),
  state: text('state').$type<BackgroundJobState>().notNull().default('queued'),
  done: integer('done').notNull().default(0),
  total: integer('total').notNull().default(0),
  error: text('error'),
  requestedBy: text('requested_by'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export type OutgoingWriteState = 'queued' | 'done' | 'failed';

/** Every write the project makes to WeCom, with its outcome. */
export const outgoingWrites = pgTable('outgoing_writes', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  api: text('api').notNull(),
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  state: text('state').$type<OutgoingWriteState>().notNull().default('queued'),
  attempts: integer('attempts').notNull().default(0),
  errcode: integer('errcode'),
  error: text('error'),
  result: jsonb('result').$type<Record<string, unknown>>(),
  requestedBy: text('requested_by'),
  createdAt: createdAt(),
  completedAt: timestamp('completed_at', { withTimezone: true }),
}, (t) => [index('outgoing_writes_state').on(t.state, t.id)]);

/** Server-side sessions; the cookie carries a random id, the table only its SHA-256. */
export const sessions = pgTable('sessions', {
  idHash: text('id_hash').primaryKey(),
  userid: text('userid').notNull(),
  csrfToken: text('csrf_token').notNull(),
  /** An admin viewing the sidebar as another member: reads as them, writes refused. */
  viewAsUserid: text('view_as_userid'),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
}, (t) => [index('sessions_userid').on(t.userid)]);

/** OAuth `state` values, bound to the browser that started the login and usable once. */
export const oauthStates = pgTable('oauth_states', {
  stateHash: text('state_hash').primaryKey(),
  browserHash: text('browser_hash').notNull(),
  returnTo: text('return_to'),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});

export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: updatedAt(),
});

// ── Tag policy ─────────────────────────────────────────────────────────────────────────────────
/** Folders arrange corp tag groups into a tree deeper than WeCom's two levels (local only). */
export const tagFolders = pgTable('tag_folders', {
  id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
  name: text('name').notNull(),
  parentId: integer('parent_id'),
  order: integer('order').notNull().default(0),
  createdAt: createdAt(),
});

/** Who is granted an audience: departments (with their sub-departments), members, roles. */
export interface AudienceGrants {
  departments: number[];
  users: string[];
  /** A role name, optionally limited to members in some departments (e.g. managers in 华东). */
  roles: { name: string; departments?: number[] }[];
}

export type PolicyNodeType = 'folder' | 'group' | 'tag';
export type RuleMode = 'enforce' | 'report';

/** A visibility rule on one node of the tag tree; `use` is always within `see`. */
export const visibilityRules = pgTable('visibility_rules', {
  nodeType: text('node_type').$type<PolicyNodeType>().notNull(),
  nodeId: text('node_id').notNull(),
  see: jsonb('see').$type<AudienceGrants>().notNull(),
  use: jsonb('use').$type<AudienceGrants>().notNull(),
  /** report: edits in the WeCom client that break the rule are audited and reported, not reverted. */
  mode: text('mode').$type<RuleMode>().notNull().default('enforce'),
  updatedBy: text('updated_by'),
  updatedAt: updatedAt(),
}, (t) => [primaryKey({ columns: [t.nodeType, t.nodeId] })]);

export type PermissionAction = 'view' | 'edit' | 'tag' | 'export' | 'delete' | 'assign' | 'transfer' | 'unmask';
export type PermissionScope = 'none' | 'own' | 'dept' | 'all';

export const roles = pgTable('roles', {
  name: text('name').primaryKey(),
  label: text('label').notNull(),
  builtin: boolean('builtin').notNull().default(false),
  scopes: jsonb('scopes').$type<Record<PermissionAction, PermissionScope>>().notNull(),
  /** Holders may self-activate emergency grants (short window, flagged for review). */
  allowEmergency: boolean('allow_emergency').notNull().default(false),
  createdAt: createdAt(),
});

/** Roles named by admins (admins from ADMIN_USERIDS/app_admins and department leaders are implicit). */
export const memberRoles = pgTable('member_roles', {
  userid: text('userid').notNull(),
  role: text('role').notNull(),
  grantedBy: text('granted_by'),
  grantedAt: createdAt(),
}, (t) => [primaryKey({ columns: [t.userid, t.role] })]);

/**
 * Departments an admin named a member to manage (with their sub-departments), on top of the
 * departments WeCom marks them leader of. Gives `dept` scopes something to cover.
 */
export const memberManagedDepartments = pgTable('member_managed_departments', {
  userid: text('userid').notNull(),
  departmentId: integer('department_id').notNull(),
  grantedBy: text('granted_by'),
  grantedAt: createdAt(),
}, (t) => [primaryKey({ columns: [t.userid, t.departmentId] })]);

/** Append-only audit trail, hash-chained: each row's hash covers its content and the previous hash. */
export const auditLog = pgTable('audit_log', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  actor: text('actor'),
  action: text('action').notNull(),
  subjectType: text('subject_type').notNull(),
  subjectId: text('subject_id').notNull(),
  outcome: text('outcome').$type<'allowed' | 'denied' | 'done' | 'reverted' | 'reported' | 'failed'>().notNull(),
  details: jsonb('details').$type<Record<string, unknown>>().notNull(),
  prevHash: text('prev_hash').notNull(),
  hash: text('hash').notNull(),
}, (t) => [
  index('audit_log_subject').on(t.subjectType, t.subjectId),
  index('audit_log_actor').on(t.actor, t.id),
  index('audit_log_action').on(t.action, t.id),
  index('audit_log_at').on(t.at),
]);

// ── Contact ways (「联系我」) and auto-tagging ─────────────────────────────────────────────────────
export interface ContactWayRules {
  /** Corp and rule-group tag ids applied to the customer on add. */
  tagIds: string[];
  owner: { mode: 'adder' } | { mode: 'round_robin'; departmentId: number } | { mode: 'fixed'; userid: string };
  remarkTemplate?: string;
  descriptionTemplate?: string;
  welcome?: { text?: string; attachments?: Record<string, unknown>[] };
}

export const contactWays = pgTable('contact_ways', {
  configId: text('config_id').primaryKey(),
  state: text('state').notNull(),
  type: integer('type').notNull(),
  scene: integer('scene').notNull(),
  skipVerify: boolean('skip_verify').notNull().default(true),
  users: jsonb('users').$type<string[]>().notNull(),
  parties: jsonb('parties').$type<number[]>().notNull(),
  remark: text('remark'),
  qrCode: text('qr_code'),
  rules: jsonb('rules').$type<ContactWayRules>().notNull(),
  /** Round-robin position for owner assignment. */
  rotation: integer('rotation').notNull().default(0),
  createdBy: text('created_by'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
}, (t) => [uniqueIndex('contact_ways_state').on(t.state)]);

// ── Ownership, pool, notes, transfers, grants, exports ─────────────────────────────────────────
export type OwnershipReason = 'first_add' | 'contact_way' | 'assign' | 'bulk_assign' | 'transfer' | 'departure' | 'pool_claim' | 'pool_release' | 'sync';

/** Every change of a customer's owner, kept forever. */
export const ownerHistory = pgTable('owner_history', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  externalUserId: text('external_userid').notNull(),
  fromUserid: text('from_userid'),
  toUserid: text('to_userid'),
  reason: text('reason').$type<OwnershipReason>().notNull(),
  actor: text('actor'),
  at: createdAt(),
}, (t) => [index('owner_history_customer').on(t.externalUserId, t.id), index('owner_history_claims').on(t.actor, t.reason, t.at)]);

export const followUpNotes = pgTable('follow_up_notes', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  externalUserId: text('external_userid').notNull(),
  author: text('author').notNull(),
  content: text('content').notNull(),
  createdAt: createdAt(),
  /** Set when the author edited the note (null: as written). */
  updatedAt: timestamp('updated_at', { withTimezone: true }),
}, (t) => [index('follow_up_notes_customer').on(t.externalUserId, t.id)]);

export type TransferKind = 'in_service' | 'resigned';
export type TransferItemState = 'pending' | 'waiting' | 'done' | 'refused' | 'over_limit' | 'failed';

/** One transfer request: customers of one handover member to one takeover member. */
export const transferBatches = pgTable('transfer_batches', {
  id: text('id').primaryKey(),
  kind: text('kind').$type<TransferKind>().notNull(),
  handoverUserid: text('handover_userid').notNull(),
  takeoverUserid: text('takeover_userid').notNull(),
  requestedBy: text('requested_by'),
  backgroundJobId: text('background_job_id'),
  createdAt: createdAt(),
});

export const transferItems = pgTable('transfer_items', {
  batchId: text('batch_id').notNull(),
  externalUserId: text('external_userid').notNull(),
  state: text('state').$type<TransferItemState>().notNull().default('pending'),
  errcode: integer('errcode'),
  error: text('error'),
  takeoverTime: bigint('takeover_time', { mode: 'number' }),
  updatedAt: updatedAt(),
}, (t) => [primaryKey({ columns: [t.batchId, t.externalUserId] }), index('transfer_items_customer').on(t.externalUserId), index('transfer_items_state').on(t.state)]);

/** `expired`: recorded after `expires_at` passed (access ended at `expires_at` already, through the predicate). */
export type GrantState = 'requested' | 'active' | 'rejected' | 'revoked' | 'expired';

/** Time-limited extra access; expiry is checked on every request (`expires_at`), not by a job. */
export const accessGrants = pgTable('access_grants', {
  id: text('id').primaryKey(),
  requester: text('requester').notNull(),
  approver: text('approver'),
  actions: jsonb('actions').$type<PermissionAction[]>().notNull(),
  /** Either named customers or a department subtree. */
  customerIds: jsonb('customer_ids').$type<string[]>(),
  departmentId: integer('department_id'),
  reason: text('reason').notNull(),
  state: text('state').$type<GrantState>().notNull().default('requested'),
  emergency: boolean('emergency').notNull().default(false),
  durationSeconds: integer('duration_seconds').notNull(),
  startsAt: timestamp('starts_at', { withTimezone: true }),
  expiresAt: timestamp('expires_at', { withTimezone: true }),
  createdAt: createdAt(),
  decidedAt: timestamp('decided_at', { withTimezone: true }),
  reviewedAt: timestamp('reviewed_at', { withTimezone: true }),
  reviewedBy: text('reviewed_by'),
  revokedBy: text('revoked_by'),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
}, (t) => [index('access_grants_requester').on(t.requester, t.state), index('access_grants_active').on(t.state, t.expiresAt)]);

/** `expired`: completed, and its file deleted after the retention period. */
export type ExportState = 'awaiting_approval' | 'queued' | 'running' | 'completed' | 'failed' | 'rejected' | 'expired';

export const exportJobs = pgTable('export_jobs', {
  id: text('id').primaryKey(),
  requestedBy: text('requested_by').notNull(),
  format: text('format').$type<'csv' | 'xlsx'>().notNull(),
  filter: jsonb('filter').$type<Record<string, unknown>>().notNull(),
  state: text('state').$type<ExportState>().notNull().default('queued'),
  rowCount: integer('row_count'),
  estimatedRows: integer('estimated_rows'),
  approver: text('approver'),
  filePath: text('file_path'),
  error: text('error'),
  createdAt: createdAt(),
  completedAt: timestamp('completed_at', { withTimezone: true }),
});

/**
 * The monthly audit report: per department, who viewed, changed and exported what (counts per member
 * and action) and the notable entries (unmasking, exports with row counts, denied attempts). One row
 * per month (`YYYY-MM`, China time); regenerating a month replaces it.
 */
export const auditReports = pgTable('audit_reports', {
  month: text('month').primaryKey(),
  generatedAt: timestamp('generated_at', { withTimezone: true }).notNull().defaultNow(),
  /** The admin who regenerated it; null when the scheduled job made it. */
  generatedBy: text('generated_by'),
  /** Audit entries the month holds (all of them, whatever their department). */
  entries: integer('entries').notNull(),
  /** Ids of the first and last entry covered, so the report can be checked against the log. */
  firstEntryId: bigint('first_entry_id', { mode: 'number' }),
  lastEntryId: bigint('last_entry_id', { mode: 'number' }),
  summary: jsonb('summary').$type<Record<string, unknown>>().notNull(),
});

// ── Targeted messaging: campaigns and their touch log ────────────────────────────────────────────────
export type CampaignState = 'draft' | 'scheduled' | 'sending' | 'sent' | 'canceled' | 'failed';

/**
 * A group-message campaign: the audience definition (tag layers and conditions, kept as ids), the
 * message (text and attachments in WeCom's add_msg_template shapes), and, once sent, the snapshot of
 * every selecting tag's visibility rules at that time (tag id → name, kind, layer, rules).
 */
export const campaigns = pgTable('campaigns', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdBy: text('created_by').notNull(),
  audience: jsonb('audience').$type<Record<string, unknown>>().notNull(),
  content: jsonb('content').$type<Record<string, unknown>>().notNull(),
  state: text('state').$type<CampaignState>().notNull().default('draft'),
  scheduledAt: timestamp('scheduled_at', { withTimezone: true }),
  sentAt: timestamp('sent_at', { withTimezone: true }),
  tagSnapshot: jsonb('tag_snapshot').$type<Record<string, unknown>>(),
  error: text('error'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [index('campaigns_creator').on(t.createdBy, t.createdAt)]);

/** One WeCom group-message task per sending rep: the writes (≤ 10,000 customers each) and their msgids. */
export const campaignTasks = pgTable('campaign_tasks', {
  campaignId: text('campaign_id').notNull(),
  sender: text('sender').notNull(),
  /** The sender's main department when the campaign was sent (the report groups by it). */
  departmentId: integer('department_id'),
  customers: integer('customers').notNull(),
  writeIds: jsonb('write_ids').$type<number[]>().notNull(),
  msgids: jsonb('msgids').$type<string[]>().notNull().default([]),
  /** WeCom's task status: 0 waiting for the rep to confirm, 2 sent. */
  wecomStatus: integer('wecom_status'),
  polledAt: timestamp('polled_at', { withTimezone: true }),
}, (t) => [primaryKey({ columns: [t.campaignId, t.sender] })]);

/**
 * pending: in a WeCom task, not sent yet; delivered: WeCom status 1; not_friend: 2; over_limit: 3
 * (the customer's 4 group messages this month); refused: in add_msg_template's fail_list; failed: the
 * call itself failed.
 */
export type TouchStatus = 'pending' | 'delivered' | 'not_friend' | 'over_limit' | 'refused' | 'failed';

/** The touch log: every customer a campaign reached for, who sent it, and the tags that selected it. */
export const campaignTouches = pgTable('campaign_touches', {
  campaignId: text('campaign_id').notNull(),
  externalUserId: text('external_userid').notNull(),
  sender: text('sender').notNull(),
  departmentId: integer('department_id'),
  /** Tag ids (corp, rule-group, personal) of the audience the customer carried; details in campaigns.tag_snapshot. */
  selectedBy: jsonb('selected_by').$type<string[]>().notNull(),
  status: text('status').$type<TouchStatus>().notNull().default('pending'),
  sentAt: timestamp('sent_at', { withTimezone: true }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [primaryKey({ columns: [t.campaignId, t.externalUserId] }), index('campaign_touches_customer').on(t.externalUserId), index('campaign_touches_sender').on(t.campaignId, t.sender)]);

// ── Materials bound to tag groups ────────────────────────────────────────────────────────────────────
export type MaterialKind = 'text' | 'image' | 'link';

/**
 * A sales material reps send into a chat (sidebar, sendChatMessage). A member sees it when they may
 * see a tag of one of its tag groups and, for a region's material, belong to that region's subtree.
 */
export const materials = pgTable('materials', {
  id: text('id').primaryKey(),
  kind: text('kind').$type<MaterialKind>().notNull(),
  title: text('title').notNull(),
  /** text: {text}; image: {picUrl, mediaId?}; link: {url, desc?, imgUrl?}. */
  content: jsonb('content').$type<Record<string, unknown>>().notNull(),
  tagGroupIds: jsonb('tag_group_ids').$type<string[]>().notNull(),
  /** The region (a department subtree) it belongs to; null: company-wide (admins only). */
  departmentId: integer('department_id'),
  createdBy: text('created_by').notNull(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
}, (t) => [index('materials_department').on(t.departmentId)]);
