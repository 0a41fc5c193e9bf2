// A steady stream of customer adds in the simulator (each one an `add_external_contact` callback to the
// product), and the tally every fault test prints and asserts: events sent, answered, processed,
// duplicates, lost.
import type { FaultRig } from './fault-rig.ts';
import { MEMBERS } from './fault-rig.ts';

export interface StreamOptions {
  /** External user ids are `<prefix><n>`; one customer per event, so each event is countable on its own. */
  prefix: string;
  count: number;
  perSecond: number;
  /** Called when the stream reaches second `at` (the fault is injected there). */
  at?: { second: number; run: () => Promise<void> }[];
}

export interface StreamResult {
  /** External user ids whose add the simulator accepted (each produced one callback). */
  sent: string[];
  /** Adds the simulator refused (none expected: the simulator is not the part under fault). */
  refused: number;
}

/**
 * Adds `count` customers at `perSecond`, spread over the members. The pacing is the input's shape,
 * not a wait for a result: what the product did is read afterwards from the database and from the
 * simulator's delivery records.
 */
export async function streamAdds(rig: FaultRig, options: StreamOptions): Promise<StreamResult> {
  const started = Date.now();
  const sent: string[] = [];
  let refused = 0;
  const pendingFaults = [...(options.at ?? [])].sort((a, b) => a.second - b.second);
  const faultRuns: Promise<void>[] = [];
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < options.count; i++) {
    const dueAt = started + (i * 1000) / options.perSecond;
    const delay = dueAt - Date.now();
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const elapsed = (Date.now() - started) / 1000;
    while (pendingFaults[0] && pendingFaults[0].second <= elapsed) faultRuns.push(pendingFaults.shift()!.run());
    const externalUserId = `${options.prefix}${String(i).padStart(6, '0')}`;
    const add = rig.simCall('POST', '/sim/customers/add', { userid: MEMBERS[i % MEMBERS.length], external_userid: externalUserId, name: `故障客户${i}` })
      .then(() => { sent.push(externalUserId); }, () => { refused++; });
    inFlight.add(add);
    void add.finally(() => inFlight.delete(add));
  }
  await Promise.all(inFlight);
  for (const fault of pendingFaults) faultRuns.push(fault.run());
  await Promise.all(faultRuns);
  return { sent, refused };
}

interface DeliveryRecord {
  event: { ExternalUserID?: string; ChangeType?: string };
  attempts: { status?: number; error?: string; ms: number }[];
  delivered: boolean;
  finished: boolean;
}

export interface Tally {
  sent: number;
  /** Events the product answered 200 (on some delivery attempt). */
  answered: number;
  /** Delivery attempts by outcome: HTTP status, or the simulator's error (timeout, refused). */
  attempts: Record<string, number>;
  /** Events whose inbox row is done. */
  processed: number;
  /** Events parked as failed (visible to admins; not lost). */
  parked: number;
  /** Inbox rows beyond one per event, plus owner changes beyond the one first add per customer. */
  duplicates: number;
  /** Sent events neither processed nor parked. */
  lost: number;
  /** Events whose job ran more than once (retried after a fault) and still applied once. */
  retried: number;
}

export async function deliveryRecords(rig: FaultRig, prefix: string): Promise<DeliveryRecord[]> {
  const { callbacks } = await rig.simCall<{ callbacks: DeliveryRecord[] }>('GET', '/sim/callbacks?change_type=add_external_contact');
  return callbacks.filter((r) => r.event.ExternalUserID?.startsWith(prefix));
}

export async function tally(rig: FaultRig, prefix: string, sent: string[]): Promise<Tally> {
  const records = await deliveryRecords(rig, prefix);
  const attempts: Record<string, number> = {};
  for (const record of records) {
    for (const a of record.attempts) {
      const key = a.status !== undefined ? String(a.status) : (a.error ?? 'unknown');
      attempts[key] = (attempts[key] ?? 0) + 1;
    }
  }
  const like = `${prefix}%`;
  const rows = (await rig.pool.query<{ customer: string; status: string; attempts: number }>(
    `select payload->>'ExternalUserID' as customer, status, attempts from inbox_events where payload->>'ExternalUserID' like $1`, [like])).rows;
  const perCustomer = new Map<string, string[]>();
  for (const row of rows) perCustomer.set(row.customer, [...(perCustomer.get(row.customer) ?? []), row.status]);
  const extraOwnerChanges = Number((await rig.pool.query<{ n: string }>(
    `select coalesce(sum(n - 1), 0) as n from (select count(*) as n from owner_history where external_userid like $1 group by external_userid) per_customer`, [like])).rows[0]!.n);
  const processed = sent.filter((id) => perCustomer.get(id)?.includes('done')).length;
  const parked = sent.filter((id) => !perCustomer.get(id)?.includes('done') && perCustomer.get(id)?.includes('failed')).length;
  return {
    sent: sent.length,
    answered: records.filter((r) => r.delivered).length,
    attempts,
    processed,
    parked,
    duplicates: rows.length - perCustomer.size + extraOwnerChanges,
    lost: sent.length - processed - parked,
    retried: rows.filter((r) => r.attempts > 1).length,
  };
}

/** Every event's inbox row settled (done, ignored or failed), and the simulator finished delivering. */
export async function settled(rig: FaultRig, prefix: string, sent: string[]): Promise<boolean> {
  try {
    return await settledNow(rig, prefix, sent);
  } catch {
    return false; // the database is still coming back
  }
}

async function settledNow(rig: FaultRig, prefix: string, sent: string[]): Promise<boolean> {
  const records = await deliveryRecords(rig, prefix);
  if (records.length < sent.length || records.some((r) => !r.finished)) return false;
  const { rows } = await rig.pool.query<{ n: string }>(
    `select count(distinct payload->>'ExternalUserID') as n from inbox_events where payload->>'ExternalUserID' like $1 and status <> 'pending'`, [`${prefix}%`]);
  return Number(rows[0]!.n) >= sent.length;
}

export function printTally(name: string, t: Tally): void {
  console.log(`FAULT ${name}: events sent ${t.sent}, answered ${t.answered}, processed ${t.processed}${t.parked ? `, parked ${t.parked}` : ''}, duplicates ${t.duplicates}, lost ${t.lost}` +
    ` (delivery attempts ${JSON.stringify(t.attempts)}, events retried ${t.retried})`);
  console.log(`FAULT ${JSON.stringify({ name, ...t })}`);
}
