// Org (通讯录) read APIs (wecom-api.md §8). The simulated app's visible range is the whole corp.
// Members who left (status 5) keep answering user/get with status 5 but drop out of listings.
import express from 'express';
import type { Router } from 'express';
import { z } from 'zod';
import { fail } from '../errors.ts';
import type { SimContext } from '../context.ts';
import type { Department, Member } from '../state.ts';
import { body, page, parse, queryString, wecom } from './common.ts';

function leaders(ctx: SimContext, departmentId: number): string[] {
  return [...ctx.corp.members.values()]
    .filter((m) => m.status !== 5 && m.department.some((d, i) => d === departmentId && m.is_leader_in_dept[i] === 1))
    .map((m) => m.userid);
}

function departmentView(ctx: SimContext, d: Department) {
  return { id: d.id, name: d.name, name_en: d.name_en, department_leader: leaders(ctx, d.id), parentid: d.parentid, order: d.order };
}

function departmentId(raw: string | undefined, required: boolean): number | undefined {
  if (raw === undefined || raw === '') return required ? fail(40058, 'id required') : undefined;
  if (!/^\d+$/.test(raw)) fail(60123, raw);
  return Number(raw);
}

function activeMembers(ctx: SimContext): Member[] {
  return [...ctx.corp.members.values()].filter((m) => m.status !== 5);
}

export function orgRouter(ctx: SimContext): Router {
  const router = express.Router();

  function departmentsUnder(id: number | undefined): Department[] {
    if (id === undefined) return ctx.corp.departments;
    if (!ctx.corp.department(id)) fail(60123, String(id));
    const tree = ctx.corp.subtree(id);
    return ctx.corp.departments.filter((d) => tree.has(d.id));
  }

  router.get('/department/list', wecom(ctx, (req) => ({
    department: departmentsUnder(departmentId(queryString(req, 'id'), false)).map((d) => departmentView(ctx, d)),
  })));

  router.get('/department/simplelist', wecom(ctx, (req) => ({
    department_id: departmentsUnder(departmentId(queryString(req, 'id'), false)).map((d) => ({ id: d.id, parentid: d.parentid, order: d.order })),
  })));

  router.get('/department/get', wecom(ctx, (req) => {
    const id = departmentId(queryString(req, 'id'), true)!;
    const d = ctx.corp.department(id) ?? fail(60123, String(id));
    return { department: departmentView(ctx, d) };
  }));

  router.get('/user/get', wecom(ctx, (req) => {
    const m = ctx.corp.member(queryString(req, 'userid'));
    return {
      userid: m.userid,
      name: m.name,
      department: m.department,
      order: m.order,
      position: m.position,
      gender: m.gender,
      is_leader_in_dept: m.is_leader_in_dept,
      direct_leader: [],
      main_department: m.main_department,
      status: m.status,
      avatar: '',
      thumb_avatar: '',
      alias: '',
      enable: m.status === 2 ? 0 : 1,
    };
  }));

  router.get('/user/simplelist', wecom(ctx, (req) => {
    const id = departmentId(queryString(req, 'department_id'), true)!;
    if (!ctx.corp.department(id)) fail(60123, String(id));
    const scope = queryString(req, 'fetch_child') === '1' ? ctx.corp.subtree(id) : new Set([id]);
    const userlist = activeMembers(ctx)
      .filter((m) => m.department.some((d) => scope.has(d)))
      .map((m) => ({ userid: m.userid, name: m.name, department: m.department }));
    return { userlist };
  }));

  router.post('/user/list_id', wecom(ctx, (req) => {
    const input = parse(z.object({ cursor: z.string().optional(), limit: z.number().int().min(1).max(10000).default(10000) }), body(req));
    const rows = activeMembers(ctx).flatMap((m) => m.department.map((d) => ({ userid: m.userid, department: d })));
    const { items, next_cursor } = page(rows, input.cursor, input.limit);
    return { next_cursor, dept_user: items };
  }));

  return router;
}
