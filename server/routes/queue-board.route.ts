import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router } from 'express';
import type { AppContext } from '../context.ts';
import { requirePermission } from '../http/guard.ts';
import type { QueueName } from '../../jobs/queues.ts';

export const QUEUE_BOARD_PATH = '/admin/queues';

/**
 * Bull Board (the queues, their jobs and Redis) under /admin/queues, for admins only. Read-only:
 * retrying, promoting or deleting jobs by hand would skip the audit log, and failed callback events
 * already have their audited retry (POST /api/admin/events/:id/retry).
 */
export function queueBoardRouter(ctx: AppContext): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUE_BOARD_PATH);
  const names: QueueName[] = ['events', 'sync', 'writes', 'welcome', 'maintenance', 'assignment', 'transfers', 'pool', 'exports'];
  createBullBoard({
    queues: names.map((name) => new BullMQAdapter(ctx.queues[name], { readOnlyMode: true })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'WeCom tag guard queues' } },
  });
  const router = Router();
  router.use(QUEUE_BOARD_PATH, requirePermission(ctx, 'admin'), serverAdapter.getRouter());
  return router;
}
