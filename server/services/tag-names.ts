/**
 * Tag name rules (pure, no I/O). Used for corp tags and groups, rule-group tags and groups, folders,
 * rule groups and personal tags, so a name accepted here is accepted by WeCom and displays cleanly
 * in every WeCom client, export and report.
 *
 * - 1 to 30 characters (WeCom's limit for customer tags; wecom-api.md §5). Characters are Unicode
 *   code points: 客 counts 1, an emoji outside the BMP counts 1, as the simulator counts.
 * - No leading or trailing whitespace of any kind (space, tab, no-break space, ideographic space).
 * - No control characters (C0, DEL, C1), no invisible direction or zero-width characters that make
 *   two names look alike (U+200B, U+200E/F, U+202A–E, U+2060, U+2066–9, U+FEFF, U+2028/9), no unpaired
 *   surrogates or noncharacters. Zero-width (non-)joiners stay allowed: emoji sequences need them.
 * - None of the forbidden symbols: a configurable set (settings key `tag_name_rules`), by default
 *   `# < > " ' ` & | \ / ; ,` (reasons in FORBIDDEN_REASONS).
 * - Unique where WeCom wants uniqueness (tags within their group, groups among groups), compared
 *   exactly: case-sensitive and without Unicode normalisation, as WeCom compares.
 *
 * Every problem names the offending character and its 1-based position in characters.
 */

import { reason, type Reason } from '../http/reason.ts';

export const TAG_NAME_MAX_LENGTH = 30;

/** Why each default symbol is refused (shown in the error message). */
export const FORBIDDEN_REASONS: Readonly<Record<string, string>> = {
  '#': 'WeCom clients turn # into a topic marker',
  '<': 'it is read as markup in web views and exports',
  '>': 'it is read as markup in web views and exports',
  '"': 'quotes break CSV exports and scripts',
  "'": 'quotes break CSV exports and scripts',
  '`': 'quotes break CSV exports and scripts',
  '&': 'it starts an entity in web views',
  '|': 'it separates fields in exports',
  ';': 'it separates fields in exports',
  ',': 'it separates fields in exports and tag lists',
  '/': 'it separates group and tag ("group/tag") in reports and imports',
  '\\': 'it is an escape character in exports and scripts',
};

export const DEFAULT_FORBIDDEN_CHARACTERS: readonly string[] = Object.freeze(Object.keys(FORBIDDEN_REASONS));

export interface TagNameRules {
  maxLength: number;
  /** Single characters (code points) refused anywhere in a name. */
  forbiddenCharacters: readonly string[];
}

export const DEFAULT_TAG_NAME_RULES: TagNameRules = Object.freeze({
  maxLength: TAG_NAME_MAX_LENGTH,
  forbiddenCharacters: DEFAULT_FORBIDDEN_CHARACTERS,
});

export type TagNameProblemCode =
  | 'empty'
  | 'too_long'
  | 'leading_space'
  | 'trailing_space'
  | 'control_character'
  | 'invalid_character'
  | 'forbidden_character'
  | 'duplicate';

export interface TagNameProblem {
  code: TagNameProblemCode;
  message: string;
  /** The offending character as it is (for invisible ones, see codePoint). */
  character?: string;
  /** `U+0023` form of the character. */
  codePoint?: string;
  /** 1-based position of the character, counted in characters (code points). */
  position?: number;
}

export interface TagNameCheckOptions {
  rules?: TagNameRules;
  /** What is named, for messages: "tag name", "group name", "folder name"... Default "tag name". */
  label?: string;
  /** Names already used where this one must be unique (exact, case-sensitive comparison). */
  taken?: Iterable<string>;
  /** Where `taken` lives, for the duplicate message, e.g. `group "客户等级"`. */
  takenIn?: string;
}

/** Invisible format characters that make look-alike or reordered names (joiners excluded). */
const INVISIBLE: Readonly<Record<number, string>> = {
  0x00ad: 'soft hyphen',
  0x061c: 'Arabic letter mark',
  0x180e: 'Mongolian vowel separator',
  0x200b: 'zero-width space',
  0x200e: 'left-to-right mark',
  0x200f: 'right-to-left mark',
  0x2028: 'line separator',
  0x2029: 'paragraph separator',
  0x202a: 'left-to-right embedding',
  0x202b: 'right-to-left embedding',
  0x202c: 'pop directional formatting',
  0x202d: 'left-to-right override',
  0x202e: 'right-to-left override',
  0x2060: 'word joiner',
  0x2066: 'left-to-right isolate',
  0x2067: 'right-to-left isolate',
  0x2068: 'first strong isolate',
  0x2069: 'pop directional isolate',
  0xfeff: 'zero-width no-break space (BOM)',
};

const CONTROL_NAMES: Readonly<Record<number, string>> = {
  0x00: 'NUL', 0x07: 'bell', 0x08: 'backspace', 0x09: 'tab', 0x0a: 'line feed', 0x0b: 'vertical tab',
  0x0c: 'form feed', 0x0d: 'carriage return', 0x1b: 'escape', 0x7f: 'delete',
};

export function codePointLabel(character: string): string {
  return `U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** How a name is quoted in messages: control and invisible characters shown as \u{...}. */
function quoted(name: string): string {
  const shown = [...name].map((c) => (describeInvisible(c) || isUnpairedSurrogate(c) ? `\\u{${c.codePointAt(0)!.toString(16)}}` : c)).join('');
  return JSON.stringify(shown).replaceAll('\\\\u{', '\\u{');
}

function isControl(cp: number): boolean {
  return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f);
}

function isUnpairedSurrogate(character: string): boolean {
  const cp = character.codePointAt(0)!;
  return cp >= 0xd800 && cp <= 0xdfff;
}

function isNoncharacter(cp: number): boolean {
  return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe;
}

/** A name for a control or invisible character, or undefined for a visible one. */
function describeInvisible(character: string): string | undefined {
  const cp = character.codePointAt(0)!;
  if (isControl(cp)) return `control character ${CONTROL_NAMES[cp] ?? codePointLabel(character)}`;
  const invisible = INVISIBLE[cp];
  return invisible ? `invisible character ${invisible}` : undefined;
}

/** Every problem of a name: emptiness, length, then characters by position (edges included), then uniqueness. */
export function tagNameProblems(name: string, options: TagNameCheckOptions = {}): TagNameProblem[] {
  const rules = options.rules ?? DEFAULT_TAG_NAME_RULES;
  const label = options.label ?? 'tag name';
  const characters = [...name];
  const problems: TagNameProblem[] = [];
  if (characters.length === 0 || name.trim() === '') {
    problems.push({ code: 'empty', message: `${label} must not be empty${characters.length ? ' or only spaces' : ''}` });
    return problems;
  }
  if (characters.length > rules.maxLength) {
    problems.push({
      code: 'too_long',
      message: `${label} ${quoted(name)} has ${characters.length} characters; at most ${rules.maxLength} are allowed (WeCom's limit)`,
      character: characters[rules.maxLength]!,
      codePoint: codePointLabel(characters[rules.maxLength]!),
      position: rules.maxLength + 1,
    });
  }
  const first = characters[0]!;
  const last = characters[characters.length - 1]!;
  if (/^\s$/u.test(first) && !describeInvisible(first)) {
    problems.push({ code: 'leading_space', character: first, codePoint: codePointLabel(first), position: 1, message: `${label} ${quoted(name)} starts with a space (${codePointLabel(first)}) at position 1; remove leading spaces` });
  }
  const forbidden = new Set(rules.forbiddenCharacters);
  characters.forEach((character, index) => {
    const position = index + 1;
    const codePoint = codePointLabel(character);
    const cp = character.codePointAt(0)!;
    const invisible = describeInvisible(character);
    if (invisible) {
      problems.push({ code: 'control_character', character, codePoint, position, message: `${label} ${quoted(name)} contains a ${invisible} (${codePoint}) at position ${position}; control and invisible characters are not allowed` });
    } else if (isUnpairedSurrogate(character) || isNoncharacter(cp)) {
      problems.push({ code: 'invalid_character', character, codePoint, position, message: `${label} ${quoted(name)} contains an invalid character ${codePoint} at position ${position} (not a valid Unicode character)` });
    } else if (forbidden.has(character)) {
      const reason = FORBIDDEN_REASONS[character];
      problems.push({
        code: 'forbidden_character', character, codePoint, position,
        message: `${label} ${quoted(name)} contains "${character}" at position ${position}; "${character}" is not allowed in names (${reason ?? 'refused by this company\'s naming rules'})`,
      });
    }
  });
  if (/^\s$/u.test(last) && !describeInvisible(last)) {
    problems.push({ code: 'trailing_space', character: last, codePoint: codePointLabel(last), position: characters.length, message: `${label} ${quoted(name)} ends with a space (${codePointLabel(last)}) at position ${characters.length}; remove trailing spaces` });
  }
  if (options.taken) {
    for (const other of options.taken) {
      if (other === name) {
        problems.push({ code: 'duplicate', message: `${label} ${quoted(name)} is already used${options.takenIn ? ` in ${options.takenIn}` : ''}` });
        break;
      }
    }
  }
  return problems;
}

/** A naming problem as a reason (`name.<code>`), for the web app to word in its member's language. */
export function nameProblemReason(name: string, problem: TagNameProblem, rules: TagNameRules = DEFAULT_TAG_NAME_RULES): Reason {
  return reason(`name.${problem.code}`, {
    name, length: [...name].length, max: rules.maxLength,
    ...(problem.character !== undefined ? { character: problem.character, codePoint: problem.codePoint ?? '', position: problem.position ?? 0 } : {}),
  });
}

/** The first problem of a name (what an API answers), or undefined when the name is fine. */
export function checkTagName(name: string, options: TagNameCheckOptions = {}): TagNameProblem | undefined {
  return tagNameProblems(name, options)[0];
}

/** Names that occur more than once in one request (exact comparison), in first-seen order. */
export function repeatedNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) repeated.add(name);
    seen.add(name);
  }
  return [...repeated];
}

/**
 * Validates a configured forbidden set: each entry one character, visible, not a letter, digit or
 * space (refusing those would refuse ordinary names), no repeats. Returns the problems (empty = fine).
 */
export function forbiddenSetProblems(characters: readonly string[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [index, entry] of characters.entries()) {
    const at = `entry ${index + 1}`;
    if ([...entry].length !== 1) {
      problems.push(`${at} ${JSON.stringify(entry)} must be exactly one character`);
      continue;
    }
    if (describeInvisible(entry) || isUnpairedSurrogate(entry)) problems.push(`${at} (${codePointLabel(entry)}) is a control or invisible character: those are always refused`);
    else if (/^[\p{L}\p{N}\p{M}\s]$/u.test(entry)) problems.push(`${at} "${entry}" is a letter, digit, mark or space: refusing it would refuse ordinary names`);
    if (seen.has(entry)) problems.push(`${at} "${entry}" is listed twice`);
    seen.add(entry);
  }
  return problems;
}
