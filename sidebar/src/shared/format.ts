import type { TagFolderNode, TagGroupNode } from './types.ts';

/** A date-time in the member's language; `value` is epoch seconds (WeCom) or an ISO string (ours). */
export function formatTime(value: number | string | null | undefined, locale: string): string {
  if (value === null || value === undefined || value === '') return '';
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(locale, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).format(date);
}

export interface FlatGroup extends TagGroupNode {
  /** Folder names from the top, for display ("华东 / 活动"). */
  folders: string[];
}

/** The member's tag tree as groups in display order, each knowing the folders above it. */
export function flattenTagTree(nodes: (TagFolderNode | TagGroupNode)[], folders: string[] = []): FlatGroup[] {
  return nodes.flatMap((node): FlatGroup[] =>
    node.type === 'group' ? [{ ...node, folders }] : flattenTagTree(node.children, [...folders, node.name]));
}
