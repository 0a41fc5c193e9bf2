import { eq, sql } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { settings } from '../db/schema.ts';
import { DomainError } from '../http/domain-error.ts';
import { reason } from '../http/reason.ts';
import { audit } from './audit.service.ts';
import {
  DEFAULT_FORBIDDEN_CHARACTERS, TAG_NAME_MAX_LENGTH, checkTagName, forbiddenSetProblems, nameProblemReason, repeatedNames,
  type TagNameCheckOptions, type TagNameRules,
} from './tag-names.ts';

/**
 * The company's tag naming rules: WeCom's 30-character limit (fixed) and the forbidden symbols, kept
 * in `settings` under `tag_name_rules` as `{"forbiddenCharacters": [...]}` so admins can change the set
 * without a restart; absent = the default set of tag-names.ts.
 */
const SETTINGS_KEY = 'tag_name_rules';

export async function readTagNameRules(db: Queryable): Promise<TagNameRules> {
  const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, SETTINGS_KEY));
  const stored = row?.value as { forbiddenCharacters?: unknown } | undefined;
  const list = Array.isArray(stored?.forbiddenCharacters) && stored.forbiddenCharacters.every((c) => typeof c === 'string')
    ? (stored.forbiddenCharacters as string[])
    : DEFAULT_FORBIDDEN_CHARACTERS;
  return { maxLength: TAG_NAME_MAX_LENGTH, forbiddenCharacters: list };
}

/** Replaces the forbidden set (400 naming bad entries); audited. Existing names are not touched. */
export async function saveTagNameRules(db: Queryable, actor: string, forbiddenCharacters: string[]): Promise<TagNameRules> {
  const problems = forbiddenSetProblems(forbiddenCharacters);
  if (problems.length) throw new DomainError('BAD_REQUEST', `forbiddenCharacters: ${problems.join('; ')}`);
  const before = await readTagNameRules(db);
  await db.insert(settings).values({ key: SETTINGS_KEY, value: { forbiddenCharacters } })
    .onConflictDoUpdate({ target: settings.key, set: { value: { forbiddenCharacters }, updatedAt: sql`now()` } });
  await audit(db, {
    actor, action: 'tag_name_rules.update', subjectType: 'settings', subjectId: SETTINGS_KEY, outcome: 'done',
    details: { before: before.forbiddenCharacters, after: forbiddenCharacters },
  });
  return { maxLength: TAG_NAME_MAX_LENGTH, forbiddenCharacters };
}

/**
 * Throws the first naming problem as a DomainError: TAG_NAME_TAKEN (409) for a name already used,
 * TAG_NAME_INVALID (400) otherwise, with the field, character, code point and position in `details`.
 */
export function assertName(name: string, field: string, options: TagNameCheckOptions & { rules: TagNameRules }): void {
  const problem = checkTagName(name, options);
  if (!problem) return;
  const details: Record<string, unknown> = { field, problem: problem.code };
  if (problem.character !== undefined) Object.assign(details, { character: problem.character, codePoint: problem.codePoint, position: problem.position });
  throw new DomainError(problem.code === 'duplicate' ? 'TAG_NAME_TAKEN' : 'TAG_NAME_INVALID', `${field}: ${problem.message}`, details, nameProblemReason(name, problem, options.rules));
}

/** Refuses a request that names the same tag twice (WeCom would silently collapse them). */
export function assertNoRepeats(names: string[], field: string): void {
  const repeated = repeatedNames(names);
  if (repeated.length) {
    throw new DomainError('TAG_NAME_INVALID', `${field}: ${repeated.map((n) => JSON.stringify(n)).join(', ')} ${repeated.length > 1 ? 'are' : 'is'} listed more than once`, { field, problem: 'duplicate', names: repeated }, reason('name.repeated', { names: repeated }));
  }
}
