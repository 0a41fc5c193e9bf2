import { describe, expect, it } from 'vitest';
import { ApiError } from './api.ts';
import { describeError } from './errors.ts';
import { createAppI18n } from './i18n.ts';

const zh = createAppI18n({ 'zh-CN': {}, en: {} }, 'zh-CN').global.t as (key: string, values?: Record<string, unknown>) => string;
const en = createAppI18n({ 'zh-CN': {}, en: {} }, 'en').global.t as (key: string, values?: Record<string, unknown>) => string;

describe('describeError', () => {
  it('says what happened to a tag change in plain words, by the server\'s code', () => {
    expect(describeError(new ApiError(403, 'TAG_NOT_ALLOWED', 'you may see but not use: VIP'), zh)).toBe('你可以看到这个标签，但没有使用权限，未做任何修改。');
    expect(describeError(new ApiError(404, 'TAG_NOT_FOUND', 'no such tag'), zh)).toContain('不存在或你无权查看');
    expect(describeError(new ApiError(409, 'NO_RELATION', 'no relation'), zh)).toContain('没有企业微信好友关系');
    expect(describeError(new ApiError(502, 'SERVER_ERROR', 'HTTP 502'), zh)).toContain('企业微信暂时没有接受');
    expect(describeError(new ApiError(403, 'TAG_NOT_ALLOWED', 'x'), en)).toBe('You may see this tag but not use it. Nothing was changed.');
  });

  it('tells view-as refusals, network failures and other conflicts apart', () => {
    expect(describeError(new ApiError(403, 'FORBIDDEN', 'read-only: you are viewing as lihua; end view-as to make changes'), zh)).toBe('只读查看中，不能修改。');
    expect(describeError(new ApiError(0, 'NETWORK', 'Failed to fetch'), zh)).toContain('网络连接失败');
    expect(describeError(new ApiError(409, 'TAG_NAME_TAKEN', 'a tag named VIP exists in 客户等级'), zh)).toBe('与当前数据冲突：a tag named VIP exists in 客户等级');
    expect(describeError(new Error('boom'), en)).toBe('Failed: boom');
  });
});
