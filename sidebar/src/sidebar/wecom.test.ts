import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeServer } from '../test/mount.ts';

const sdk = vi.hoisted(() => ({
  register: vi.fn(),
  getContext: vi.fn(),
  getCurExternalContact: vi.fn(),
}));
vi.mock('@wecom/jssdk', () => sdk);

import { inWecom, readWecomContext } from './wecom.ts';

const config = { corpId: 'wwcorp', agentId: 1000002, timestamp: 1700000000, nonceStr: 'n0nce', signature: 'corp-signature', agentSignature: 'agent-signature' };

describe('WeCom JS-SDK integration', () => {
  let server: ReturnType<typeof fakeServer>;
  beforeEach(() => {
    server = fakeServer((url) => (url.startsWith('/api/jssdk/config?') ? { status: 200, body: config } : undefined));
    vi.stubGlobal('fetch', server.fetch);
    sdk.register.mockReset();
    sdk.getContext.mockReset();
    sdk.getCurExternalContact.mockReset();
  });
  afterEach(() => vi.unstubAllGlobals());

  it('registers with the app identity using signatures made on the server, then reads the chat\'s customer', async () => {
    sdk.getContext.mockResolvedValue({ entry: 'single_chat_tools' });
    sdk.getCurExternalContact.mockResolvedValue({ userId: 'wmCustomer1' });
    expect(await readWecomContext()).toEqual({ entry: 'single_chat_tools', externalUserId: 'wmCustomer1' });
    const options = sdk.register.mock.calls[0]![0];
    expect(options).toMatchObject({ corpId: 'wwcorp', agentId: 1000002, jsApiList: ['getContext', 'getCurExternalContact', 'sendChatMessage'] });
    // The page URL is signed without its fragment; each callback answers with its own signature.
    expect(await options.getAgentConfigSignature(`${location.origin}/sidebar/?x=1#/customer/a`)).toEqual({ timestamp: 1700000000, nonceStr: 'n0nce', signature: 'agent-signature' });
    expect(await options.getConfigSignature(`${location.origin}/sidebar/?x=1`)).toEqual({ timestamp: 1700000000, nonceStr: 'n0nce', signature: 'corp-signature' });
    const asked = server.calls.map((c) => decodeURIComponent(c.url.split('url=')[1]!));
    expect(asked).toContain(`${location.origin}/sidebar/?x=1`);
    expect(asked.every((u) => !u.includes('#'))).toBe(true);
  });

  it('outside a customer entry there is no current customer and getCurExternalContact is not called', async () => {
    sdk.getContext.mockResolvedValue({ entry: 'normal' });
    expect(await readWecomContext()).toEqual({ entry: 'normal', externalUserId: null });
    expect(sdk.getCurExternalContact).not.toHaveBeenCalled();
  });

  it('knows WeCom by its user agent', () => {
    expect(inWecom()).toBe(false);
    vi.stubGlobal('navigator', { userAgent: 'Mozilla/5.0 (iPhone) wxwork/4.1.20 MicroMessenger/7.0.1' });
    expect(inWecom()).toBe(true);
  });
});
