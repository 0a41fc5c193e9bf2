import { describe, expect, it } from 'vitest';
import { ApiError } from './api.ts';
import { describeError } from './errors.ts';
import { createAppI18n } from './i18n.ts';
import { reasonText, renderReason } from './reasons.ts';

type T = (key: string, values?: Record<string, unknown>) => string;
const zh = createAppI18n({ 'zh-CN': {}, en: {} }, 'zh-CN').global.t as T;
const en = createAppI18n({ 'zh-CN': {}, en: {} }, 'en').global.t as T;

describe('server reasons in the member\'s language', () => {
  it('words an explanation line with its matches, and a locked tag with its use audience', () => {
    const sees = { code: 'explain.rule_sees', params: { nodeType: 'group', node: '投诉记录', member: '王芳', matches: [{ kind: 'department', department: '华东大区', via: '上海' }, { kind: 'role', role: 'manager' }] } };
    expect(renderReason(sees, zh)).toBe('标签组「投诉记录」的规则允许 王芳 查看：王芳 属于「上海」，它在部门「华东大区」之下、王芳 拥有角色「部门负责人」。');
    expect(renderReason(sees, en)).toBe('The rule on group “投诉记录” lets 王芳 see it: 王芳 is in 上海, inside department 华东大区, 王芳 has role manager.');
    const locked = { code: 'explain.rule_see_not_use', params: { nodeType: 'tag', node: 'VIP', member: '刘洋', audience: { departments: ['华东大区'], users: [], roles: [{ name: 'admin', departments: [] }] } } };
    expect(renderReason(locked, zh)).toBe('标签「VIP」的规则只允许 刘洋 查看，不能使用（可用范围：部门「华东大区」、角色「管理员」）。');
    expect(renderReason({ code: 'explain.rule_not_see', params: { nodeType: 'folder', node: 'A', member: 'x', audience: { departments: [], users: [], roles: [] } } }, zh)).toContain('可见范围：无人');
  });

  it('words nested reasons (a rule wider than its parent inside a refusal)', () => {
    const refusal = { code: 'rule.would_widen', params: { problems: [{ code: 'rule.wider_than_parent', params: { nodeType: 'folder', node: '华东', side: 'see', grants: { departments: ['西南大区'], users: ['liuyang'], roles: [] } } }] } };
    expect(renderReason(refusal, zh)).toBe('这条规则会扩大权限：比上级文件夹「华东」的可见范围更宽：部门「西南大区」、成员 liuyang。规则只能收窄上级的范围，不能放宽。');
  });

  it('falls back to the server\'s English for a code this version does not know', () => {
    expect(renderReason({ code: 'explain.something_new' }, zh)).toBeUndefined();
    expect(reasonText({ code: 'explain.something_new' }, 'Something new.', zh)).toBe('Something new.');
    expect(reasonText(undefined, 'English only', zh)).toBe('English only');
  });

  it('errors with a reason are worded by it, in Chinese and English', () => {
    const limit = new ApiError(403, 'FORBIDDEN', 'daily claim limit reached (3 per day)', { reason: { code: 'pool.daily_limit', params: { limit: 3 } } });
    expect(describeError(limit, zh)).toBe('今天的领取名额已用完（每天最多 3 个）。');
    expect(describeError(limit, en)).toBe('You have used today\'s claims (3 per day).');
    const probation = new ApiError(403, 'FORBIDDEN', 'read-only probation: you may view this customer but not tag it', { reason: { code: 'customer.probation', params: { action: 'tag' } } });
    expect(describeError(probation, zh)).toBe('试用期只读：你可以查看这位客户，但不能打标签。');
    const name = new ApiError(400, 'TAG_NAME_INVALID', 'name: tag name "a#b" contains "#"', { reason: { code: 'name.forbidden_character', params: { name: 'a#b', character: '#', position: 2, codePoint: 'U+0023', length: 3, max: 30 } } });
    expect(describeError(name, zh)).toBe('「a#b」的第 2 个字符“#”不能用在名称中。');
    const fields = new ApiError(400, 'BAD_REQUEST', 'name: Required', { reason: { code: 'request.invalid_fields', params: { fields: ['name', 'order'] } } });
    expect(describeError(fields, zh)).toBe('请求有误，请检查：name、order。');
    const left = new ApiError(403, 'MEMBER_LEFT', 'this member has left the company', { reason: { code: 'login.left', params: {} } });
    expect(describeError(left, zh)).toBe('你已离职，不能再登录。如有疑问，请联系管理员。');
    const notAllowed = new ApiError(403, 'TAG_NOT_ALLOWED', 'you may see but not use: VIP', { reason: { code: 'tag.not_allowed', params: { tags: ['VIP'] } } });
    expect(describeError(notAllowed, zh)).toBe('你可以看到「VIP」，但没有使用权限，未做任何修改。');
  });
});
