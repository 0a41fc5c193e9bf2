import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';

/**
 * Parsing and validation of WeCom callback XML: the outer envelope and the decrypted event. Values
 * stay strings (ids such as CreateTime or StrategyId are never turned into numbers by accident), and
 * entities are not processed, which rules out XXE and entity bombs.
 */
export class CallbackFormatError extends Error {
  override name = 'CallbackFormatError';
}

const parser = new XMLParser({
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreAttributes: true,
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
});

const MAX_DEPTH = 8;

function depthOf(value: unknown, depth = 0): number {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return depth;
  let max = depth;
  for (const child of Object.values(value)) max = Math.max(max, depthOf(child, depth + 1));
  return max;
}

/** Parses `<xml>…</xml>` into a flat record of string fields; anything else is a format error. */
export function parseXmlRecord(xml: string): Record<string, unknown> {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new CallbackFormatError('XML with a DOCTYPE or ENTITY declaration is refused');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new CallbackFormatError(`malformed XML: ${valid.err.msg} (line ${valid.err.line})`);
  let parsed: unknown;
  try {
    parsed = parser.parse(xml);
  } catch {
    throw new CallbackFormatError('malformed XML');
  }
  if (depthOf(parsed) > MAX_DEPTH) throw new CallbackFormatError('XML nested too deeply');
  const root = (parsed as { xml?: unknown } | null)?.xml;
  if (!root || typeof root !== 'object' || Array.isArray(root)) throw new CallbackFormatError('expected a single <xml> root element');
  // Own-property copy into a null-prototype object: `__proto__` tags cannot reach any prototype.
  return Object.assign(Object.create(null) as Record<string, unknown>, root);
}

const text = (max = 512) => z.string().min(1).max(max);

export const envelopeSchema = z.object({
  ToUserName: text(128),
  Encrypt: z.string().min(1).max(60_000),
  AgentID: z.string().max(32).optional(),
});
export type CallbackEnvelope = z.infer<typeof envelopeSchema>;

const header = {
  ToUserName: text(128),
  FromUserName: text(128),
  CreateTime: z.string().regex(/^\d{1,12}$/, 'CreateTime must be unix seconds'),
  MsgType: z.literal('event'),
};

/** What every callback message has, event or not. */
const messageHeader = { ...header, MsgType: text(32) };
/** Built once: building a zod object costs ~100× parsing with it, and this runs on every callback. */
const messageHeaderSchema = z.object(messageHeader);

const id = text(256);

export const externalContactEventSchema = z.discriminatedUnion('ChangeType', [
  z.object({ ...header, Event: z.literal('change_external_contact'), ChangeType: z.literal('add_external_contact'), UserID: id, ExternalUserID: id, State: z.string().max(64).optional(), WelcomeCode: z.string().max(512).optional() }),
  z.object({ ...header, Event: z.literal('change_external_contact'), ChangeType: z.literal('add_half_external_contact'), UserID: id, ExternalUserID: id, State: z.string().max(64).optional(), WelcomeCode: z.string().max(512).optional() }),
  z.object({ ...header, Event: z.literal('change_external_contact'), ChangeType: z.literal('edit_external_contact'), UserID: id, ExternalUserID: id }),
  z.object({ ...header, Event: z.literal('change_external_contact'), ChangeType: z.literal('del_external_contact'), UserID: id, ExternalUserID: id, Source: z.string().max(64).optional() }),
  z.object({ ...header, Event: z.literal('change_external_contact'), ChangeType: z.literal('del_follow_user'), UserID: id, ExternalUserID: id }),
  z.object({ ...header, Event: z.literal('change_external_contact'), ChangeType: z.literal('transfer_fail'), UserID: id, ExternalUserID: id, FailReason: z.string().max(64) }),
  z.object({ ...header, Event: z.literal('change_external_contact'), ChangeType: z.literal('msg_audit_approved'), UserID: id, ExternalUserID: id, WelcomeCode: z.string().max(512).optional() }),
]);

export const externalTagEventSchema = z.object({
  ...header,
  Event: z.literal('change_external_tag'),
  ChangeType: z.enum(['create', 'update', 'delete', 'shuffle']),
  Id: z.string().max(256).optional(),
  TagType: z.enum(['tag', 'tag_group']).optional(),
  StrategyId: z.string().regex(/^\d{1,12}$/).optional(),
}).refine((e) => e.ChangeType === 'shuffle' || (e.Id && e.TagType), { message: 'Id and TagType are required for create, update and delete' });

export const contactChangeEventSchema = z.object({
  ...header,
  Event: z.literal('change_contact'),
  ChangeType: z.enum(['create_user', 'update_user', 'delete_user', 'create_party', 'update_party', 'delete_party', 'update_tag']),
  UserID: z.string().max(256).optional(),
  NewUserID: z.string().max(256).optional(),
  Id: z.string().max(64).optional(),
});

export type ExternalContactEvent = z.infer<typeof externalContactEventSchema>;
export type ExternalTagEvent = z.infer<typeof externalTagEventSchema>;
export type ContactChangeEvent = z.infer<typeof contactChangeEventSchema>;

export type ParsedEvent =
  | { kind: 'external_contact'; event: ExternalContactEvent }
  | { kind: 'external_tag'; event: ExternalTagEvent }
  | { kind: 'contact'; event: ContactChangeEvent }
  /** Well-formed but of a type this product does not act on: stored and marked ignored. */
  | { kind: 'unhandled'; event: Record<string, string> };

const HANDLED_CHANGE_TYPES = new Set(['add_external_contact', 'add_half_external_contact', 'edit_external_contact', 'del_external_contact', 'del_follow_user', 'transfer_fail']);

function stringFields(record: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) {
    if (typeof value !== 'string') throw new CallbackFormatError(`field ${key.slice(0, 40)} must be text`);
    out[key] = value;
  }
  return out;
}

function issuesOf(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`).join('; ');
}

/** Validates a decrypted event. Unknown event types pass as `unhandled` (stored, 200, ignored). */
export function parseEvent(record: Record<string, unknown>): ParsedEvent {
  const fields = stringFields(record);
  const base = messageHeaderSchema.safeParse(fields);
  if (!base.success) throw new CallbackFormatError(`invalid event: ${issuesOf(base.error)}`);
  // A well-formed message that is not an event (the official A2 vector is a text message) is not
  // acted on, but it is still acknowledged: a 400 would only make WeCom send it again.
  if (fields.MsgType !== 'event') return { kind: 'unhandled', event: fields };
  const event = fields.Event;
  if (!event) throw new CallbackFormatError('invalid event: Event is missing');
  if (event === 'change_external_contact' && fields.ChangeType && HANDLED_CHANGE_TYPES.has(fields.ChangeType)) {
    const result = externalContactEventSchema.safeParse(fields);
    if (!result.success) throw new CallbackFormatError(`invalid ${fields.ChangeType} event: ${issuesOf(result.error)}`);
    return { kind: 'external_contact', event: result.data };
  }
  if (event === 'change_external_tag') {
    const result = externalTagEventSchema.safeParse(fields);
    if (!result.success) throw new CallbackFormatError(`invalid change_external_tag event: ${issuesOf(result.error)}`);
    return { kind: 'external_tag', event: result.data };
  }
  if (event === 'change_contact') {
    const result = contactChangeEventSchema.safeParse(fields);
    if (result.success) return { kind: 'contact', event: result.data };
  }
  return { kind: 'unhandled', event: fields };
}

/**
 * The inbox's unique key. `FromUserName` is always `sys` for these events, so WeCom's documented
 * `FromUserName + CreateTime` would merge different customers' events of the same second; every field
 * that tells two events apart goes in.
 */
export function dedupeKeyOf(fields: Record<string, string>): string {
  // FromUserName and MsgId tell apart messages (not events) of the same second, e.g. two users' texts.
  const parts = ['Event', 'ChangeType', 'CreateTime', 'UserID', 'ExternalUserID', 'Id', 'ChatId', 'TagType', 'FailReason', 'StrategyId', 'Source', 'State', 'UpdateDetail', 'NewUserID', 'MsgType', 'FromUserName', 'MsgId'];
  // '%' is escaped before '|' so that distinct values can never produce the same key.
  return parts.map((name) => (fields[name] ?? '').replaceAll('%', '%25').replaceAll('|', '%7C')).join('|');
}
