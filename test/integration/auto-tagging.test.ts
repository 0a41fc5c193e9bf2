import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, customers, followRelations, inboxEvents, outgoingWrites, relationTags } from '../../server/db/schema.ts';
import { eventJobId } from '../../jobs/queues.ts';
import { contactWaysCompany, inboxSettled, restrictTag, syncAll, tagIdsOf } from '../support/contact-ways-company.ts';
import { startTestProduct, waitFor, type ApiClient, type DatabaseKind, type TestProduct } from '../support/test-product.ts';

interface SimCall { path: string; body: Record<string, any>; errcode: number }
interface SimFollow { userid: string; remark: string; description: string; tags: { tag_id?: string }[]; half: boolean }

describe.each<DatabaseKind>(['pglite', 'postgres'])('auto-tagging when a customer adds a member through a contact way (%s)', (kind) => {
  let t: TestProduct;
  let admin: ApiClient;
  let tagIds: Record<string, string>;
  let db: TestProduct['product']['ctx']['db'];

  const createWay = async (body: Record<string, unknown>) => {
    const created = await admin.post('/api/admin/contact-ways', body);
    expect(created.status).toBe(201);
    return created.body as { contactWay: { configId: string; state: string }; warnings: { code: string; tagId: string }[] };
  };
  const add = (body: Record<string, unknown>) => t.simCall<{ external_userid: string; welcome_code?: string }>('POST', '/sim/customers/add', body);
  const simFollow = async (externalUserId: string, userid: string): Promise<SimFollow | undefined> =>
    (await t.simCall<{ follow_user: SimFollow[] }>('GET', `/sim/customers/${externalUserId}`)).follow_user.find((f) => f.userid === userid);
  const simTags = async (externalUserId: string, userid: string): Promise<string[]> =>
    ((await simFollow(externalUserId, userid))?.tags ?? []).flatMap((tag) => (tag.tag_id ? [tag.tag_id] : [])).sort();
  const localTags = async (externalUserId: string, userid: string): Promise<string[]> =>
    (await db.select({ tagId: relationTags.tagId }).from(relationTags).where(and(eq(relationTags.externalUserId, externalUserId), eq(relationTags.userid, userid)))).map((r) => r.tagId).sort();
  const calls = async (api: string): Promise<SimCall[]> => (await t.simCall<{ calls: SimCall[] }>('GET', `/sim/calls?path=/cgi-bin/externalcontact/${api}`)).calls;
  const callsFor = async (api: string, externalUserId: string): Promise<SimCall[]> => (await calls(api)).filter((c) => c.body.external_userid === externalUserId);
  const ownerOf = async (externalUserId: string) => (await db.select({ owner: customers.ownerUserid }).from(customers).where(eq(customers.externalUserId, externalUserId)))[0]?.owner;
  const auditsOf = async (externalUserId: string) =>
    db.select().from(auditLog).where(and(eq(auditLog.subjectType, 'customer'), eq(auditLog.subjectId, externalUserId), sql`${auditLog.action} like 'contact_way.%'`)).orderBy(asc(auditLog.id));
  const writesSettled = () => waitFor(async () => {
    const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(outgoingWrites).where(eq(outgoingWrites.state, 'queued'));
    return row!.n === 0;
  }, 'every queued WeCom write to finish');
  const settled = async () => {
    await inboxSettled(t);
    await writesSettled();
  };
  const sorted = (...ids: (string | undefined)[]) => ids.map((id) => id!).sort();

  beforeAll(async () => {
    t = await startTestProduct({ database: kind });
    db = t.product.ctx.db;
    tagIds = tagIdsOf(await t.sim.reset(contactWaysCompany()));
    admin = await t.as('zhuxiaoyan');
    await syncAll(admin);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('applies the tags in WeCom and locally, owner = adder, remark/description from templates, and sends the welcome message', async () => {
    await createWay({
      users: ['wangfang'], state: 'qr_adder',
      rules: {
        tagIds: [tagIds['客户等级/VIP'], tagIds['渠道/直播'], tagIds['华东专属/华东VIP']], owner: { mode: 'adder' },
        remarkTemplate: '{customer_name}-{state}', descriptionTemplate: '{member_name}于{date}经{state}添加',
        welcome: { text: '您好{customer_name}，我是{member_name}', attachments: [{ msgtype: 'link', link: { title: '会员权益', url: 'https://example.com/vip' } }] },
      },
    });
    const added = await add({ userid: 'wangfang', state: 'qr_adder', name: '扫码甲' });
    expect(added.welcome_code).toBeTruthy();
    const customer = added.external_userid;
    const wanted = sorted(tagIds['客户等级/VIP'], tagIds['渠道/直播'], tagIds['华东专属/华东VIP']);

    expect(await waitFor(async () => {
      const current = await simTags(customer, 'wangfang');
      return current.length === wanted.length ? current : undefined;
    }, 'the contact way\'s tags on the customer in WeCom', 5_000)).toEqual(wanted);
    await settled();
    expect(await localTags(customer, 'wangfang')).toEqual(wanted);
    expect(await ownerOf(customer)).toBe('wangfang');

    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
    expect(await simFollow(customer, 'wangfang')).toMatchObject({ remark: '扫码甲-qr_adder', description: `王芳于${today}经qr_adder添加` });
    const [relation] = await db.select().from(followRelations).where(and(eq(followRelations.externalUserId, customer), eq(followRelations.userid, 'wangfang')));
    expect(relation).toMatchObject({ remark: '扫码甲-qr_adder', description: `王芳于${today}经qr_adder添加`, state: 'qr_adder' });

    const welcome = (await calls('send_welcome_msg')).filter((c) => c.body.welcome_code === added.welcome_code);
    expect(welcome).toHaveLength(1);
    expect(welcome[0]).toMatchObject({ errcode: 0, body: { text: { content: '您好扫码甲，我是王芳' }, attachments: [{ msgtype: 'link' }] } });
    const messages = await t.simCall<{ messages: { body: { external_userid: string } }[] }>('GET', '/sim/messages?kind=welcome');
    expect(messages.messages.filter((m) => m.body.external_userid === customer)).toHaveLength(1);

    const actions = (await auditsOf(customer)).map((a) => `${a.action}:${a.outcome}`);
    expect(actions).toEqual([
      'contact_way.welcome:allowed', 'contact_way.tags_applied:allowed', 'contact_way.owner_assigned:done',
      'contact_way.remark_applied:allowed', 'contact_way.rules_applied:done',
    ]);
  });

  it('assigns owners round-robin over the active members of a department (sub-departments included)', async () => {
    // 华东大区 (2) holds wangfang and, through 上海门店 (4), zhaolei.
    await createWay({ users: ['lihua'], state: 'qr_rotate', rules: { tagIds: [tagIds['渠道/展会']], owner: { mode: 'round_robin', departmentId: 2 } } });
    const owners: (string | null | undefined)[] = [];
    for (const name of ['轮转一', '轮转二', '轮转三']) {
      const added = await add({ userid: 'lihua', state: 'qr_rotate', name, welcome_code: false });
      await settled();
      owners.push(await ownerOf(added.external_userid));
      expect(await simTags(added.external_userid, 'lihua')).toEqual([tagIds['渠道/展会']]);
    }
    expect(owners).toEqual(['wangfang', 'zhaolei', 'wangfang']);
  });

  it('assigns a fixed owner, but keeps the owner of a customer who already had one', async () => {
    await createWay({ users: ['lihua', 'chenjing'], state: 'qr_fixed', rules: { tagIds: [tagIds['客户等级/普通']], owner: { mode: 'fixed', userid: 'zhuxiaoyan' } } });
    const fresh = await add({ userid: 'chenjing', state: 'qr_fixed', name: '固定归属', welcome_code: false });
    await settled();
    expect(await ownerOf(fresh.external_userid)).toBe('zhuxiaoyan');

    // wmOwnedCustomer belongs to wangfang already; lihua adding it through the code does not change that.
    expect(await ownerOf('wmOwnedCustomer')).toBe('wangfang');
    await add({ userid: 'lihua', state: 'qr_fixed', external_userid: 'wmOwnedCustomer', welcome_code: false });
    await settled();
    expect(await ownerOf('wmOwnedCustomer')).toBe('wangfang');
    expect(await simTags('wmOwnedCustomer', 'lihua')).toEqual([tagIds['客户等级/普通']]);
    const kept = (await auditsOf('wmOwnedCustomer')).find((a) => a.action === 'contact_way.owner_kept');
    expect(kept?.details).toMatchObject({ owner: 'wangfang', mode: 'fixed' });
  });

  it('never applies a tag outside the adding member\'s use audience, and audits the refusal', async () => {
    // 门店 may be used only in 华南大区 (dept 3); wangfang is in 华东大区.
    await restrictTag(t, tagIds['渠道/门店']!, { see: [1], use: [3] });
    const way = await createWay({ users: ['wangfang'], state: 'qr_policy', rules: { tagIds: [tagIds['客户等级/VIP'], tagIds['渠道/门店']], owner: { mode: 'adder' } } });
    expect(way.warnings).toEqual([expect.objectContaining({ code: 'TAG_NOT_USABLE', tagId: tagIds['渠道/门店'] })]);

    const added = await add({ userid: 'wangfang', state: 'qr_policy', name: '策略客户', welcome_code: false });
    await settled();
    expect(await simTags(added.external_userid, 'wangfang')).toEqual([tagIds['客户等级/VIP']]);
    expect(await localTags(added.external_userid, 'wangfang')).toEqual([tagIds['客户等级/VIP']]);
    const marks = await callsFor('mark_tag', added.external_userid);
    expect(marks).toHaveLength(1);
    expect(marks[0]!.body.add_tag).toEqual([tagIds['客户等级/VIP']]);

    const refused = (await auditsOf(added.external_userid)).find((a) => a.action === 'contact_way.tags_refused');
    expect(refused).toMatchObject({ outcome: 'denied', actor: 'auto-tagging' });
    const [entry] = (refused!.details as { tags: { tagId: string; name: string; because: string[] }[] }).tags;
    expect(entry).toMatchObject({ tagId: tagIds['渠道/门店'], name: '门店' });
    expect(entry!.because.join(' ')).toContain('not use');
  });

  it('applies nothing for a state that names no contact way (the default owner still applies)', async () => {
    const before = { marks: (await calls('mark_tag')).length, remarks: (await calls('remark')).length, welcomes: (await calls('send_welcome_msg')).length };
    const added = await add({ userid: 'wangfang', state: 'nobody_knows_me', name: '无名渠道' });
    await settled();
    expect(await ownerOf(added.external_userid)).toBe('wangfang');
    expect(await simTags(added.external_userid, 'wangfang')).toEqual([]);
    expect({ marks: (await calls('mark_tag')).length, remarks: (await calls('remark')).length, welcomes: (await calls('send_welcome_msg')).length }).toEqual(before);
    expect(await auditsOf(added.external_userid)).toEqual([]);
  });

  it('tags on State alone: no WelcomeCode, no welcome message, tags still applied', async () => {
    await createWay({ users: ['zhaolei'], state: 'qr_nowelcome', rules: { tagIds: [tagIds['渠道/展会']], owner: { mode: 'adder' }, welcome: { text: '欢迎' } } });
    const welcomesBefore = (await calls('send_welcome_msg')).length;
    const added = await add({ userid: 'zhaolei', state: 'qr_nowelcome', welcome_code: false });
    expect(added.welcome_code).toBeUndefined();
    await settled();
    expect(await simTags(added.external_userid, 'zhaolei')).toEqual([tagIds['渠道/展会']]);
    expect((await calls('send_welcome_msg')).length).toBe(welcomesBefore);
    expect((await auditsOf(added.external_userid)).map((a) => a.action)).toContain('contact_way.welcome_skipped');
  });

  it('applies the rules once when the job is retried or run again', async () => {
    await createWay({ users: ['chenjing'], state: 'qr_retry', rules: { tagIds: [tagIds['客户等级/VIP']], owner: { mode: 'adder' }, remarkTemplate: '重试{customer_name}', welcome: { text: '你好' } } });
    // Attempt 1: externalcontact/get fails more often than the client retries by itself, before any
    // rule ran. Attempt 2: the database fails inside the inbox transaction, after the welcome message
    // was queued and in the middle of the rules (a real trigger; a sequence survives the rollback).
    // Attempt 3 succeeds.
    await t.simCall('POST', '/sim/faults', { path: '/cgi-bin/externalcontact/get', errcode: -1, count: 3 });
    await db.execute(sql.raw('create sequence test_fault_once'));
    await db.execute(sql.raw(`
      create function test_fault_mark_tag_once() returns trigger language plpgsql as $$
      begin
        if new.api = 'mark_tag' and new.requested_by = 'auto-tagging' and nextval('test_fault_once') = 1 then
          raise exception 'injected database failure';
        end if;
        return new;
      end $$`));
    await db.execute(sql.raw('create trigger test_fault_mark_tag_once before insert on outgoing_writes for each row execute function test_fault_mark_tag_once()'));
    const added = await add({ userid: 'chenjing', state: 'qr_retry', name: '重试客户' });
    await settled();
    for (const statement of ['drop trigger test_fault_mark_tag_once on outgoing_writes', 'drop function test_fault_mark_tag_once()', 'drop sequence test_fault_once']) await db.execute(sql.raw(statement));
    const [event] = await db.select().from(inboxEvents).where(sql`${inboxEvents.payload}->>'ExternalUserID' = ${added.external_userid}`);
    expect(event).toMatchObject({ status: 'done', attempts: 3 });

    // The same event's job queued again (as a sweeper or an operator would) changes nothing.
    const again = await t.product.ctx.queues.events.add('event', { inboxId: event!.id }, { jobId: `${eventJobId(event!.id)}-again` });
    await waitFor(async () => !(await t.product.ctx.queues.events.getJob(again.id!)), 'the repeated job to run');
    await settled();

    expect(await callsFor('mark_tag', added.external_userid)).toHaveLength(1);
    expect(await callsFor('remark', added.external_userid)).toHaveLength(1);
    expect((await calls('send_welcome_msg')).filter((c) => c.body.welcome_code === added.welcome_code)).toHaveLength(1);
    const actions = (await auditsOf(added.external_userid)).map((a) => a.action);
    expect(actions.filter((a) => a === 'contact_way.rules_applied')).toHaveLength(1);
    expect(actions.filter((a) => a === 'contact_way.welcome')).toHaveLength(1);
    expect(await simFollow(added.external_userid, 'chenjing')).toMatchObject({ remark: '重试重试客户' });
  });

  it('welcomes on a half add at once and tags when the member confirms, once', async () => {
    await createWay({ users: ['wangfang'], state: 'qr_half', rules: { tagIds: [tagIds['渠道/直播']], owner: { mode: 'adder' }, welcome: { text: '稍后确认' } } });
    const added = await add({ userid: 'wangfang', state: 'qr_half', half: true, name: '半关系' });
    await settled();
    expect((await calls('send_welcome_msg')).filter((c) => c.body.welcome_code === added.welcome_code)).toEqual([expect.objectContaining({ errcode: 0 })]);
    expect(await callsFor('mark_tag', added.external_userid)).toEqual([]);
    expect((await auditsOf(added.external_userid)).map((a) => a.action)).toContain('contact_way.rules_deferred');

    await t.simCall('POST', '/sim/customers/confirm', { userid: 'wangfang', external_userid: added.external_userid });
    await settled();
    expect(await simTags(added.external_userid, 'wangfang')).toEqual([tagIds['渠道/直播']]);
    expect(await callsFor('mark_tag', added.external_userid)).toHaveLength(1);
    expect(await ownerOf(added.external_userid)).toBe('wangfang');
    const actions = (await auditsOf(added.external_userid)).map((a) => a.action);
    expect(actions.filter((a) => a === 'contact_way.rules_applied')).toHaveLength(1);
    expect(actions.filter((a) => a === 'contact_way.welcome')).toHaveLength(1);
  });
});
