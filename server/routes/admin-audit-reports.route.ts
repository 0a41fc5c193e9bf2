import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { currentSession, requirePermission } from '../http/guard.ts';
import { generateAuditReport, listAuditReports, MONTH_PATTERN, readAuditReport } from '../services/audit-reports.service.ts';

export const monthSchema = z.string().regex(MONTH_PATTERN, 'a month such as 2026-10 (YYYY-MM, China time)');
export const generateBody = z.object({ month: monthSchema }).strict();

const view = (row: Awaited<ReturnType<typeof readAuditReport>>) => ({
  month: row.month, generatedAt: row.generatedAt.toISOString(), generatedBy: row.generatedBy, entries: row.entries,
  firstEntryId: row.firstEntryId, lastEntryId: row.lastEntryId, summary: row.summary,
});

/** Monthly audit reports for admins: list, read one, (re)generate a month now. */
export function adminAuditReportsRouter(ctx: AppContext): Router {
  const router = Router();
  const admin = requirePermission(ctx, 'admin');
  router.get('/api/admin/audit/reports', admin, async (_req: Request, res: Response) => {
    res.json({ reports: (await listAuditReports(ctx.db)).map((r) => ({ ...r, generatedAt: r.generatedAt.toISOString() })) });
  });
  router.get('/api/admin/audit/reports/:month', admin, async (req: Request, res: Response) => {
    res.json(view(await readAuditReport(ctx.db, monthSchema.parse(req.params.month))));
  });
  router.post('/api/admin/audit/reports', admin, async (req: Request, res: Response) => {
    const { month } = generateBody.parse(req.body);
    res.status(201).json(view(await generateAuditReport(ctx.db, month, currentSession(res).userid)));
  });
  return router;
}
