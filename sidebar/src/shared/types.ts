// Shapes of the server's answers the web app reads (see README.md's API table).
import type { Reason } from './reasons.ts';

export interface Me {
  userid: string;
  name: string;
  position: string | null;
  status: number;
  departments: { id: number; name: string; isLeader: boolean; main: boolean }[];
  roles: string[];
  csrfToken: string;
  viewAs: { by: string; readOnly: true } | null;
}

export interface Health {
  ok: boolean;
  sandbox?: { simulatorUrl: string };
}

export type TagKind = 'corp' | 'strategy' | 'personal';

/** `lockedReason` is the server's English; `lock` the same as a code with parameters (shared/reasons.ts). */
export interface TagLeaf { id: string; name: string; kind: 'corp' | 'strategy'; usable: boolean; lockedReason?: string; lock?: Reason }
export interface TagGroupNode { type: 'group'; id: string; name: string; kind: 'corp' | 'strategy'; strategy?: { id: number; name: string }; tags: TagLeaf[] }
export interface TagFolderNode { type: 'folder'; id: string; name: string; children: (TagFolderNode | TagGroupNode)[] }
export interface PersonalTag { id: string; name: string; groupName: string | null; customers?: number }

export interface MemberTagTree {
  tree: (TagFolderNode | TagGroupNode)[];
  personal: PersonalTag[];
}

export interface TagView { tagId: string; kind: string; name: string; groupName: string | null }

export interface Relation {
  userid: string;
  /** The colleague's name (the userid when the member is unknown to the server). */
  name?: string | null;
  /** Who added the customer for this relation, by name. */
  operName?: string | null;
  remark: string | null;
  description: string | null;
  remarkCorpName?: string | null;
  remarkMobiles?: string[];
  addedAt: number | null;
  addWay: number | null;
  state: string | null;
  operUserid: string | null;
  status: string;
  endReason: string | null;
  tags: TagView[];
}

export type CustomerAction = 'view' | 'edit' | 'tag' | 'export' | 'delete' | 'assign' | 'transfer' | 'unmask';

export interface Customer {
  externalUserId: string;
  name: string;
  type: number;
  avatar: string | null;
  gender: number;
  corpName: string | null;
  corpFullName?: string | null;
  position?: string | null;
  ownerUserid: string | null;
  owner?: { userid: string; name: string; active: boolean } | null;
  inPool?: boolean;
  poolDepartmentId?: number | null;
  relations: Relation[];
  masked?: string[];
  permissions?: Partial<Record<CustomerAction, boolean>>;
}

export interface CustomerListItem {
  externalUserId: string;
  name: string;
  avatar: string | null;
  type: number;
  corpName: string | null;
  ownerUserid: string | null;
  ownerName: string | null;
  inPool?: boolean;
  createdAt?: string;
  tags: TagView[];
}

export interface Page<T> { items: T[]; nextCursor: string | number | null; [more: string]: unknown }

export interface Note { id: number; content: string; author: string; authorName: string | null; createdAt: string }

export interface PoolCustomer {
  externalUserId: string;
  name: string;
  poolDepartmentId: number | null;
  poolDepartmentName: string | null;
  inPoolSince: string;
  lastActivityAt: string | null;
}

export interface TagChangeResult {
  personal: { added: string[]; removed: string[] };
  wecom: { writeId: number; state: string; errcode: number | null; error: string | null } | null;
}

export interface JsSdkConfig {
  corpId: string;
  agentId: number;
  timestamp: number;
  nonceStr: string;
  signature: string;
  agentSignature: string;
}
