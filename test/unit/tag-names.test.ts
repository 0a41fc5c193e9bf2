import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FORBIDDEN_CHARACTERS, DEFAULT_TAG_NAME_RULES, TAG_NAME_MAX_LENGTH, checkTagName, codePointLabel, forbiddenSetProblems,
  repeatedNames, tagNameProblems, type TagNameProblemCode,
} from '../../server/services/tag-names.ts';

// An independent statement of the rules, to compare the checker against character by character.
const REFERENCE_INVISIBLE = new Set([0x00ad, 0x061c, 0x180e, 0x200b, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2060, 0x2066, 0x2067, 0x2068, 0x2069, 0xfeff]);
const REFERENCE_FORBIDDEN = ['#', '<', '>', '"', "'", '`', '&', '|', '\\', '/', ';', ','];

function referenceClass(cp: number): TagNameProblemCode | 'ok' {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || REFERENCE_INVISIBLE.has(cp)) return 'control_character';
  if ((cp >= 0xd800 && cp < 0xe000) || (cp >= 0xfdd0 && cp <= 0xfdef) || cp % 0x10000 === 0xfffe || cp % 0x10000 === 0xffff) return 'invalid_character';
  if (REFERENCE_FORBIDDEN.includes(String.fromCodePoint(cp))) return 'forbidden_character';
  return 'ok';
}

describe('tag names: accepted', () => {
  it.each([
    'VIP', '客户等级', '高 净 值', 'A-1_2.3', '⭐VIP', '👨‍👩‍👧 家庭', 'ذهبي', '＃全角井号', 'café', '100%', '(试用)', '[活动]', '会员+', '新客!', '问?', '@门店', '~', '复购频次：高',
  ])('%j', (name) => {
    expect(tagNameProblems(name)).toEqual([]);
    expect(checkTagName(name)).toBeUndefined();
  });

  it('accepts exactly 30 characters, counted in code points (CJK and emoji count one each)', () => {
    expect(checkTagName('客'.repeat(30))).toBeUndefined();
    expect(checkTagName('😀'.repeat(30))).toBeUndefined();
    expect('😀'.repeat(30).length).toBe(60);
    expect(TAG_NAME_MAX_LENGTH).toBe(30);
  });

  it('keeps zero-width joiners (emoji sequences need them) and inner spaces of any kind', () => {
    expect(checkTagName('a\u200db')).toBeUndefined();
    expect(checkTagName('a\u200cb')).toBeUndefined();
    expect(checkTagName('a\u3000b')).toBeUndefined();
    expect(checkTagName('a\u00a0b')).toBeUndefined();
  });
});

describe('tag names: refused, naming the character and its position', () => {
  it('refuses empty and space-only names', () => {
    expect(checkTagName('')).toMatchObject({ code: 'empty', message: 'tag name must not be empty' });
    expect(checkTagName('   ')).toMatchObject({ code: 'empty', message: 'tag name must not be empty or only spaces' });
    expect(checkTagName('\u3000')).toMatchObject({ code: 'empty' });
    expect(checkTagName('\t')).toMatchObject({ code: 'empty' });
  });

  it('refuses 31 characters and points at the first character past the limit', () => {
    const problem = checkTagName(`${'客'.repeat(30)}X`);
    expect(problem).toMatchObject({ code: 'too_long', position: 31, character: 'X', codePoint: 'U+0058' });
    expect(problem!.message).toContain('has 31 characters; at most 30');
    expect(checkTagName('😀'.repeat(31))).toMatchObject({ code: 'too_long', position: 31, character: '😀' });
  });

  it.each(DEFAULT_FORBIDDEN_CHARACTERS.map((c) => [c]))('refuses %j wherever it is, with its position', (c) => {
    for (const [name, position] of [[`${c}VIP`, 1], [`VI${c}P`, 3], [`VIP${c}`, 4], [`客户${c}`, 3], [`😀${c}`, 2]] as const) {
      const problem = checkTagName(name);
      expect(problem).toMatchObject({ code: 'forbidden_character', character: c, position, codePoint: codePointLabel(c) });
      expect(problem!.message).toContain(`"${c}" at position ${position}`);
    }
  });

  it('says why # is refused', () => {
    expect(checkTagName('VIP#1')!.message).toBe('tag name "VIP#1" contains "#" at position 4; "#" is not allowed in names (WeCom clients turn # into a topic marker)');
  });

  it.each([
    ['\u0000', 'NUL'], ['\u0007', 'bell'], ['\t', 'tab'], ['\n', 'line feed'], ['\r', 'carriage return'], ['\u001b', 'escape'], ['\u007f', 'delete'],
    ['\u0085', 'U+0085'], ['\u009f', 'U+009F'],
    ['\u200b', 'zero-width space'], ['\u202e', 'right-to-left override'], ['\u2066', 'left-to-right isolate'], ['\ufeff', 'zero-width no-break space'],
    ['\u2028', 'line separator'], ['\u00ad', 'soft hyphen'],
  ])('refuses control/invisible %j, named in words and by code point', (c, words) => {
    const problem = checkTagName(`ab${c}cd`);
    expect(problem).toMatchObject({ code: 'control_character', position: 3, character: c, codePoint: codePointLabel(c) });
    expect(problem!.message).toContain(words);
    expect(problem!.message).toContain(codePointLabel(c));
    expect(problem!.message).toContain('at position 3');
    // The name is quoted with the invisible character made visible.
    expect(problem!.message).toContain(`"ab\\u{${c.codePointAt(0)!.toString(16)}}cd"`);
  });

  it('refuses unpaired surrogates and noncharacters as invalid', () => {
    expect(checkTagName('ab\ud800')).toMatchObject({ code: 'invalid_character', position: 3, codePoint: 'U+D800' });
    expect(checkTagName('\udc00ab')).toMatchObject({ code: 'invalid_character', position: 1 });
    expect(checkTagName('a\uffffb')).toMatchObject({ code: 'invalid_character', position: 2, codePoint: 'U+FFFF' });
    expect(checkTagName('a\ufdd0b')).toMatchObject({ code: 'invalid_character', codePoint: 'U+FDD0' });
  });

  it.each([
    [' VIP', 'leading_space', 1, 'U+0020'], ['\u3000VIP', 'leading_space', 1, 'U+3000'], ['\u00a0VIP', 'leading_space', 1, 'U+00A0'],
    ['VIP ', 'trailing_space', 4, 'U+0020'], ['VIP\u3000', 'trailing_space', 4, 'U+3000'], ['客户\u2003', 'trailing_space', 3, 'U+2003'],
  ] as const)('refuses %j (%s at %i)', (name, code, position, codePoint) => {
    const problem = checkTagName(name);
    expect(problem).toMatchObject({ code, position, codePoint });
    expect(problem!.message).toContain(`at position ${position}`);
  });

  it('reports a tab at the edge as a control character, not as a space', () => {
    expect(checkTagName('\tVIP')).toMatchObject({ code: 'control_character', position: 1 });
    expect(checkTagName('VIP\n')).toMatchObject({ code: 'control_character', position: 4 });
  });

  it('lists every problem, in order of position, and answers the first', () => {
    const problems = tagNameProblems(' a#b<c ');
    expect(problems.map((p) => [p.code, p.position])).toEqual([
      ['leading_space', 1], ['forbidden_character', 3], ['forbidden_character', 5], ['trailing_space', 7],
    ]);
    expect(checkTagName(' a#b<c ')).toEqual(problems[0]);
    const long = tagNameProblems(`#${'x'.repeat(30)}`);
    expect(long.map((p) => p.code)).toEqual(['too_long', 'forbidden_character']);
  });

  it('uses the label in messages', () => {
    expect(checkTagName('a#', { label: 'folder name' })!.message).toMatch(/^folder name "a#" contains/);
  });
});

describe('tag names: uniqueness', () => {
  it('refuses a name already used, case-sensitively and without normalisation (as WeCom compares)', () => {
    const taken = ['VIP', '普通', 'caf\u00e9'];
    expect(checkTagName('VIP', { taken, takenIn: 'group "客户等级"' })).toMatchObject({ code: 'duplicate', message: 'tag name "VIP" is already used in group "客户等级"' });
    expect(checkTagName('vip', { taken })).toBeUndefined();
    expect(checkTagName('VIP ', { taken })).toMatchObject({ code: 'trailing_space' });
    expect(checkTagName('cafe\u0301', { taken })).toBeUndefined();
    expect(checkTagName('普通', { taken: new Set(taken) })).toMatchObject({ code: 'duplicate' });
  });

  it('finds names repeated within one request', () => {
    expect(repeatedNames(['a', 'b', 'a', 'A', 'b', 'a'])).toEqual(['a', 'b']);
    expect(repeatedNames(['a', 'A'])).toEqual([]);
  });
});

describe('tag names: every BMP code point, against the reference', () => {
  it('classifies each character in the middle of a name exactly as the reference does', () => {
    const mismatches: string[] = [];
    for (let cp = 0; cp <= 0xffff; cp++) {
      const c = String.fromCharCode(cp);
      const expected = referenceClass(cp);
      const problems = tagNameProblems(`a${c}b`);
      const got = problems[0]?.code ?? 'ok';
      if (got !== expected || (expected !== 'ok' && (problems[0]!.position !== 2 || problems.length !== 1))) mismatches.push(`${codePointLabel(c)}: ${got} (want ${expected})`);
    }
    expect(mismatches).toEqual([]);
  });

  it('classifies astral characters (emoji, CJK extension B, plane-16 noncharacters)', () => {
    for (const cp of [0x1f600, 0x20000, 0x2a6d6, 0x1f468, 0xe0001, 0x10fffd]) expect(checkTagName(`a${String.fromCodePoint(cp)}b`)).toBeUndefined();
    for (const cp of [0x1fffe, 0x10ffff]) expect(checkTagName(`a${String.fromCodePoint(cp)}b`)).toMatchObject({ code: 'invalid_character', position: 2 });
  });

  it('refuses every whitespace character at either edge (as a space, or as a control character)', () => {
    for (let cp = 0; cp <= 0xffff; cp++) {
      const c = String.fromCharCode(cp);
      if (!/^\s$/u.test(c)) continue;
      const expected = referenceClass(cp) === 'control_character' ? 'control_character' : undefined;
      expect(checkTagName(`${c}ab`)?.code, codePointLabel(c)).toBe(expected ?? 'leading_space');
      expect(checkTagName(`ab${c}`)?.code, codePointLabel(c)).toBe(expected ?? 'trailing_space');
    }
  });
});

describe('tag names: properties', () => {
  const safeChar = fc.constantFrom(...[...'客户等级高中低VIPabcXYZ019-_.()（）😀⭐ 　']);
  const safeName = fc.array(safeChar, { minLength: 0, maxLength: 28 }).map((cs) => `客${cs.join('')}级`);

  it('accepts any name built from safe characters with visible edges, up to 30 characters', () => {
    fc.assert(fc.property(safeName, (name) => checkTagName(name) === undefined));
  });

  it('names the exact position of one forbidden character inserted anywhere', () => {
    fc.assert(fc.property(safeName, fc.nat(), fc.constantFrom(...DEFAULT_FORBIDDEN_CHARACTERS), (name, at, bad) => {
      const chars = [...name];
      if (chars.length >= 30) return true;
      const index = at % (chars.length + 1);
      chars.splice(index, 0, bad);
      const problem = checkTagName(chars.join(''));
      return problem?.code === 'forbidden_character' && problem.position === index + 1 && problem.character === bad && problem.message.includes(`at position ${index + 1}`);
    }));
  });

  it('refuses every name longer than 30 characters', () => {
    fc.assert(fc.property(fc.array(safeChar, { minLength: 31, maxLength: 80 }), (cs) => {
      const name = `客${cs.join('')}级`;
      return tagNameProblems(name).some((p) => p.code === 'too_long' && p.position === 31);
    }));
  });
});

describe('tag names: configurable forbidden set', () => {
  it('applies a custom set instead of the default', () => {
    const rules = { ...DEFAULT_TAG_NAME_RULES, forbiddenCharacters: ['@', '！'] };
    expect(checkTagName('VIP#1', { rules })).toBeUndefined();
    const problem = checkTagName('门店@上海', { rules });
    expect(problem).toMatchObject({ code: 'forbidden_character', character: '@', position: 3 });
    expect(problem!.message).toContain("refused by this company's naming rules");
    expect(checkTagName('好！', { rules })).toMatchObject({ character: '！', position: 2 });
    // Control characters stay refused whatever the set.
    expect(checkTagName('a\u0007b', { rules: { ...DEFAULT_TAG_NAME_RULES, forbiddenCharacters: [] } })).toMatchObject({ code: 'control_character' });
  });

  it('validates a configured set', () => {
    expect(forbiddenSetProblems([...DEFAULT_FORBIDDEN_CHARACTERS])).toEqual([]);
    expect(forbiddenSetProblems(['😀', '@', '＃'])).toEqual([]);
    expect(forbiddenSetProblems(['ab'])).toEqual(['entry 1 "ab" must be exactly one character']);
    expect(forbiddenSetProblems([''])).toEqual(['entry 1 "" must be exactly one character']);
    expect(forbiddenSetProblems(['a'])[0]).toContain('letter, digit, mark or space');
    expect(forbiddenSetProblems(['客'])[0]).toContain('letter');
    expect(forbiddenSetProblems(['7'])[0]).toContain('digit');
    expect(forbiddenSetProblems([' '])[0]).toContain('space');
    expect(forbiddenSetProblems(['\u0007'])[0]).toContain('U+0007');
    expect(forbiddenSetProblems(['#', '#'])).toEqual(['entry 2 "#" is listed twice']);
  });
});
