import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context.ts';
import { requirePermission } from '../http/guard.ts';
import { buildOpenApiDocument } from '../openapi/document.ts';

/** `GET /api/openapi.json`: the OpenAPI document of this server's HTTP API (built once). */
export function openApiRouter(ctx: AppContext): Router {
  const router = Router();
  let document: object | undefined;
  router.get('/api/openapi.json', requirePermission(ctx, 'public'), (_req: Request, res: Response) => {
    document ??= buildOpenApiDocument({ sandbox: ctx.config.sandbox, serverUrl: ctx.config.publicUrl });
    res.json(document);
  });
  return router;
}
