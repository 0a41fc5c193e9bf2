import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { customerFilterSchema } from '../services/customer-filter.ts';
import { decideExport, exportFile, listExports, readExport, requestExport } from '../services/exports.service.ts';

export const exportBody = z.object({ format: z.enum(['csv', 'xlsx']), filter: customerFilterSchema.default(customerFilterSchema.parse({})) }).strict();
export const exportId = z.string().min(1).max(128);
export const stateQuery = z.object({ state: z.enum(['awaiting_approval', 'queued', 'running', 'completed', 'failed', 'rejected']).optional() }).strict();
export const decisionBody = z.object({ reason: z.string().max(500).optional() }).strict();

/** Customer exports: members with `export` scope request; only the requester reads and downloads; admins approve. */
export function exportsRouter(ctx: AppContext): Router {
  const router = Router();
  router.post('/api/exports', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const body = exportBody.parse(req.body);
    res.status(202).json(await requestExport(ctx, currentSession(res).userid, body));
  });
  router.get('/api/exports', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    res.json({ items: await listExports(ctx, currentSession(res).userid, { all: false, ...stateQuery.parse(req.query) }) });
  });
  router.get('/api/exports/:id', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    res.json(await readExport(ctx, currentSession(res).userid, exportId.parse(req.params.id)));
  });
  router.get('/api/exports/:id/download', requirePermission(ctx, 'member'), async (req: Request, res: Response) => {
    const file = await exportFile(ctx, currentSession(res).userid, exportId.parse(req.params.id));
    res.setHeader('content-type', file.contentType);
    res.setHeader('content-disposition', `attachment; filename="${file.filename}"`);
    res.setHeader('cache-control', 'no-store');
    await pipeline(createReadStream(file.path), res);
  });
  router.get('/api/admin/exports', requirePermission(ctx, 'admin'), async (req: Request, res: Response) => {
    res.json({ items: await listExports(ctx, currentSession(res).userid, { all: true, ...stateQuery.parse(req.query) }) });
  });
  router.post('/api/admin/exports/:id/approve', requirePermission(ctx, 'admin'), async (req: Request, res: Response) => {
    decisionBody.parse(req.body ?? {});
    res.json(await decideExport(ctx, currentSession(res).userid, exportId.parse(req.params.id), 'approve'));
  });
  router.post('/api/admin/exports/:id/reject', requirePermission(ctx, 'admin'), async (req: Request, res: Response) => {
    const body = decisionBody.parse(req.body ?? {});
    res.json(await decideExport(ctx, currentSession(res).userid, exportId.parse(req.params.id), 'reject', body.reason));
  });
  return router;
}
