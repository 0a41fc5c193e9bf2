import express, { type Express, type Request, type Response } from 'express';
import type { AppContext } from './context.ts';
import { callbackRouter } from './callback/callback.route.ts';
import { authRouter } from './auth/auth.route.ts';
import { DomainError } from './http/domain-error.ts';
import { errorHandler } from './http/error-handler.ts';
import { requirePermission } from './http/guard.ts';
import { adminAuditRouter } from './routes/admin-audit.route.ts';
import { adminAuditReportsRouter } from './routes/admin-audit-reports.route.ts';
import { adminContactWaysRouter } from './routes/admin-contact-ways.route.ts';
import { adminEventsRouter } from './routes/admin-events.route.ts';
import { adminRolesRouter } from './routes/admin-roles.route.ts';
import { adminRuleGroupsRouter } from './routes/admin-rule-groups.route.ts';
import { adminSyncRouter } from './routes/admin-sync.route.ts';
import { adminTagsRouter } from './routes/admin-tags.route.ts';
import { adminTagPolicyRouter } from './routes/admin-tag-policy.route.ts';
import { customersRouter } from './routes/customers.route.ts';
import { customerAccessExplainRouter } from './routes/customer-access-explain.route.ts';
import { grantsRouter } from './routes/grants.route.ts';
import { healthRouter } from './routes/health.route.ts';
import { meRouter } from './routes/me.route.ts';
import { tagsRouter } from './routes/tags.route.ts';
import { viewAsRouter } from './routes/view-as.route.ts';
import { personalTagsRouter } from './routes/personal-tags.route.ts';
import { assignmentRouter } from './routes/assignment.route.ts';
import { departuresRouter } from './routes/departures.route.ts';
import { exportsRouter } from './routes/exports.route.ts';
import { followUpNotesRouter } from './routes/follow-up-notes.route.ts';
import { ownershipSettingsRouter } from './routes/ownership-settings.route.ts';
import { poolRouter } from './routes/pool.route.ts';
import { transfersRouter } from './routes/transfers.route.ts';
import { jssdkRouter } from './routes/jssdk.route.ts';
import { orgRouter } from './routes/org.route.ts';
import { webAppRouter } from './routes/web-app.route.ts';
import { adminDashboardRouter } from './routes/admin-dashboard.route.ts';
import { campaignsRouter } from './routes/campaigns.route.ts';
import { materialsRouter } from './routes/materials.route.ts';
import { reenterRequestContext, requestIdMiddleware } from './http/request-id.ts';
import { metricsRouter } from './routes/metrics.route.ts';
import { queueBoardRouter } from './routes/queue-board.route.ts';
import { openApiRouter } from './routes/openapi.route.ts';

export function createApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  // Request id, access log line, and the request context every log line of the request carries.
  app.use(requestIdMiddleware(ctx.logger));
  // The callback reads its own raw body (text, 64 KB) before any JSON parsing.
  app.use(callbackRouter({ db: ctx.db, queues: ctx.queues, logger: ctx.logger.child({ route: 'callback' }), credentials: ctx.callbackCredentials,
    rateLimit: { limiter: ctx.rateLimiter, perMinute: ctx.config.rateLimits.callbackPerMinute, rejectedPerMinute: ctx.config.rateLimits.callbackRejectedPerMinute }, metrics: ctx.metrics }));
  app.use(express.json({ limit: '256kb' }));
  app.use(reenterRequestContext);
  // Operating: Prometheus metrics and the queue board (before the web app, which serves /admin/*).
  app.use(metricsRouter(ctx));
  app.use(queueBoardRouter(ctx));
  app.use(healthRouter(ctx));
  app.use(authRouter(ctx));
  app.use(meRouter(ctx));
  app.use(customersRouter(ctx));
  app.use(customerAccessExplainRouter(ctx));
  app.use(grantsRouter(ctx));
  app.use(adminRolesRouter(ctx));
  app.use(adminAuditRouter(ctx));
  app.use(adminAuditReportsRouter(ctx));
  app.use(adminSyncRouter(ctx));
  app.use(adminEventsRouter(ctx));
  app.use(adminTagsRouter(ctx));
  app.use(adminRuleGroupsRouter(ctx));
  app.use(personalTagsRouter(ctx));
  app.use(adminContactWaysRouter(ctx));
  app.use(adminTagPolicyRouter(ctx));
  app.use(tagsRouter(ctx));
  app.use(viewAsRouter(ctx));
  // Ownership: assignment, transfers, departures, public pool, follow-up notes, exports, their settings.
  app.use(assignmentRouter(ctx));
  app.use(transfersRouter(ctx));
  app.use(departuresRouter(ctx));
  app.use(poolRouter(ctx));
  app.use(followUpNotesRouter(ctx));
  app.use(exportsRouter(ctx));
  app.use(ownershipSettingsRouter(ctx));
  app.use(jssdkRouter(ctx));
  app.use(orgRouter(ctx));
  app.use(adminDashboardRouter(ctx));
  app.use(campaignsRouter(ctx));
  app.use(materialsRouter(ctx));
  app.use(openApiRouter(ctx));
  // The built web app (sidebar/dist): /sidebar/*, /admin/* and their hashed /assets/*.
  app.use(webAppRouter(ctx));
  app.use('/api', requirePermission(ctx, 'public'), (req: Request) => {
    throw new DomainError('NOT_FOUND', `no API route ${req.method} ${req.baseUrl}${req.path}`);
  });
  app.get('/', requirePermission(ctx, 'public'), (_req: Request, res: Response) => {
    res.type('text/plain').send(ctx.sandbox
      ? `WeCom tag guard (sandbox)\nsidebar: /sidebar/\nadmin console: /admin/\nhealth: /healthz\nsimulator: ${ctx.sandbox.simulatorUrl}\n`
      : 'WeCom tag guard\nsidebar: /sidebar/\nadmin console: /admin/\nhealth: /healthz\n');
  });
  app.use(errorHandler(ctx.logger));
  return app;
}
