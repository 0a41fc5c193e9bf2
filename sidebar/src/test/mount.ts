import { mount, type ComponentMountingOptions } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { Component } from 'vue';
import { createAppI18n, type Locale } from '../shared/i18n.ts';
import { sidebarMessages } from '../sidebar/locales.ts';

/** Mounts a component the way the sidebar runs it: Pinia, the sidebar's words, and a router. */
export function mountSidebar<C extends Component>(component: C, options: ComponentMountingOptions<C> & { locale?: Locale } = {}) {
  const pinia = createPinia();
  setActivePinia(pinia);
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/:rest(.*)*', component: { render: () => null } }] });
  const i18n = createAppI18n(sidebarMessages, options.locale ?? 'zh-CN');
  const { global, ...rest } = options;
  return mount(component, { ...rest, global: { ...global, plugins: [pinia, router, i18n, ...(global?.plugins ?? [])] } } as ComponentMountingOptions<C>);
}

type Route = (url: string, init: RequestInit) => { status: number; body?: unknown } | undefined;

/** A fake `fetch` answering from `route`; every call is recorded (method, url, parsed body). */
export function fakeServer(route: Route) {
  const calls: { method: string; url: string; body: unknown }[] = [];
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    const method = init.method ?? 'GET';
    calls.push({ method, url, body: init.body ? JSON.parse(String(init.body)) : undefined });
    const answer = route(url, { ...init, method }) ?? { status: 404, body: { error: { code: 'NOT_FOUND', message: `no API route ${method} ${url}` } } };
    return new Response(answer.body === undefined ? '' : JSON.stringify(answer.body), { status: answer.status, headers: { 'content-type': 'application/json' } });
  };
  return { fetch, calls };
}

export const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
