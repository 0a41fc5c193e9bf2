/**
 * The server's reasons and messages in the member's language. The server sends a stable code with
 * parameters (server/http/reason.ts) next to its English text; the wording lives in the locale files
 * under `reasons.<code>`. A code this version does not know falls back to the server's English.
 */
export interface Reason {
  code: string;
  params?: Record<string, unknown>;
}

type Translate = (key: string, values?: Record<string, unknown>) => string;

export function isReason(value: unknown): value is Reason {
  return typeof value === 'object' && value !== null && typeof (value as Reason).code === 'string';
}

interface Audience { departments?: string[]; users?: string[]; roles?: { name: string; departments?: string[] }[] }
type Match = { kind: 'user' } | { kind: 'department'; department: string; via: string } | { kind: 'role'; role: string; department?: string; via?: string };

/** A translation that exists, or undefined (vue-i18n answers a missing key with the key itself). */
function known(t: Translate, key: string, values?: Record<string, unknown>): string | undefined {
  const text = t(key, values);
  return text === key ? undefined : text;
}

const list = (t: Translate, items: string[]): string => items.join(t('reasons.separator'));
const roleName = (t: Translate, role: string): string => known(t, `reasons.roles.${role}`) ?? role;

function audience(t: Translate, value: Audience): string {
  const parts = [
    ...(value.departments ?? []).map((name) => t('reasons.audience.department', { name })),
    ...(value.users ?? []).map((name) => t('reasons.audience.member', { name })),
    ...(value.roles ?? []).map((r) => (r.departments?.length
      ? t('reasons.audience.roleIn', { name: roleName(t, r.name), departments: r.departments.join('/') })
      : t('reasons.audience.role', { name: roleName(t, r.name) }))),
  ];
  return parts.length ? list(t, parts) : t('reasons.audience.nobody');
}

function match(t: Translate, value: Match, member: unknown): string {
  if (value.kind === 'user') return t('reasons.match.user', { member });
  if (value.kind === 'department') {
    return value.via === value.department ? t('reasons.match.department', { member, department: value.department }) : t('reasons.match.departmentVia', { member, department: value.department, via: value.via });
  }
  if (!value.department) return t('reasons.match.role', { member, role: roleName(t, value.role) });
  return t('reasons.match.roleIn', { member, role: roleName(t, value.role), via: value.via });
}

/** Parameters worded for the message: node kinds, sides, actions, audiences, matches, nested reasons, lists. */
function wordParams(t: Translate, params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    if ((key === 'nodeType' || key === 'movedType') && typeof value === 'string') out[key] = known(t, `reasons.nodeTypes.${value}`) ?? value;
    else if (key === 'side' && typeof value === 'string') out[key] = known(t, `reasons.sides.${value}`) ?? value;
    else if (key === 'action' && typeof value === 'string') out[key] = known(t, `reasons.actions.${value}`) ?? value;
    else if ((key === 'audience' || key === 'grants') && value && typeof value === 'object') out[key] = audience(t, value as Audience);
    else if (key === 'matches' && Array.isArray(value)) out[key] = list(t, value.map((m) => match(t, m as Match, params.member)));
    else if (isReason(value)) out[key] = renderReason(value, t) ?? value.code;
    else if (Array.isArray(value)) out[key] = value.every(isReason) && value.length ? value.map((r) => renderReason(r as Reason, t) ?? (r as Reason).code).join(t('reasons.sentenceSeparator')) : list(t, value.map(String));
    else out[key] = value;
  }
  return out;
}

/** The reason in the current language, or undefined when this version has no wording for its code. */
export function renderReason(reason: Reason, t: Translate): string | undefined {
  return known(t, `reasons.${reason.code}`, wordParams(t, reason.params ?? {}));
}

/** The reason in the current language, else the server's English text. */
export function reasonText(reason: unknown, english: string | undefined, t: Translate): string {
  return (isReason(reason) ? renderReason(reason, t) : undefined) ?? english ?? '';
}
