import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { API_ROUTES, type ApiRoute, type RouteAccess } from './api-routes.ts';

type JsonSchema = Record<string, unknown>;

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** `/api/customers/:externalUserId` → `/api/customers/{externalUserId}`; `/admin{/*rest}` → `/admin/{rest}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/\{\/\*(\w+)\}/g, '/{$1}').replace(/[:*](\w+)/g, '{$1}');
}

/** JSON Schema of what a request may send (the input side of transforms, defaults and coercions). */
function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const SECURITY: Record<RouteAccess, Record<string, string[]>[] | undefined> = {
  public: [],
  wecom: [],
  member: [{ session: [] }],
  admin: [{ session: [] }],
  'admin-or-metrics-token': [{ session: [] }, { metricsToken: [] }],
};

const ACCESS_NOTE: Record<RouteAccess, string> = {
  public: 'Anyone.',
  wecom: 'WeCom: signed with the callback Token (msg_signature), encrypted with the EncodingAESKey.',
  member: 'A member\'s session (401 without, 403 when the action is not allowed; a customer outside the scope is 404).',
  admin: 'An admin\'s session (401 without, 403 for other members).',
  'admin-or-metrics-token': 'An admin\'s session, or `Authorization: Bearer <METRICS_TOKEN>`.',
};

function parametersOf(route: ApiRoute): JsonSchema[] {
  const parameters: JsonSchema[] = [];
  for (const [name, schema] of Object.entries(route.params ?? {})) {
    parameters.push({ name, in: 'path', required: true, schema: jsonSchemaOf(schema) });
  }
  // The web app's wildcard paths: the rest of the path, possibly empty.
  for (const match of route.path.matchAll(/\{\/\*(\w+)\}/g)) parameters.push({ name: match[1], in: 'path', required: true, schema: { type: 'string' }, allowReserved: true });
  if (route.query) {
    const query = jsonSchemaOf(route.query);
    const required = new Set((query.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((query.properties as Record<string, JsonSchema> | undefined) ?? {})) {
      parameters.push({ name, in: 'query', required: required.has(name), schema });
    }
  }
  const changesState = route.method !== 'get' && (route.access === 'member' || route.access === 'admin');
  if (changesState) parameters.push({ name: 'X-CSRF-Token', in: 'header', required: true, description: 'csrfToken from GET /api/me', schema: { type: 'string' } });
  parameters.push({ name: 'X-Request-Id', in: 'header', required: false, description: 'Correlates logs; answered back (a new id when absent)', schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' } });
  return parameters;
}

function operationOf(route: ApiRoute): JsonSchema {
  const produces = route.produces ?? 'application/json';
  return {
    operationId: `${route.method}${openApiPath(route.path).replace(/[{}]/g, '').split(/[/_.-]/).filter(Boolean).map((part) => part[0]!.toUpperCase() + part.slice(1)).join('')}`,
    summary: route.summary,
    description: `${ACCESS_NOTE[route.access]}${route.sandboxOnly ? ' Sandbox mode only (404 otherwise).' : ''}`,
    tags: [route.path.startsWith('/api/admin') ? 'admin' : route.path.startsWith('/api') ? route.path.split('/')[2]! : 'operating'],
    security: SECURITY[route.access],
    parameters: parametersOf(route),
    ...(route.body ? { requestBody: { required: true, content: { [route.bodyType ?? 'application/json']: { schema: jsonSchemaOf(route.body) } } } } : {}),
    responses: {
      '2XX': { description: 'Success', content: { [produces]: { schema: produces === 'application/json' ? { type: 'object' } : { type: 'string' } } } },
      '4XX': { description: 'Refused: what was wrong and what to do', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      '5XX': { description: 'A part is down (503) or an unexpected error (500, logged with the request id)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    },
  };
}

/**
 * The OpenAPI 3.1 document of the HTTP API, built from API_ROUTES: request schemas are the zod
 * schemas the handlers validate with, converted by `z.toJSONSchema`. Sandbox-only routes appear
 * only in sandbox mode, where they exist.
 */
export function buildOpenApiDocument(options: { sandbox: boolean; serverUrl?: string }): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of API_ROUTES) {
    if (route.sandboxOnly && !options.sandbox) continue;
    (paths[openApiPath(route.path)] ??= {})[route.method] = operationOf(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'WeCom tag guard API',
      version,
      description: 'Customer-contact callbacks, tag policy, customer ownership and data permissions. Errors are `{"error":{"code","message",...}}`.',
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    paths,
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'wtg_session', description: 'Set by the WeCom OAuth login (or the sandbox dev login)' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN (GET /metrics only)' },
      },
      schemas: {
        Error: {
          type: 'object', required: ['error'],
          properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } }, additionalProperties: true } },
        },
      },
    },
  };
}
