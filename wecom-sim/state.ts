// The in-memory model of one WeCom corp plus the simulator's clock. Everything the API and the
// control API read or change lives here; handlers stay thin and rules live next to the data.
import { IdFactory } from './ids.ts';
import { fail } from './errors.ts';

export const DEFAULT_CORP_ID = 'wwsimcorp0000000001';
export const DEFAULT_AGENT_ID = 1000002;
export const DEFAULT_SECRET = 'sim-agent-secret';
/** WeCom's documented cap: corp tags and rule-group tags together. */
export const MAX_TAGS = 3000;

/**
 * The simulator's clock: real time plus an offset that `POST /sim/clock/advance` grows, so token
 * expiry, 24 h takeovers, 90-day windows and the 20 s welcome-code window can be tested quickly
 * while CreateTime values stay realistic.
 */
export class SimClock {
  private offsetMs = 0;
  nowMs(): number {
    return Date.now() + this.offsetMs;
  }
  /** Unix seconds, as WeCom uses everywhere. */
  now(): number {
    return Math.floor(this.nowMs() / 1000);
  }
  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }
}

export type Creator = 'app' | 'console';

export interface Department {
  id: number;
  name: string;
  name_en: string;
  parentid: number;
  order: number;
}

export interface Member {
  userid: string;
  name: string;
  department: number[];
  order: number[];
  is_leader_in_dept: number[];
  position: string;
  /** 1 active, 2 disabled, 4 not activated, 5 left. */
  status: number;
  main_department: number;
  gender: string;
  /** Unix seconds when the member left (status 5), for get_unassigned_list. */
  dimissionTime?: number;
}

export interface Tag {
  id: string;
  name: string;
  create_time: number;
  order: number;
  deleted: boolean;
  createdBy: Creator;
}

export interface TagGroup {
  group_id: string;
  group_name: string;
  create_time: number;
  order: number;
  deleted: boolean;
  createdBy: Creator;
  /** Set for rule-group (strategy) tag groups; corp tag groups have none. */
  strategyId?: number;
  tags: Tag[];
}

export type RangeItem = { type: 1; userid: string } | { type: 2; partyid: number };

export interface Strategy {
  strategy_id: number;
  parent_id: number;
  strategy_name: string;
  create_time: number;
  admin_list: string[];
  privilege: Record<string, boolean>;
  range: RangeItem[];
  createdBy: Creator;
}

export interface FollowRelation {
  userid: string;
  remark: string;
  description: string;
  createtime: number;
  /** Corp tag ids and rule-group tag ids (both have ids; personal tags do not). */
  tagIds: string[];
  personalTags: string[];
  remark_corp_name: string;
  remark_mobiles: string[];
  oper_userid: string;
  add_way: number;
  state?: string;
  /** A "half" relation (免验证, not yet confirmed by the member) does not count as a relation. */
  half: boolean;
  /** The customer deleted the member: a one-way relation remains and the APIs still work. */
  customerDeleted: boolean;
}

export interface Customer {
  external_userid: string;
  name: string;
  type: number;
  gender: number;
  avatar: string;
  corp_name: string;
  position: string;
  unionid?: string;
  follows: FollowRelation[];
}

export interface ContactWay {
  config_id: string;
  type: number;
  scene: number;
  style?: number;
  remark: string;
  skip_verify: boolean;
  state: string;
  user: string[];
  party: number[];
  is_temp: boolean;
  expires_in?: number;
  chat_expires_in?: number;
  unionid?: string;
  conclusions?: unknown;
  create_time: number;
}

export interface Transfer {
  kind: 'onjob' | 'resigned';
  external_userid: string;
  handover_userid: string;
  takeover_userid: string;
  startedAt: number;
  takeover_time: number;
  /** 1 done, 2 waiting, 3 refused, 4 takeover member at cap (wecom-api.md §7). */
  status: 1 | 2 | 3 | 4;
}

export interface ExpiringCode {
  code: string;
  userid: string;
  external_userid?: string;
  expiresAt: number;
  used: boolean;
}

export interface SentMessage {
  msgid: string;
  kind: 'app' | 'welcome';
  at: number;
  body: Record<string, unknown>;
  /** Resolved recipients (userids for app messages, the customer for welcome messages). */
  recipients: string[];
}

export interface GroupMsgTask {
  userid: string;
  status: 0 | 2;
  send_time?: number;
  customers: { external_userid: string; status: 0 | 1 | 2 | 3; send_time?: number }[];
}

export interface GroupMsg {
  msgid: string;
  creator: string;
  create_type: 0 | 1;
  chat_type: 'single' | 'group';
  create_time: number;
  text?: { content: string };
  attachments: unknown[];
  tasks: GroupMsgTask[];
  /** Stopped by cancel_groupmsg_send: unsent tasks can no longer be sent. */
  canceled?: boolean;
}

export interface CallbackConfig {
  url: string;
  token: string;
  aesKey: string;
}

/** Everything about one corp; replaced wholesale by a reset. */
export class CorpState {
  ids: IdFactory;
  departments: Department[] = [];
  members = new Map<string, Member>();
  tagGroups: TagGroup[] = [];
  strategies: Strategy[] = [];
  nextStrategyId = 1;
  customers = new Map<string, Customer>();
  contactWays = new Map<string, ContactWay>();
  transfers: Transfer[] = [];
  oauthCodes = new Map<string, ExpiringCode>();
  welcomeCodes = new Map<string, ExpiringCode>();
  messages: SentMessage[] = [];
  groupMsgs: GroupMsg[] = [];
  callback?: CallbackConfig;

  constructor(
    readonly corpId: string,
    readonly agentId: number,
    readonly secret: string,
  ) {
    this.ids = new IdFactory(corpId);
  }

  // ---- org ----

  member(userid: unknown): Member {
    const found = typeof userid === 'string' ? this.members.get(userid) : undefined;
    return found ?? fail(60111, String(userid));
  }

  department(id: number): Department | undefined {
    return this.departments.find((d) => d.id === id);
  }

  /** The department and all its descendants. */
  subtree(id: number): Set<number> {
    const out = new Set<number>([id]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const d of this.departments) {
        if (!out.has(d.id) && out.has(d.parentid)) {
          out.add(d.id);
          grew = true;
        }
      }
    }
    return out;
  }

  /** Whether a member is inside a rule group's range (members, or departments incl. sub-departments). */
  inRange(range: RangeItem[], userid: string): boolean {
    const member = this.members.get(userid);
    if (!member) return false;
    return range.some((item) => {
      if (item.type === 1) return item.userid === userid;
      const tree = this.subtree(item.partyid);
      return member.department.some((d) => tree.has(d));
    });
  }

  // ---- tags ----

  liveGroups(strategyId?: number | 'any'): TagGroup[] {
    return this.tagGroups.filter(
      (g) => !g.deleted && (strategyId === 'any' || g.strategyId === strategyId),
    );
  }

  /** A live tag (corp or rule-group) with its group, or undefined. */
  findTag(id: string): { tag: Tag; group: TagGroup } | undefined {
    for (const group of this.tagGroups) {
      if (group.deleted) continue;
      const tag = group.tags.find((t) => t.id === id && !t.deleted);
      if (tag) return { tag, group };
    }
    return undefined;
  }

  findGroup(id: string): TagGroup | undefined {
    return this.tagGroups.find((g) => g.group_id === id && !g.deleted);
  }

  liveTagCount(): number {
    return this.tagGroups.reduce((n, g) => n + (g.deleted ? 0 : g.tags.filter((t) => !t.deleted).length), 0);
  }

  strategy(id: number): Strategy | undefined {
    return this.strategies.find((s) => s.strategy_id === id);
  }

  /** Removes deleted tag ids from every relation, as WeCom does when a tag is deleted. */
  forgetTags(ids: Set<string>): void {
    for (const customer of this.customers.values()) {
      for (const f of customer.follows) f.tagIds = f.tagIds.filter((t) => !ids.has(t));
    }
  }

  // ---- customers ----

  customer(externalUserid: unknown): Customer {
    if (typeof externalUserid !== 'string' || externalUserid === '') fail(41035);
    return this.customers.get(externalUserid) ?? fail(40096, externalUserid);
  }

  /** A confirmed relation (half relations do not count), else 84061. */
  relation(customer: Customer, userid: string): FollowRelation {
    const found = customer.follows.find((f) => f.userid === userid && !f.half);
    return found ?? fail(84061, `${userid} / ${customer.external_userid}`);
  }

  /** Relations visible through the API: confirmed ones, including one-way ones. */
  visibleFollows(customer: Customer): FollowRelation[] {
    return customer.follows.filter((f) => !f.half);
  }

  customersOf(userid: string): Customer[] {
    return [...this.customers.values()].filter((c) => c.follows.some((f) => f.userid === userid && !f.half));
  }
}
