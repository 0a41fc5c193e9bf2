import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context.ts';
import { requirePermission } from '../http/guard.ts';

/** Where `vite build` (sidebar/vite.config.ts) writes the web app. */
export const WEB_APP_DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'sidebar', 'dist');

const splitUrl = (url: string): [string, string] => {
  const at = url.indexOf('?');
  return at < 0 ? [url, ''] : [url.slice(0, at), url.slice(at)];
};

/** The two surfaces of the one web app: each path prefix falls back to its own index.html (client-side routing). */
const SURFACES = ['sidebar', 'admin'] as const;

/**
 * Serves the built web app: `/assets/*` are content-hashed (cached for a year, immutable);
 * `/sidebar/*` and `/admin/*` answer their index.html, never cached, so a new build is picked up at once.
 * The pages hold no data: everything comes from the API with the session's permissions.
 */
export function webAppRouter(ctx: AppContext, dist: string = WEB_APP_DIST): Router {
  const router = Router();
  const notBuilt = (res: Response): void => {
    res.status(503).type('text/plain').send('The web app is not built yet: run `npm run build:web` (npm start and npm test build it when missing).\n');
  };

  router.use('/assets', requirePermission(ctx, 'public'), express.static(join(dist, 'assets'), {
    immutable: true,
    maxAge: '365d',
    index: false,
  }), (_req: Request, res: Response) => {
    // A hashed file of an older build, or a typo: a plain 404 (never index.html in place of a script).
    res.status(404).type('text/plain').send('no such asset\n');
  });

  for (const surface of SURFACES) {
    // `/sidebar` (no slash) → `/sidebar/`, so relative URLs resolve; every path below is the app's own route.
    router.get(`/${surface}{/*rest}`, requirePermission(ctx, 'public'), (req: Request, res: Response) => {
      const [path, search] = splitUrl(req.originalUrl);
      if (path === `/${surface}`) return res.redirect(301, `/${surface}/${search}`);
      const index = join(dist, surface, 'index.html');
      if (!existsSync(index)) return notBuilt(res);
      res.set({
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'same-origin',
        // The console is never framed; the sidebar is left to WeCom's clients, which open it as a page.
        ...(surface === 'admin' ? { 'X-Frame-Options': 'DENY' } : {}),
      });
      res.sendFile(index, { cacheControl: false });
    });
  }
  return router;
}
