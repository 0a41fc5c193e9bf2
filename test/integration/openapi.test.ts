// /api/openapi.json against the real app: every route the app mounts (found by walking Express's
// router stack) is in the document and every documented operation is mounted; request schemas are
// the handlers' own zod schemas, so what the document forbids the server refuses.
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.ts';
import { openApiPath } from '../../server/openapi/document.ts';
import { startTestProduct, type ApiClient, type TestProduct } from '../support/test-product.ts';

interface Layer {
  name?: string;
  rawPath?: string | string[];
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[]; router?: { stack?: Layer[] } };
}

interface Mounted {
  /** `route`: a route of the app itself; `mount`: a sub-router or sub-app under a path prefix. */
  kind: 'route' | 'mount';
  method: string;
  path: string;
}

/** Every route of the app: routes of routers mounted at the root count as the app's own. */
function mountedRoutes(stack: Layer[], prefix = ''): Mounted[] {
  const found: Mounted[] = [];
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const path of paths) {
        for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all')) {
          found.push({ kind: prefix ? 'mount' : 'route', method, path: prefix ? `${prefix}{/*rest}` : path });
        }
      }
      continue;
    }
    const raw = Array.isArray(layer.rawPath) ? layer.rawPath[0] : layer.rawPath;
    // Static files served under a path (the web app's assets) are a mount too.
    // Inside a mounted sub-app everything is documented by the mount's own path.
    if (layer.name === 'serveStatic') found.push({ kind: 'mount', method: 'get', path: `${prefix || (raw && raw !== '/' ? raw : '')}{/*rest}` });
    const nested = layer.handle?.stack ?? layer.handle?.router?.stack;
    if (!nested) continue;
    const mountPath = !raw || raw === '/' ? prefix : `${prefix}${raw}`;
    found.push(...mountedRoutes(nested, mountPath));
  }
  return found;
}

let t: TestProduct;
let admin: ApiClient;
let doc: { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: any }> }; parameters: { name: string; in: string; required: boolean; schema: any }[]; security: unknown[] }>> };
let mounted: Mounted[];

beforeAll(async () => {
  t = await startTestProduct();
  admin = await t.as('zhuxiaoyan');
  const response = await t.anonymous().get('/api/openapi.json');
  expect(response.status).toBe(200);
  doc = response.body;
  const app = createApp(t.product.ctx) as Express & { router: { stack: Layer[] } };
  mounted = mountedRoutes(app.router.stack);
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe('/api/openapi.json', () => {
  it('is an OpenAPI 3.1 document', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).length).toBeGreaterThan(80);
  });

  it('documents every route the app mounts, and every documented operation is mounted', () => {
    const routes = mounted.filter((m) => m.kind === 'route');
    expect(routes.length).toBeGreaterThan(100);
    const undocumented = mounted.filter((m) => !doc.paths[openApiPath(m.path)]?.[m.method]).map((m) => `${m.method.toUpperCase()} ${m.path}`);
    expect([...new Set(undocumented)]).toEqual([]);
    const keys = new Set(mounted.map((m) => `${m.method} ${openApiPath(m.path)}`));
    const unmounted = Object.entries(doc.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`)).filter((key) => !keys.has(key));
    expect(unmounted).toEqual([]);
  });

  it('carries the handlers\' schemas: parameters, queries and bodies with their limits', () => {
    const list = doc.paths['/api/customers']!.get!;
    const limit = list.parameters.find((p) => p.name === 'limit' && p.in === 'query');
    expect(limit?.schema).toMatchObject({ maximum: 200 });
    const detail = doc.paths['/api/customers/{externalUserId}']!.get!;
    expect(detail.parameters.find((p) => p.in === 'path')).toMatchObject({ name: 'externalUserId', required: true, schema: { type: 'string', maxLength: 128 } });
    const reveal = doc.paths['/api/customers/{externalUserId}/reveal']!.post!;
    expect(reveal.requestBody!.content['application/json']!.schema).toMatchObject({ type: 'object', required: expect.arrayContaining(['field']), additionalProperties: false });
    expect(reveal.parameters.find((p) => p.name === 'X-CSRF-Token')).toMatchObject({ in: 'header', required: true });
    expect(doc.paths['/wecom/callback']!.post!.requestBody!.content['text/xml']).toBeDefined();
    expect(doc.paths['/metrics']!.get!.security).toEqual([{ session: [] }, { metricsToken: [] }]);
  });

  it('describes what the server enforces: a value over a documented maximum is refused with 400', async () => {
    const limit = doc.paths['/api/customers']!.get!.parameters.find((p) => p.name === 'limit')!.schema.maximum as number;
    expect((await admin.get(`/api/customers?limit=${limit}`)).status).toBe(200);
    const over = await admin.get(`/api/customers?limit=${limit + 1}`);
    expect(over.status).toBe(400);
    expect(over.body.error.message).toContain('limit');
    const noteSchema = doc.paths['/api/customers/{externalUserId}/notes']!.post!.requestBody!.content['application/json']!.schema;
    expect(noteSchema.additionalProperties).toBe(false);
    const extra = await admin.post('/api/customers/wmNobody/notes', { content: 'x', unexpected: true });
    expect(extra.status).toBe(400);
  });
});
