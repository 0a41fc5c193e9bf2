import type { Express } from 'express';
import { declaredPermission, type DeclaredPermission } from './guard.ts';

/** One endpoint of the mounted app and the permission its guard declares (undefined: none declared). */
export interface RouteEntry {
  /** GET, POST, PUT, PATCH, DELETE; `USE` for a guarded mount such as static files. */
  method: string;
  /** The path as registered, e.g. `/api/customers/:externalUserId`; a mount ends in `/*`. */
  path: string;
  permission: DeclaredPermission | undefined;
}

interface RouterLayer {
  handle: ((...args: unknown[]) => unknown) & { stack?: RouterLayer[] };
  rawPath?: string | string[];
  route?: { path: string | string[]; methods: Record<string, boolean>; stack: { handle: unknown }[] };
}

const joinPath = (prefix: string, path: string): string => (prefix === '/' || prefix === '' ? path : `${prefix.replace(/\/$/, '')}${path}`);

/**
 * Every endpoint the Express app serves, read from its router stack (Express 5 / router 2), so a test
 * can check that each one declares its permission and sweep each one with an id parameter. Plain
 * middleware mounted at `/` (body parsers, the error handler) is not an endpoint; middleware mounted
 * at a path is, and counts as declared when the first handler at that path is a guard.
 */
export function listRoutes(app: Express): RouteEntry[] {
  const routes: RouteEntry[] = [];
  const walk = (stack: RouterLayer[], prefix: string): void => {
    let guardedMount: string | undefined;
    for (const layer of stack) {
      const raw = typeof layer.rawPath === 'string' ? layer.rawPath : '/';
      if (layer.route) {
        const permission = layer.route.stack.map((l) => declaredPermission(l.handle)).find(Boolean);
        for (const path of [layer.route.path].flat()) {
          for (const method of Object.keys(layer.route.methods)) {
            if (method === '_all') continue;
            routes.push({ method: method.toUpperCase(), path: joinPath(prefix, path), permission });
          }
        }
      } else if (Array.isArray(layer.handle.stack)) {
        walk(layer.handle.stack, joinPath(prefix, raw));
      } else if (raw !== '/') {
        const path = `${joinPath(prefix, raw)}/*`;
        if (guardedMount === path) continue;
        const permission = declaredPermission(layer.handle);
        routes.push({ method: 'USE', path, permission });
        guardedMount = permission ? path : undefined;
      }
    }
  };
  const router = (app as unknown as { router: { stack: RouterLayer[] } }).router;
  walk(router.stack, '');
  return routes;
}
