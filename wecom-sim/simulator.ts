// Builds the simulator's express app: the WeCom API under /cgi-bin (behind the gateway: call log,
// faults, token checks, frequency limit), the OAuth page at /connect/oauth2, and the /sim control API.
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import { CallbackDispatcher } from './callbacks.ts';
import type { ResolvedOptions, SimContext } from './context.ts';
import { CorpState, DEFAULT_AGENT_ID, DEFAULT_CORP_ID, DEFAULT_SECRET, SimClock } from './state.ts';
import { gateway } from './api/gateway.ts';
import { authTokensRouter } from './api/auth-tokens.ts';
import { orgRouter } from './api/org.ts';
import { oauthApiRouter, oauthPageRouter } from './api/oauth.ts';
import { customersRouter } from './api/customers.ts';
import { corpTagsRouter } from './api/corp-tags.ts';
import { strategiesRouter } from './api/strategies.ts';
import { contactWaysRouter } from './api/contact-ways.ts';
import { transfersRouter } from './api/transfers.ts';
import { messagesRouter } from './api/messages.ts';
import { groupMessagesRouter } from './api/group-messages.ts';
import { resetControlRouter } from './control/reset.ts';
import { customersControlRouter } from './control/customers.ts';
import { adminTagsControlRouter } from './control/admin-tags.ts';
import { observeControlRouter } from './control/observe.ts';
import { miscControlRouter } from './control/misc.ts';
import { membersControlRouter } from './control/members.ts';
import { bulkControlRouter } from './control/bulk.ts';
import { errorBody } from './errors.ts';

export function createContext(options: ResolvedOptions): SimContext {
  const clock = new SimClock();
  const ctx: SimContext = {
    corp: new CorpState(DEFAULT_CORP_ID, DEFAULT_AGENT_ID, DEFAULT_SECRET),
    clock,
    options,
    tokens: new Map(),
    tickets: new Map(),
    calls: [],
    faults: [],
    rate: new Map(),
    baseUrl: '',
    holds: new Set(),
    callbacks: undefined as unknown as CallbackDispatcher,
  };
  ctx.callbacks = new CallbackDispatcher({
    clock,
    timeoutMs: options.callbackTimeoutMs,
    retryDelaysMs: options.callbackRetryDelaysMs,
    log: options.log,
    // Read at send time: a reset or POST /sim/callback changes the target for later events.
    target: () => ({ corpId: ctx.corp.corpId, agentId: ctx.corp.agentId, ...(ctx.corp.callback ? { callback: ctx.corp.callback } : {}) }),
  });
  return ctx;
}

export function createApp(ctx: SimContext): Express {
  const app = express();
  app.disable('x-powered-by');

  const api = express.Router();
  api.use(gateway(ctx));
  for (const router of [
    authTokensRouter(ctx),
    orgRouter(ctx),
    oauthApiRouter(ctx),
    customersRouter(ctx),
    corpTagsRouter(ctx),
    strategiesRouter(ctx),
    contactWaysRouter(ctx),
    transfersRouter(ctx),
    messagesRouter(ctx),
    groupMessagesRouter(ctx),
  ]) {
    api.use(router);
  }
  // An API path WeCom does not have (or the simulator does not serve): WeCom answers "invalid url".
  api.use((_req: Request, res: Response) => void res.status(404).json({ errcode: 404, errmsg: 'invalid url (not served by the simulator)' }));
  app.use('/cgi-bin', api);

  app.use(oauthPageRouter(ctx));

  const sim = express.Router();
  sim.use(express.json({ limit: '20mb' }));
  for (const router of [
    resetControlRouter(ctx),
    customersControlRouter(ctx),
    adminTagsControlRouter(ctx),
    observeControlRouter(ctx),
    miscControlRouter(ctx),
    membersControlRouter(ctx),
    bulkControlRouter(ctx),
  ]) {
    sim.use(router);
  }
  sim.use((_req: Request, res: Response) => void res.status(404).json({ error: 'no such control endpoint' }));
  app.use('/sim', sim);

  // Malformed JSON on /sim, or anything else that escaped a handler.
  app.use((error: Error & { status?: number; type?: string }, req: Request, res: Response, _next: NextFunction) => {
    if (req.path.startsWith('/cgi-bin')) return void res.json(errorBody(-1));
    const status = error.type === 'entity.parse.failed' ? 400 : (error.status ?? 500);
    if (status >= 500) ctx.options.log(`unhandled error on ${req.method} ${req.path}: ${error.stack ?? error.message}`);
    res.status(status).json({ error: status === 400 ? `invalid JSON body: ${error.message}` : error.message });
  });
  return app;
}
