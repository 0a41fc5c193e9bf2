// Request and response shapes of the WeCom server APIs the product uses (field names exactly as in
// ../../../shared/wecom-api.md; §n refers to that file). Responses omit `errcode`/`errmsg`: the client
// turns a non-zero errcode into a WecomApiError, so a returned value is always a success.

/** Common envelope of every WeCom JSON reply. */
export interface WecomEnvelope {
  errcode?: number;
  errmsg?: string;
}

// ── §1 tokens, §9 tickets, §2 callback IPs ──────────────────────────────────────────────────────────

export interface GetTokenResponse {
  access_token: string;
  expires_in: number;
}

export interface TicketResponse {
  ticket: string;
  expires_in: number;
}

export interface CallbackIpResponse {
  ip_list: string[];
}

// ── §8 org ──────────────────────────────────────────────────────────────────────────────────────────

export interface Department {
  id: number;
  name: string;
  name_en?: string;
  department_leader?: string[];
  parentid: number;
  order: number;
}

export interface DepartmentListResponse {
  department: Department[];
}

export interface DepartmentGetResponse {
  department: Department;
}

export interface SimpleUser {
  userid: string;
  name: string;
  department: number[];
  open_userid?: string;
}

export interface SimpleUserListResponse {
  userlist: SimpleUser[];
}

/** `status`: 1 active, 2 disabled, 4 not activated, 5 left. */
export type UserStatus = 1 | 2 | 4 | 5;

export interface WecomUser {
  userid: string;
  name: string;
  /** Only departments the app can see. */
  department: number[];
  /** Same length as `department`. */
  order?: number[];
  position?: string;
  /** 1/0 per department, same length as `department`. */
  is_leader_in_dept?: number[];
  /** At most 5. */
  direct_leader?: string[];
  main_department?: number;
  status: UserStatus;
  mobile?: string;
  gender?: string;
  email?: string;
  avatar?: string;
  qr_code?: string;
  open_userid?: string;
}

/** auth/getuserinfo: a member gets `userid` (+ `user_ticket`), a non-member `openid` (+ `external_userid`). */
export interface UserInfoByCodeResponse {
  userid?: string;
  user_ticket?: string;
  openid?: string;
  external_userid?: string;
}

// ── §4 customers ────────────────────────────────────────────────────────────────────────────────────

export interface ExternalAttr {
  /** 0 text, 1 web, 2 miniprogram. */
  type: 0 | 1 | 2;
  name: string;
  text?: { value: string };
  web?: { url: string; title: string };
  miniprogram?: { appid: string; pagepath: string; title: string };
}

export interface ExternalContact {
  external_userid: string;
  name: string;
  /** WeCom users only. */
  position?: string;
  avatar?: string;
  corp_name?: string;
  /** WeCom users only. */
  corp_full_name?: string;
  /** 1 WeChat user, 2 WeCom user. */
  type: 1 | 2;
  /** 0 unknown, 1 male, 2 female. */
  gender?: 0 | 1 | 2;
  unionid?: string;
  external_profile?: { external_attr?: ExternalAttr[] };
}

export interface FollowUserTag {
  group_name?: string;
  tag_name: string;
  /** Absent for personal tags (type 2). */
  tag_id?: string;
  /** 1 corp tag, 2 personal tag, 3 rule-group tag. */
  type: 1 | 2 | 3;
}

export interface WechatChannels {
  nickname?: string;
  source?: number;
}

export interface FollowUser {
  userid: string;
  remark?: string;
  description?: string;
  /** Unix seconds. */
  createtime: number;
  tags?: FollowUserTag[];
  remark_corp_name?: string;
  remark_mobiles?: string[];
  oper_userid?: string;
  add_way?: number;
  wechat_channels?: WechatChannels;
  state?: string;
}

export interface FollowUserListResponse {
  follow_user: string[];
}

export interface ExternalContactListResponse {
  external_userid: string[];
}

/** One page of externalcontact/get. */
export interface ExternalContactGetResponse {
  external_contact: ExternalContact;
  follow_user: FollowUser[];
  /** Present when the customer has more than 500 followers. */
  next_cursor?: string;
}

/** externalcontact/get with every page of followers merged. */
export interface ExternalContactDetail {
  external_contact: ExternalContact;
  follow_user: FollowUser[];
}

export interface FollowInfo {
  userid: string;
  remark?: string;
  description?: string;
  createtime: number;
  /** Corp tags only (personal tags are not returned by batch/get_by_user). */
  tag_id?: string[];
  remark_corp_name?: string;
  remark_mobiles?: string[];
  oper_userid?: string;
  add_way?: number;
  wechat_channels?: WechatChannels;
  state?: string;
}

export interface BatchExternalContactItem {
  external_contact: ExternalContact;
  follow_info: FollowInfo;
}

export interface BatchGetByUserRequest {
  /** At most 100. */
  userid_list: string[];
  cursor?: string;
  /** At most 100, default 50. */
  limit?: number;
}

export interface BatchGetByUserResponse {
  external_contact_list: BatchExternalContactItem[];
  next_cursor?: string;
}

export interface RemarkRequest {
  userid: string;
  external_userid: string;
  /** ≤ 20 chars. */
  remark?: string;
  /** ≤ 150 chars. */
  description?: string;
  /** ≤ 20 chars, WeChat customers only. */
  remark_company?: string;
  /** Replaces the old list; `[""]` clears it. */
  remark_mobiles?: string[];
  remark_pic_mediaid?: string;
}

// ── §5 corp tags and mark_tag ───────────────────────────────────────────────────────────────────────

export interface CorpTag {
  id: string;
  name: string;
  create_time: number;
  order: number;
  /** Only when querying by ids. */
  deleted?: boolean;
}

export interface CorpTagGroup {
  group_id: string;
  group_name: string;
  create_time: number;
  order: number;
  deleted?: boolean;
  tag: CorpTag[];
}

export interface CorpTagListResponse {
  tag_group: CorpTagGroup[];
}

export interface TagFilter {
  tagIds?: string[];
  groupIds?: string[];
}

export interface NewTag {
  /** ≤ 30 chars. */
  name: string;
  order?: number;
}

export interface AddCorpTagRequest {
  group_id?: string;
  group_name?: string;
  order?: number;
  tag: NewTag[];
  /** Only for old third-party multi-app suites. */
  agentid?: number;
}

export interface AddCorpTagResponse {
  tag_group: CorpTagGroup;
}

export interface EditCorpTagRequest {
  /** A tag id or a group id. */
  id: string;
  name?: string;
  order?: number;
  agentid?: number;
}

export interface DelCorpTagRequest {
  tag_id?: string[];
  group_id?: string[];
  agentid?: number;
}

export interface MarkTagRequest {
  userid: string;
  external_userid: string;
  add_tag?: string[];
  remove_tag?: string[];
}

// ── §5 rule groups (customer_strategy) and rule-group tags ──────────────────────────────────────────

export interface StrategyPrivilege {
  view_customer_list?: boolean;
  view_customer_data?: boolean;
  view_room_list?: boolean;
  contact_me?: boolean;
  join_room?: boolean;
  share_customer?: boolean;
  oper_resign_customer?: boolean;
  oper_resign_group?: boolean;
  send_customer_msg?: boolean;
  edit_welcome_msg?: boolean;
  view_behavior_data?: boolean;
  view_room_data?: boolean;
  send_group_msg?: boolean;
  room_deduplication?: boolean;
  rapid_reply?: boolean;
  onjob_customer_transfer?: boolean;
  edit_anti_spam_rule?: boolean;
  export_customer_list?: boolean;
  export_customer_data?: boolean;
  export_customer_group_list?: boolean;
  manage_customer_tag?: boolean;
}

/** `type` 1 = member (`userid`), 2 = department (`partyid`). */
export type StrategyRange = { type: 1; userid: string } | { type: 2; partyid: number };

export interface StrategyListResponse {
  strategy: { strategy_id: number }[];
  next_cursor?: string;
}

export interface Strategy {
  strategy_id: number;
  parent_id: number;
  strategy_name: string;
  create_time: number;
  admin_list: string[];
  privilege: StrategyPrivilege;
}

export interface StrategyGetResponse {
  strategy: Strategy;
}

export interface StrategyRangeResponse {
  range: StrategyRange[];
  next_cursor?: string;
}

export interface CreateStrategyRequest {
  parent_id?: number;
  strategy_name: string;
  admin_list: string[];
  privilege?: StrategyPrivilege;
  range: StrategyRange[];
}

export interface CreateStrategyResponse {
  strategy_id: number;
}

export interface EditStrategyRequest {
  strategy_id: number;
  strategy_name?: string;
  admin_list?: string[];
  privilege?: StrategyPrivilege;
  range_add?: StrategyRange[];
  range_del?: StrategyRange[];
}

export interface StrategyTagGroup {
  group_id: string;
  group_name: string;
  create_time: number;
  order: number;
  strategy_id: number;
  tag: CorpTag[];
}

export interface StrategyTagListResponse {
  tag_group: StrategyTagGroup[];
}

export interface StrategyTagFilter extends TagFilter {
  strategyId: number;
}

export interface AddStrategyTagRequest {
  strategy_id: number;
  group_id?: string;
  group_name?: string;
  order?: number;
  tag: NewTag[];
}

export interface AddStrategyTagResponse {
  tag_group: StrategyTagGroup;
}

export interface EditStrategyTagRequest {
  id: string;
  name?: string;
  order?: number;
}

export interface DelStrategyTagRequest {
  tag_id?: string[];
  group_id?: string[];
}

// ── §6 contact ways and welcome messages ────────────────────────────────────────────────────────────

export interface Conclusions {
  text?: { content: string };
  image?: { media_id: string };
  link?: { title: string; picurl?: string; desc?: string; url: string };
  miniprogram?: { title: string; pic_media_id: string; appid: string; page: string };
}

export interface ContactWayFields {
  /** Control style when scene = 1. */
  style?: number;
  /** ≤ 30 chars. */
  remark?: string;
  /** Default true. */
  skip_verify?: boolean;
  /** Channel marker, ≤ 30 chars; comes back as `State` in add events and `follow_user[].state`. */
  state?: string;
  user?: string[];
  party?: number[];
  expires_in?: number;
  chat_expires_in?: number;
  unionid?: string;
  conclusions?: Conclusions;
}

export interface AddContactWayRequest extends ContactWayFields {
  /** 1 single member, 2 multiple. */
  type: 1 | 2;
  /** 1 in a mini-program, 2 QR code. */
  scene: 1 | 2;
  is_temp?: boolean;
  is_exclusive?: boolean;
  mark_source?: boolean;
}

export interface AddContactWayResponse {
  config_id: string;
  /** Only when scene = 2. */
  qr_code?: string;
}

export interface ContactWay extends ContactWayFields {
  config_id: string;
  type: 1 | 2;
  scene: 1 | 2;
  qr_code?: string;
  is_temp?: boolean;
}

export interface GetContactWayResponse {
  contact_way: ContactWay;
}

export interface ListContactWayRequest {
  start_time?: number;
  end_time?: number;
  /** Page size, default 100, max 1000. */
  limit?: number;
}

export interface ListContactWayResponse {
  contact_way: { config_id: string }[];
  next_cursor?: string;
}

export interface UpdateContactWayRequest extends ContactWayFields {
  config_id: string;
}

export type WelcomeAttachment =
  | { msgtype: 'image'; image: { media_id?: string; pic_url?: string } }
  | { msgtype: 'link'; link: { title: string; picurl?: string; desc?: string; url: string } }
  | { msgtype: 'miniprogram'; miniprogram: { title: string; pic_media_id: string; appid: string; page: string } }
  | { msgtype: 'video'; video: { media_id: string } }
  | { msgtype: 'file'; file: { media_id: string } };

export interface SendWelcomeMsgRequest {
  welcome_code: string;
  /** ≤ 4000 bytes. */
  text?: { content: string };
  /** ≤ 9. */
  attachments?: WelcomeAttachment[];
}

// ── §7 transfers ────────────────────────────────────────────────────────────────────────────────────

export interface TransferCustomerRequest {
  handover_userid: string;
  takeover_userid: string;
  /** ≤ 100. */
  external_userid: string[];
  /** ≤ 200 chars. */
  transfer_success_msg?: string;
}

export interface TransferCustomerResponse {
  /** errcode 0 only means the handover started (takeover happens after 24 h unless refused). */
  customer: { external_userid: string; errcode: number }[];
}

export interface ResignedTransferCustomerRequest {
  handover_userid: string;
  takeover_userid: string;
  /** ≤ 100. */
  external_userid: string[];
}

export interface TransferResultRequest {
  handover_userid: string;
  takeover_userid: string;
  cursor?: string;
}

/** `status`: 1 done, 2 waiting, 3 refused by the customer, 4 takeover member at cap, 5 no record. */
export interface TransferResultItem {
  external_userid: string;
  status: 1 | 2 | 3 | 4 | 5;
  takeover_time: number;
}

export interface TransferResultResponse {
  customer: TransferResultItem[];
  next_cursor?: string;
}

export interface UnassignedItem {
  handover_userid: string;
  external_userid: string;
  dimission_time: number;
}

export interface UnassignedListResponse {
  info: UnassignedItem[];
  is_last?: boolean;
  next_cursor?: string;
}

// ── messages (message/send, externalcontact/add_msg_template) ───────────────────────────────────────

export interface AppMessageBase {
  /** Member ids separated by '|' (≤ 1000), or '@all'. */
  touser?: string;
  /** Department ids separated by '|'. */
  toparty?: string;
  /** Tag ids separated by '|'. */
  totag?: string;
  /** Defaults to the client's agentId. */
  agentid?: number;
  safe?: 0 | 1;
  enable_id_trans?: 0 | 1;
  enable_duplicate_check?: 0 | 1;
  duplicate_check_interval?: number;
}

export type AppMessageRequest = AppMessageBase &
  (
    | { msgtype: 'text'; text: { content: string } }
    | { msgtype: 'markdown'; markdown: { content: string } }
    | { msgtype: 'textcard'; textcard: { title: string; description: string; url: string; btntxt?: string } }
    | {
        msgtype: 'news';
        news: {
          articles: { title: string; description?: string; url?: string; picurl?: string; appid?: string; pagepath?: string }[];
        };
      }
  );

export interface AppMessageResponse {
  invaliduser?: string;
  invalidparty?: string;
  invalidtag?: string;
  unlicenseduser?: string;
  msgid?: string;
  response_code?: string;
}

export interface AddMsgTemplateRequest {
  chat_type?: 'single' | 'group';
  external_userid?: string[];
  chat_id_list?: string[];
  tag_filter?: { group_list: { tag_list: string[] }[] };
  sender?: string;
  allow_select?: boolean;
  text?: { content: string };
  /** ≤ 9, same shapes as welcome-message attachments. */
  attachments?: WelcomeAttachment[];
}

export interface AddMsgTemplateResponse {
  fail_list?: string[];
  msgid: string;
}

/** get_groupmsg_task: status 0 the member has not sent yet, 2 sent. */
export interface GroupMsgTaskItem { userid: string; status: number; send_time?: number }
export interface GroupMsgTaskResponse { task_list?: GroupMsgTaskItem[]; next_cursor?: string }

/** get_groupmsg_send_result: status 0 not sent, 1 sent, 2 not a customer of the sender, 3 the customer's monthly limit. */
export interface GroupMsgSendItem { external_userid?: string; chat_id?: string; userid: string; status: number; send_time?: number }
export interface GroupMsgSendResultResponse { send_list?: GroupMsgSendItem[]; next_cursor?: string }
