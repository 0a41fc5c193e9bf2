// Parsing and validation of decrypted WeCom callbacks (server/wecom/callback-events.ts): every
// customer-contact sample of wecom-api.md §3, tag events, what is stored as unhandled, everything that
// must be refused as a CallbackFormatError (hostile XML included), and the inbox's dedupe key.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CallbackFormatError, dedupeKeyOf, envelopeSchema, parseEvent, parseXmlRecord, type ParsedEvent,
} from '../../server/wecom/callback-events.ts';

const HEADER = '<ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType>';
const xml = (body: string, header = HEADER): string => `<xml>${header}${body}</xml>`;
const parse = (source: string): ParsedEvent => parseEvent(parseXmlRecord(source));
const fieldsOf = (source: string): Record<string, string> => ({ ...parseXmlRecord(source) }) as Record<string, string>;

function formatError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CallbackFormatError);
    return (error as Error).message;
  }
  throw new Error('expected a CallbackFormatError, but parsing succeeded');
}

// The §3 samples, verbatim (indented as in the document).
const SAMPLES = {
  add_external_contact: `<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[sys]]></FromUserName>
  <CreateTime>1403610513</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[change_external_contact]]></Event>
  <ChangeType><![CDATA[add_external_contact]]></ChangeType>
  <UserID><![CDATA[zhangsan]]></UserID>
  <ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mAAAA]]></ExternalUserID>
  <State><![CDATA[teststate]]></State>
  <WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>
</xml>`,
  edit_external_contact: `<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[sys]]></FromUserName>
  <CreateTime>1403610513</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[change_external_contact]]></Event>
  <ChangeType><![CDATA[edit_external_contact]]></ChangeType>
  <UserID><![CDATA[zhangsan]]></UserID>
  <ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACH71w]]></ExternalUserID>
</xml>`,
  add_half_external_contact: `<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[sys]]></FromUserName>
  <CreateTime>1403610513</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[change_external_contact]]></Event>
  <ChangeType><![CDATA[add_half_external_contact]]></ChangeType>
  <UserID><![CDATA[zhangsan]]></UserID>
  <ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACH71w]]></ExternalUserID>
  <State><![CDATA[teststate]]></State>
  <WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>
</xml>`,
  del_external_contact: `<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[sys]]></FromUserName>
  <CreateTime>1403610513</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[change_external_contact]]></Event>
  <ChangeType><![CDATA[del_external_contact]]></ChangeType>
  <UserID><![CDATA[zhangsan]]></UserID>
  <ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACH71w]]></ExternalUserID>
  <Source><![CDATA[DELETE_BY_TRANSFER]]></Source>
</xml>`,
  del_follow_user: `<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[sys]]></FromUserName>
  <CreateTime>1403610513</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[change_external_contact]]></Event>
  <ChangeType><![CDATA[del_follow_user]]></ChangeType>
  <UserID><![CDATA[zhangsan]]></UserID>
  <ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACH71w]]></ExternalUserID>
</xml>`,
  transfer_fail: `<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[sys]]></FromUserName>
  <CreateTime>1403610513</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[change_external_contact]]></Event>
  <ChangeType><![CDATA[transfer_fail]]></ChangeType>
  <FailReason><![CDATA[customer_refused]]></FailReason>
  <UserID><![CDATA[zhangsan]]></UserID>
  <ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACH71w]]></ExternalUserID>
</xml>`,
  msg_audit_approved: `<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[sys]]></FromUserName>
  <CreateTime>1403610513</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[change_external_contact]]></Event>
  <ChangeType><![CDATA[msg_audit_approved]]></ChangeType>
  <UserID><![CDATA[zhangsan]]></UserID>
  <ExternalUserID><![CDATA[woAJ2GCAAABiuyujaWJHDDGi0mACHAAA]]></ExternalUserID>
  <WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>
</xml>`,
  tag_create: `<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[sys]]></FromUserName>
  <CreateTime>1403610513</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[change_external_tag]]></Event>
  <Id><![CDATA[TAG_ID]]></Id>
  <TagType><![CDATA[tag]]></TagType>
  <ChangeType><![CDATA[create]]></ChangeType>
</xml>`,
  tag_shuffle: `<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[sys]]></FromUserName>
  <CreateTime>1403610513</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[change_external_tag]]></Event>
  <Id><![CDATA[TAG_GROUP_ID]]></Id>
  <StrategyId>1</StrategyId>
  <ChangeType><![CDATA[shuffle]]></ChangeType>
</xml>`,
  external_chat: `<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[sys]]></FromUserName>
  <CreateTime>1403610513</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[change_external_chat]]></Event>
  <ChatId><![CDATA[CHAT_ID]]></ChatId>
  <ChangeType><![CDATA[update]]></ChangeType>
  <UpdateDetail><![CDATA[add_member]]></UpdateDetail>
  <JoinScene>1</JoinScene>
  <QuitScene>0</QuitScene>
  <MemChangeCnt>10</MemChangeCnt>
</xml>`,
};

const HEADER_FIELDS = { ToUserName: 'toUser', FromUserName: 'sys', CreateTime: '1403610513', MsgType: 'event' };

describe('change_external_contact: every ChangeType of §3', () => {
  it('add_external_contact (official sample) keeps State and WelcomeCode, ids as strings', () => {
    expect(parse(SAMPLES.add_external_contact)).toEqual({
      kind: 'external_contact',
      event: { ...HEADER_FIELDS, Event: 'change_external_contact', ChangeType: 'add_external_contact', UserID: 'zhangsan', ExternalUserID: 'woAJ2GCAAAXtWyujaWJHDDGi0mAAAA', State: 'teststate', WelcomeCode: 'WELCOMECODE' },
    });
  });

  it('add_half_external_contact is parsed like add_external_contact', () => {
    expect(parse(SAMPLES.add_half_external_contact)).toEqual({
      kind: 'external_contact',
      event: { ...HEADER_FIELDS, Event: 'change_external_contact', ChangeType: 'add_half_external_contact', UserID: 'zhangsan', ExternalUserID: 'woAJ2GCAAAXtWyujaWJHDDGi0mACH71w', State: 'teststate', WelcomeCode: 'WELCOMECODE' },
    });
  });

  it('add_external_contact without State and WelcomeCode (both often absent) is valid', () => {
    const source = SAMPLES.add_external_contact.replace(/\s*<State>.*<\/State>/, '').replace(/\s*<WelcomeCode>.*<\/WelcomeCode>/, '');
    const parsed = parse(source);
    expect(parsed.kind).toBe('external_contact');
    expect(parsed.event).not.toHaveProperty('State');
    expect(parsed.event).not.toHaveProperty('WelcomeCode');
  });

  it('edit_external_contact', () => {
    expect(parse(SAMPLES.edit_external_contact)).toEqual({
      kind: 'external_contact',
      event: { ...HEADER_FIELDS, Event: 'change_external_contact', ChangeType: 'edit_external_contact', UserID: 'zhangsan', ExternalUserID: 'woAJ2GCAAAXtWyujaWJHDDGi0mACH71w' },
    });
  });

  it('del_external_contact keeps Source=DELETE_BY_TRANSFER, and Source is optional', () => {
    expect(parse(SAMPLES.del_external_contact)).toEqual({
      kind: 'external_contact',
      event: { ...HEADER_FIELDS, Event: 'change_external_contact', ChangeType: 'del_external_contact', UserID: 'zhangsan', ExternalUserID: 'woAJ2GCAAAXtWyujaWJHDDGi0mACH71w', Source: 'DELETE_BY_TRANSFER' },
    });
    const withoutSource = parse(SAMPLES.del_external_contact.replace(/\s*<Source>.*<\/Source>/, ''));
    expect(withoutSource.kind).toBe('external_contact');
    expect(withoutSource.event).not.toHaveProperty('Source');
  });

  it('del_follow_user', () => {
    expect(parse(SAMPLES.del_follow_user)).toEqual({
      kind: 'external_contact',
      event: { ...HEADER_FIELDS, Event: 'change_external_contact', ChangeType: 'del_follow_user', UserID: 'zhangsan', ExternalUserID: 'woAJ2GCAAAXtWyujaWJHDDGi0mACH71w' },
    });
  });

  it('transfer_fail keeps FailReason (both documented values) and requires it', () => {
    expect(parse(SAMPLES.transfer_fail)).toEqual({
      kind: 'external_contact',
      event: { ...HEADER_FIELDS, Event: 'change_external_contact', ChangeType: 'transfer_fail', UserID: 'zhangsan', ExternalUserID: 'woAJ2GCAAAXtWyujaWJHDDGi0mACH71w', FailReason: 'customer_refused' },
    });
    const limit = parse(SAMPLES.transfer_fail.replace('customer_refused', 'customer_limit_exceed'));
    expect(limit.event).toMatchObject({ FailReason: 'customer_limit_exceed' });
    expect(formatError(() => parse(SAMPLES.transfer_fail.replace(/\s*<FailReason>.*<\/FailReason>/, '')))).toContain('FailReason');
  });

  it('msg_audit_approved is well-formed but not acted on: unhandled, with its fields kept', () => {
    expect(parse(SAMPLES.msg_audit_approved)).toEqual({
      kind: 'unhandled',
      event: { ...HEADER_FIELDS, Event: 'change_external_contact', ChangeType: 'msg_audit_approved', UserID: 'zhangsan', ExternalUserID: 'woAJ2GCAAABiuyujaWJHDDGi0mACHAAA', WelcomeCode: 'WELCOMECODE' },
    });
  });

  it('the same event with elements in another order, on one line, or without CDATA parses the same', () => {
    const compact = xml('<ExternalUserID>woAJ2GCAAAXtWyujaWJHDDGi0mACH71w</ExternalUserID><UserID>zhangsan</UserID><ChangeType>edit_external_contact</ChangeType><Event>change_external_contact</Event>');
    expect(parse(compact)).toEqual(parse(SAMPLES.edit_external_contact));
    expect(parse(`<?xml version="1.0" encoding="UTF-8"?>\n${SAMPLES.del_follow_user}`)).toEqual(parse(SAMPLES.del_follow_user));
  });

  it('unknown extra fields do not break a known event (and are not passed on)', () => {
    const source = SAMPLES.edit_external_contact.replace('</xml>', '<NewField><![CDATA[x]]></NewField></xml>');
    const parsed = parse(source);
    expect(parsed.kind).toBe('external_contact');
    expect(parsed.event).not.toHaveProperty('NewField');
  });
});

describe('change_external_tag', () => {
  it('create, update and delete of a tag or a tag group', () => {
    for (const changeType of ['create', 'update', 'delete'] as const) {
      for (const tagType of ['tag', 'tag_group'] as const) {
        const source = SAMPLES.tag_create.replace('[create]', `[${changeType}]`).replace('[tag]', `[${tagType}]`);
        expect(parse(source)).toEqual({
          kind: 'external_tag',
          event: { ...HEADER_FIELDS, Event: 'change_external_tag', ChangeType: changeType, Id: 'TAG_ID', TagType: tagType },
        });
      }
    }
  });

  it('StrategyId is optional on create/update/delete and kept as a string', () => {
    const withStrategy = parse(SAMPLES.tag_create.replace('</xml>', '<StrategyId>12</StrategyId></xml>'));
    expect(withStrategy).toMatchObject({ kind: 'external_tag', event: { ChangeType: 'create', Id: 'TAG_ID', TagType: 'tag', StrategyId: '12' } });
    const without = parse(SAMPLES.tag_create);
    expect(without.event).not.toHaveProperty('StrategyId');
  });

  it('shuffle (official sample) carries Id and StrategyId and needs no TagType', () => {
    expect(parse(SAMPLES.tag_shuffle)).toEqual({
      kind: 'external_tag',
      event: { ...HEADER_FIELDS, Event: 'change_external_tag', ChangeType: 'shuffle', Id: 'TAG_GROUP_ID', StrategyId: '1' },
    });
    const corpShuffle = parse(SAMPLES.tag_shuffle.replace(/\s*<StrategyId>.*<\/StrategyId>/, ''));
    expect(corpShuffle).toMatchObject({ kind: 'external_tag', event: { ChangeType: 'shuffle', Id: 'TAG_GROUP_ID' } });
    expect(corpShuffle.event).not.toHaveProperty('StrategyId');
  });

  it('create/update/delete without Id or TagType, an unknown TagType, or a non-numeric StrategyId are refused', () => {
    expect(formatError(() => parse(SAMPLES.tag_create.replace(/\s*<Id>.*<\/Id>/, '')))).toContain('Id and TagType');
    expect(formatError(() => parse(SAMPLES.tag_create.replace(/\s*<TagType>.*<\/TagType>/, '')))).toContain('Id and TagType');
    expect(formatError(() => parse(SAMPLES.tag_create.replace('[tag]', '[label]')))).toContain('TagType');
    expect(formatError(() => parse(SAMPLES.tag_shuffle.replace('<StrategyId>1</StrategyId>', '<StrategyId>one</StrategyId>')))).toContain('StrategyId');
  });
});

describe('what is stored as unhandled', () => {
  it('event types this product does not act on', () => {
    const cases = [
      SAMPLES.external_chat,
      xml('<Event><![CDATA[some_future_event]]></Event><Foo>bar</Foo>'),
      xml('<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[some_future_change]]></ChangeType><UserID>u</UserID>'),
      xml('<Event><![CDATA[change_external_contact]]></Event>'), // no ChangeType at all
      xml('<Event><![CDATA[change_contact]]></Event><ChangeType><![CDATA[some_future_change]]></ChangeType>'),
    ];
    for (const source of cases) {
      const parsed = parse(source);
      expect(parsed.kind).toBe('unhandled');
      expect(parsed.event).toEqual(fieldsOf(source));
    }
  });

  it('a message that is not an event (the official A2 text message) is unhandled, not a format error', () => {
    const a2 = '<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>';
    expect(parse(a2)).toEqual({
      kind: 'unhandled',
      event: { ToUserName: 'wx5823bf96d3bd56c7', FromUserName: 'mycreate', CreateTime: '1409659813', MsgType: 'text', Content: 'hello', MsgId: '4561255354251345929', AgentID: '218' },
    });
    // B2, without CDATA and with non-ASCII content.
    const b2 = '<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName><CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content><MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>';
    expect(parse(b2)).toMatchObject({ kind: 'unhandled', event: { Content: '你好', MsgId: '1456453720' } });
  });

  it('change_contact events with a known ChangeType are parsed for the organization sync', () => {
    expect(parse(xml('<Event><![CDATA[change_contact]]></Event><ChangeType><![CDATA[update_user]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID>'))).toMatchObject({
      kind: 'contact', event: { ChangeType: 'update_user', UserID: 'zhangsan' },
    });
  });
});

describe('malformed and hostile XML is a CallbackFormatError', () => {
  it('not XML, unclosed or mismatched tags, several roots, trailing text, a root other than <xml>, an empty root', () => {
    const cases = [
      '', 'xml', 'hello world', '{"ToUserName":"toUser"}',
      '<xml><ToUserName>toUser</ToUserName>',
      '<xml><ToUserName>toUser</FromUserName></xml>',
      '<xml><a>1</a></xml><xml><a>2</a></xml>',
      '<xml><a>1</a></xml>trailing',
      '<root><ToUserName>toUser</ToUserName></root>',
      '<xml></xml>', '<xml/>', '<xml>text only</xml>',
      '<xml><a><![CDATA[unterminated</a></xml>',
      '<xml><a b="1></a></xml>',
    ];
    for (const source of cases) formatError(() => parseXmlRecord(source));
  });

  it('DOCTYPE and ENTITY declarations (XXE, billion laughs) are refused before parsing', () => {
    const xxe = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><ToUserName>&xxe;</ToUserName></xml>';
    const lol = ['<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'];
    for (let i = 1; i <= 9; i++) lol.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
    const billionLaughs = `${lol.join('')}]><xml><ToUserName>&lol9;</ToUserName></xml>`;
    const parameterEntity = '<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://127.0.0.1:1/x.dtd"> %remote;]><xml><a>1</a></xml>';
    const lowerCase = '<!doctype xml><xml><a>1</a></xml>';
    const entityOnly = '<xml><a>1</a></xml><!ENTITY x "y">';
    for (const source of [xxe, billionLaughs, parameterEntity, lowerCase, entityOnly]) {
      expect(formatError(() => parseXmlRecord(source))).toMatch(/DOCTYPE|ENTITY/);
    }
  });

  it('undeclared entity references stay literal text (entities are never expanded)', () => {
    expect(parseXmlRecord('<xml><a>&xxe;</a><b>&lt;b&gt;</b></xml>')).toEqual({ a: '&xxe;', b: '&lt;b&gt;' });
  });

  it('__proto__, constructor and prototype tags are refused and pollute nothing', () => {
    const cases = [
      '<xml><__proto__><polluted>yes</polluted></__proto__></xml>',
      '<xml><__proto__>yes</__proto__></xml>',
      '<xml><a><__proto__><polluted>yes</polluted></__proto__></a></xml>',
      '<xml><constructor><prototype><polluted>yes</polluted></prototype></constructor></xml>',
    ];
    for (const source of cases) formatError(() => parse(source));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('the parsed record has no prototype, so a tag named like an Object method cannot shadow one', () => {
    const record = parseXmlRecord('<xml><hasOwnProperty>x</hasOwnProperty><a>1</a></xml>');
    expect(Object.getPrototypeOf(record)).toBeNull();
    expect(Object.values(record)).toContain('x');
  });

  it('deep nesting is refused without exhausting the stack, at any depth', () => {
    for (const depth of [10, 100, 1_000, 100_000]) {
      const source = `<xml>${'<a>'.repeat(depth)}x${'</a>'.repeat(depth)}</xml>`;
      formatError(() => parseXmlRecord(source));
    }
    formatError(() => parseXmlRecord(`<xml>${'<a>'.repeat(200_000)}</xml>`));
  });

  it('a nested element where text is expected is refused, even inside an unhandled event', () => {
    formatError(() => parse(xml('<Event>change_external_contact</Event><ChangeType>edit_external_contact</ChangeType><UserID><id>zhangsan</id></UserID><ExternalUserID>wm1</ExternalUserID>')));
    formatError(() => parse(xml('<Event>some_future_event</Event><Detail><a>1</a></Detail>')));
  });
});

describe('missing fields and wrong types are a CallbackFormatError', () => {
  const edit = SAMPLES.edit_external_contact;
  it('a missing header field', () => {
    for (const name of ['ToUserName', 'FromUserName', 'CreateTime', 'MsgType']) {
      const source = edit.replace(new RegExp(`\\s*<${name}>.*</${name}>`), '');
      expect(formatError(() => parse(source))).toContain(name);
    }
    expect(formatError(() => parse(edit.replace(/\s*<Event>.*<\/Event>/, '')))).toContain('Event');
  });

  it('a missing or empty id of a known change', () => {
    for (const [sample, name] of [[edit, 'UserID'], [edit, 'ExternalUserID'], [SAMPLES.add_external_contact, 'ExternalUserID'], [SAMPLES.del_follow_user, 'UserID']] as const) {
      expect(formatError(() => parse(sample.replace(new RegExp(`\\s*<${name}>.*</${name}>`), '')))).toContain(name);
      expect(formatError(() => parse(sample.replace(new RegExp(`<${name}>.*</${name}>`), `<${name}></${name}>`)))).toContain(name);
      expect(formatError(() => parse(sample.replace(new RegExp(`<${name}>.*</${name}>`), `<${name}/>`)))).toContain(name);
    }
  });

  it('wrong types: a CreateTime that is not unix seconds, a repeated field, an over-long id, a MsgType that is not text', () => {
    for (const createTime of ['abc', '-1', '1.5', '', '1403610513000000']) {
      expect(formatError(() => parse(edit.replace('<CreateTime>1403610513</CreateTime>', `<CreateTime>${createTime}</CreateTime>`)))).toContain('CreateTime');
    }
    formatError(() => parse(edit.replace('</xml>', '<UserID><![CDATA[lisi]]></UserID></xml>')));
    expect(formatError(() => parse(edit.replace('zhangsan', 'z'.repeat(300))))).toContain('UserID');
    formatError(() => parse(edit.replace('<MsgType><![CDATA[event]]></MsgType>', '<MsgType><a>event</a></MsgType>')));
  });

  it('the envelope needs ToUserName and Encrypt; AgentID is optional', () => {
    const envelope = (body: string) => envelopeSchema.safeParse(parseXmlRecord(`<xml>${body}</xml>`));
    expect(envelope('<ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[abc=]]></Encrypt>').success).toBe(true);
    expect(envelope('<ToUserName>c</ToUserName><AgentID><![CDATA[218]]></AgentID><Encrypt>abc=</Encrypt>').success).toBe(true);
    expect(envelope('<ToUserName>c</ToUserName>').success).toBe(false);
    expect(envelope('<Encrypt>abc=</Encrypt>').success).toBe(false);
    expect(envelope('<ToUserName>c</ToUserName><Encrypt></Encrypt>').success).toBe(false);
    expect(envelope('<ToUserName>c</ToUserName><Encrypt><x>abc</x></Encrypt>').success).toBe(false);
  });
});

describe('dedupe key', () => {
  const addEvent = (externalUserId: string, createTime = '1403610513') =>
    fieldsOf(SAMPLES.add_external_contact.replace('woAJ2GCAAAXtWyujaWJHDDGi0mAAAA', externalUserId).replace('1403610513', createTime));

  it('two events differing only in ExternalUserID (same CreateTime, FromUserName sys) get different keys', () => {
    const first = addEvent('wmCustomerAAAAAAAAAAAAAAAAAAAAAA');
    const second = addEvent('wmCustomerBBBBBBBBBBBBBBBBBBBBBB');
    expect(first.FromUserName).toBe('sys');
    expect(first.CreateTime).toBe(second.CreateTime);
    expect(dedupeKeyOf(first)).not.toBe(dedupeKeyOf(second));
  });

  it('events differing in any one identifying field get different keys', () => {
    const base = fieldsOf(SAMPLES.transfer_fail);
    const variants: Record<string, string>[] = [
      { ...base, ChangeType: 'del_follow_user' },
      { ...base, UserID: 'lisi' },
      { ...base, CreateTime: '1403610514' },
      { ...base, FailReason: 'customer_limit_exceed' },
      { ...fieldsOf(SAMPLES.tag_create) },
      { ...fieldsOf(SAMPLES.tag_create), Id: 'OTHER_TAG' },
      { ...fieldsOf(SAMPLES.tag_create), TagType: 'tag_group' },
      { ...fieldsOf(SAMPLES.tag_shuffle), StrategyId: '2' },
      { ...fieldsOf(SAMPLES.tag_shuffle) },
      { ...fieldsOf(SAMPLES.external_chat), UpdateDetail: 'del_member' },
      { ...fieldsOf(SAMPLES.external_chat) },
    ];
    const keys = new Set([dedupeKeyOf(base), ...variants.map(dedupeKeyOf)]);
    expect(keys.size).toBe(variants.length + 1);
  });

  it('two users\' text messages of the same second are not merged (FromUserName, MsgId)', () => {
    const text = (from: string, msgId: string) => ({ ToUserName: 'wx5823bf96d3bd56c7', FromUserName: from, CreateTime: '1409659813', MsgType: 'text', Content: 'hello', MsgId: msgId });
    expect(dedupeKeyOf(text('mycreate', '1'))).not.toBe(dedupeKeyOf(text('other', '2')));
    expect(dedupeKeyOf(text('mycreate', '1'))).not.toBe(dedupeKeyOf(text('mycreate', '2')));
  });

  it('a retried identical event gets the same key, however its XML is laid out', () => {
    const original = addEvent('wmCustomerAAAAAAAAAAAAAAAAAAAAAA');
    const retried = addEvent('wmCustomerAAAAAAAAAAAAAAAAAAAAAA');
    expect(dedupeKeyOf(retried)).toBe(dedupeKeyOf(original));
    const oneLine = fieldsOf(SAMPLES.add_external_contact.replace(/\n\s*/g, ''));
    expect(dedupeKeyOf(oneLine)).toBe(dedupeKeyOf(fieldsOf(SAMPLES.add_external_contact)));
  });

  it('is injective over its fields: values containing the separator or the escape cannot collide', () => {
    expect(dedupeKeyOf({ ...addEvent('a'), State: 'x|y' })).not.toBe(dedupeKeyOf({ ...addEvent('a'), State: 'x%7Cy' }));
    expect(dedupeKeyOf({ ...addEvent('a|'), State: 'b' })).not.toBe(dedupeKeyOf({ ...addEvent('a'), State: '|b' }));
    const value = fc.stringMatching(/^[a|%7C]{0,6}$/);
    const record = fc.record({ UserID: value, ExternalUserID: value, State: value, Id: value });
    fc.assert(fc.property(record, record, (a, b) => {
      const same = a.UserID === b.UserID && a.ExternalUserID === b.ExternalUserID && a.State === b.State && a.Id === b.Id;
      return (dedupeKeyOf({ ...HEADER_FIELDS, ...a }) === dedupeKeyOf({ ...HEADER_FIELDS, ...b })) === same;
    }), { numRuns: 2_000 });
  });
});
