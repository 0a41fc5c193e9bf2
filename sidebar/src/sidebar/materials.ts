import { api } from '../shared/api.ts';
import { inWecom } from './wecom.ts';

export interface Material {
  id: string;
  kind: 'text' | 'image' | 'link';
  title: string;
  content: { text?: string; picUrl?: string; mediaId?: string; url?: string; desc?: string; imgUrl?: string };
}

/** Materials of tag groups the member may see (the server decides; nothing is filtered here). */
export async function loadMaterials(): Promise<Material[]> {
  return (await api.get<{ items: Material[] }>('/api/materials')).items;
}

/** What sendChatMessage takes for a material, or null when it cannot be sent (an image without a media id). */
export function chatMessageOf(material: Material): Record<string, unknown> | null {
  if (material.kind === 'text') return { msgtype: 'text', text: { content: material.content.text ?? '' } };
  if (material.kind === 'image') return material.content.mediaId ? { msgtype: 'image', image: { mediaid: material.content.mediaId } } : null;
  return { msgtype: 'news', news: { link: material.content.url, title: material.title, desc: material.content.desc ?? '', imgUrl: material.content.imgUrl ?? '' } };
}

/**
 * Sends a material into the current chat with the JS-SDK (registered with the app identity by
 * readWecomContext), then records the send on the server. Outside WeCom nothing can be sent.
 */
export async function sendMaterial(material: Material, externalUserId: string): Promise<'sent' | 'unsupported'> {
  const message = chatMessageOf(material);
  if (!message || !inWecom()) return 'unsupported';
  const { sendChatMessage } = await import('@wecom/jssdk');
  await sendChatMessage(message as unknown as Parameters<typeof sendChatMessage>[0]);
  await api.post(`/api/materials/${material.id}/sent`, { externalUserId });
  return 'sent';
}
