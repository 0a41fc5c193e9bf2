// OAuth2 web login (wecom-api.md §8): the authorize page (in the simulator: pick a member from a
// list) redirects back with a single-use code valid 5 minutes; auth/getuserinfo redeems it.
import express from 'express';
import type { Router } from 'express';
import { randomBytes } from 'node:crypto';
import { fail } from '../errors.ts';
import type { SimContext } from '../context.ts';
import { queryString, wecom } from './common.ts';

const CODE_TTL_SECONDS = 300;

/** Issues a code for a member (used by the page and by POST /sim/oauth/code). */
export function issueOAuthCode(ctx: SimContext, userid: string): string {
  const code = randomBytes(24).toString('base64url');
  ctx.corp.oauthCodes.set(code, { code, userid, expiresAt: ctx.clock.now() + CODE_TTL_SECONDS, used: false });
  return code;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page and its pick endpoint, mounted at the site root like open.weixin.qq.com's path. */
export function oauthPageRouter(ctx: SimContext): Router {
  const router = express.Router();

  router.get('/connect/oauth2/authorize', (req, res) => {
    const appid = queryString(req, 'appid');
    const redirect = queryString(req, 'redirect_uri');
    const state = queryString(req, 'state') ?? '';
    if (appid !== ctx.corp.corpId) return void res.status(400).type('text/plain').send('invalid appid (40013)');
    if (!redirect || !/^https?:\/\//.test(redirect)) return void res.status(400).type('text/plain').send('invalid redirect_uri');
    if (queryString(req, 'response_type') !== 'code') return void res.status(400).type('text/plain').send('response_type must be code');
    const members = [...ctx.corp.members.values()].filter((m) => m.status === 1);
    const items = members
      .map((m) => {
        const pick = new URLSearchParams({ userid: m.userid, redirect_uri: redirect, state });
        return `<li><a href="/connect/oauth2/pick?${escapeHtml(pick.toString())}">${escapeHtml(m.name)}</a> <small>${escapeHtml(m.userid)} · ${escapeHtml(m.position)}</small></li>`;
      })
      .join('\n');
    res.type('html').send(
      `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>企业微信模拟登录</title></head>` +
        `<body><h1>选择登录成员 (WeCom simulator)</h1><p>corp ${escapeHtml(ctx.corp.corpId)}</p><ul>${items}</ul></body></html>`,
    );
  });

  router.get('/connect/oauth2/pick', (req, res) => {
    const userid = queryString(req, 'userid') ?? '';
    const redirect = queryString(req, 'redirect_uri') ?? '';
    const member = ctx.corp.members.get(userid);
    if (!member || member.status !== 1 || !/^https?:\/\//.test(redirect)) {
      return void res.status(400).type('text/plain').send('unknown member or invalid redirect_uri');
    }
    const target = new URL(redirect);
    target.searchParams.set('code', issueOAuthCode(ctx, userid));
    target.searchParams.set('state', queryString(req, 'state') ?? '');
    res.redirect(302, target.toString());
  });

  return router;
}

export function oauthApiRouter(ctx: SimContext): Router {
  const router = express.Router();

  function redeem(code: string | undefined): string {
    if (!code) fail(41008);
    const entry = ctx.corp.oauthCodes.get(code);
    if (!entry || entry.used || entry.expiresAt <= ctx.clock.now()) fail(40029);
    entry.used = true;
    return entry.userid;
  }

  router.get('/auth/getuserinfo', wecom(ctx, (req) => ({ userid: redeem(queryString(req, 'code')) })));
  // Legacy endpoint with capitalised keys, still used by older clients.
  router.get('/user/getuserinfo', wecom(ctx, (req) => ({ UserId: redeem(queryString(req, 'code')), DeviceId: '' })));

  return router;
}
