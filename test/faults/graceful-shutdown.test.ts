// SIGTERM while work is in flight: a worker stops taking jobs, finishes the ones it holds and exits 0
// (nothing is left for stall recovery, so nothing runs twice); the server stops accepting connections,
// answers the callbacks it is in the middle of, and exits 0. Work is held in flight by a PostgreSQL
// table lock taken from outside, so the signal always arrives mid-work, whatever the machine's speed.
import { createConnection } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../support/test-product.ts';
import { deliveryRecords, printTally, settled, streamAdds, tally } from './support/event-stream.ts';
import { startFaultRig, waitForInitialSync, type FaultRig, type ProductProcess } from './support/fault-rig.ts';

let rig: FaultRig;
let server: ProductProcess;
let worker: ProductProcess;

beforeAll(async () => {
  // A long delivery deadline: the callbacks held in the server must not be re-sent by the simulator
  // while the test holds them (that would test WeCom's retries, not the drain).
  rig = await startFaultRig({ simulator: { callbackTimeoutMs: 60_000 } });
  server = await rig.startServer();
  worker = await rig.startWorker();
  await waitForInitialSync(rig);
});
afterAll(async () => {
  await rig?.stop();
});

async function lockWaiters(): Promise<number> {
  const { rows } = await rig.pool.query<{ n: string }>(`select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`);
  return Number(rows[0]!.n);
}

async function holdTable(table: string): Promise<pg.Client> {
  const locker = new pg.Client({ connectionString: rig.databaseUrl });
  await locker.connect();
  await locker.query('begin');
  locker.on('error', () => undefined); // PostgreSQL stopping at the end of the file
  await locker.query(`lock table ${table} in exclusive mode`);
  return locker;
}

/** A new TCP connection each time (a kept-alive one would still be served during the drain). */
const portOpen = (url: string): Promise<boolean> => new Promise((resolve) => {
  const socket = createConnection({ host: '127.0.0.1', port: Number(new URL(url).port) });
  socket.once('connect', () => { socket.destroy(); resolve(true); });
  socket.once('error', () => resolve(false));
});

it('a worker drains: the jobs it holds finish once, the rest wait for the next worker', async () => {
  // Worker transactions write customers; the callback path does not, so callbacks still commit.
  const locker = await holdTable('customers');
  const prefix = 'wmdrain';
  const { sent } = await streamAdds(rig, { prefix, count: 60, perSecond: 30 });
  await waitFor(async () => (await lockWaiters()) > 0, 'event jobs to wait inside their transactions');
  const held = await waitFor(async () => {
    const jobs = await rig.events.getActive();
    return jobs.length > 0 ? jobs : undefined;
  }, 'active event jobs');
  const heldIds = held.map((job) => Number((job.data as { inboxId: number }).inboxId));

  worker.child.kill('SIGTERM');
  // Draining: it waits for its active jobs, which wait for the lock.
  await waitFor(async () => worker.output().includes('draining workers'), 'the worker to start draining');
  expect(worker.child.exitCode).toBeNull();
  await locker.query('commit');
  await locker.end();
  expect((await worker.exited).code).toBe(0);

  // The held jobs completed in the draining worker, once; no job was left active to be run again.
  const { rows } = await rig.pool.query<{ status: string; attempts: number }>('select status, attempts from inbox_events where id = any($1)', [heldIds]);
  expect(rows).toHaveLength(heldIds.length);
  expect(rows.every((r) => r.status === 'done' && r.attempts === 1)).toBe(true);
  expect(await rig.events.getActiveCount()).toBe(0);

  await rig.startWorker();
  await waitFor(() => settled(rig, prefix, sent), 'the remaining events to be processed by the next worker', 120_000);
  const result = await tally(rig, prefix, sent);
  printTally(`worker SIGTERM (${heldIds.length} jobs in flight drained)`, result);
  expect(result).toMatchObject({ sent: 60, answered: 60, processed: 60, lost: 0, duplicates: 0, retried: 0 });
});

it('the server finishes the callbacks in flight, refuses new connections, and exits 0', async () => {
  // Callback commits wait behind this lock: the deliveries are in flight inside the server.
  const locker = await holdTable('inbox_events');
  const prefix = 'wmsigterm';
  const { sent } = await streamAdds(rig, { prefix, count: 20, perSecond: 40 });
  await waitFor(async () => (await deliveryRecords(rig, prefix)).length === sent.length && (await lockWaiters()) > 0, 'callbacks to be in flight in the server');

  server.child.kill('SIGTERM');
  await waitFor(async () => !(await portOpen(rig.url)), 'the server to stop accepting connections');
  expect(server.child.exitCode).toBeNull(); // still finishing what it holds
  await locker.query('commit');
  await locker.end();
  expect((await server.exited).code).toBe(0);

  // Every delivery held during the shutdown was answered 200 on its first attempt.
  const records = await waitFor(async () => {
    const current = await deliveryRecords(rig, prefix);
    return current.every((r) => r.finished) ? current : undefined;
  }, 'the simulator to record the answers');
  expect(records.map((r) => r.attempts), JSON.stringify(records.map((r) => r.attempts))).toSatisfy(() => records.every((r) => r.delivered && r.attempts.length === 1 && r.attempts[0]!.status === 200));
  await waitFor(() => settled(rig, prefix, sent), 'the events to be processed', 120_000);
  const result = await tally(rig, prefix, sent);
  printTally('server SIGTERM with callbacks in flight', result);
  expect(result).toMatchObject({ sent: 20, answered: 20, processed: 20, lost: 0, duplicates: 0 });
});
