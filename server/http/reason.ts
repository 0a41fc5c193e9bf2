/**
 * A message as a stable code with parameters, so every client can word it in its member's language
 * (the web app's wording lives in sidebar/src/shared/reasons.ts and the locale files). The English
 * text stays next to it (`message`, `because`, `lockedReason`) for API clients.
 *
 * Parameters are plain values, lists, nested reasons (`{code, params}`), and a few shapes the web app
 * knows how to word: `nodeType` (folder | group | tag), `audience`/`grants` (departments, members and
 * roles by name) and `matches` (how a member is admitted).
 */
export type ReasonParam = string | number | boolean | null | ReasonParam[] | { [key: string]: ReasonParam };

export interface Reason {
  code: string;
  params: Record<string, ReasonParam>;
}

export const reason = (code: string, params: Record<string, ReasonParam> = {}): Reason => ({ code, params });
