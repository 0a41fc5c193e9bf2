import { api, query } from '../shared/api.ts';
import type { JsSdkConfig } from '../shared/types.ts';

/** WeCom's in-app browser (phone and desktop) says so in its user agent. */
export function inWecom(): boolean {
  return typeof navigator !== 'undefined' && /wxwork/i.test(navigator.userAgent);
}

/** Entries whose page belongs to one customer (wecom-api.md §9). */
const CUSTOMER_ENTRIES = new Set(['contact_profile', 'single_chat_tools', 'single_kf_tools']);

export interface WecomContext {
  entry: string;
  externalUserId: string | null;
}

/**
 * Inside WeCom: registers the JS-SDK with signatures made on the server (GET /api/jssdk/config; the
 * tickets never reach the browser), reads the entry and, from a customer's chat or profile, the
 * customer. The SDK is loaded only here, so pages opened elsewhere do not download it.
 */
export async function readWecomContext(): Promise<WecomContext> {
  const { register, getContext, getCurExternalContact } = await import('@wecom/jssdk');
  const signed = new Map<string, Promise<JsSdkConfig>>();
  const configFor = (url: string): Promise<JsSdkConfig> => {
    const page = url.split('#')[0]!;
    if (!signed.has(page)) signed.set(page, api.get<JsSdkConfig>(`/api/jssdk/config${query({ url: page })}`));
    return signed.get(page)!;
  };
  const first = await configFor(location.href);
  register({
    corpId: first.corpId,
    agentId: first.agentId,
    jsApiList: ['getContext', 'getCurExternalContact', 'sendChatMessage'],
    async getConfigSignature(url: string) {
      const c = await configFor(url);
      return { timestamp: c.timestamp, nonceStr: c.nonceStr, signature: c.signature };
    },
    async getAgentConfigSignature(url: string) {
      const c = await configFor(url);
      return { timestamp: c.timestamp, nonceStr: c.nonceStr, signature: c.agentSignature };
    },
  });
  const { entry } = await getContext();
  if (!CUSTOMER_ENTRIES.has(entry)) return { entry, externalUserId: null };
  const { userId } = await getCurExternalContact();
  return { entry, externalUserId: userId ?? null };
}
