import { defineStore } from 'pinia';
import { api, isApiError, setCsrfToken } from '../api.ts';
import type { Health, Me } from '../types.ts';

/** Reads `loginError` from the page address once and removes it, so a reload does not repeat it. */
function takeLoginError(): string | null {
  if (typeof location === 'undefined') return null;
  const url = new URL(location.href);
  const code = url.searchParams.get('loginError');
  if (!code) return null;
  url.searchParams.delete('loginError');
  history.replaceState(history.state, '', url.toString());
  return code;
}

export type SessionState = 'loading' | 'signed-in' | 'signed-out' | 'error';

/**
 * The capability store: who the server says I am and what it lets me do, read from GET /api/me and
 * /healthz. Screens hide or disable only what the server would refuse anyway; the server decides.
 */
export const useSessionStore = defineStore('session', {
  state: () => ({
    state: 'loading' as SessionState,
    me: null as Me | null,
    sandbox: false,
    error: null as unknown,
    /** Why the last WeCom login was refused (`?loginError=` on the page the server sent us back to). */
    loginError: takeLoginError(),
  }),
  getters: {
    /** View-as: an admin reads as another member; every control is disabled (the server refuses writes too). */
    readOnly: (s): boolean => Boolean(s.me?.viewAs),
    isAdmin: (s): boolean => Boolean(s.me?.roles.includes('admin') && !s.me.viewAs),
    roles: (s): string[] => s.me?.roles ?? [],
    userid: (s): string | null => s.me?.userid ?? null,
  },
  actions: {
    async load(): Promise<void> {
      this.state = 'loading';
      this.error = null;
      // A 503 (something is down) still says whether this is the sandbox.
      const health = fetch('/healthz', { headers: { accept: 'application/json' } })
        .then((r) => r.json() as Promise<Health>)
        .catch(() => undefined);
      const me = await api.get<Me>('/api/me', { quietUnauthenticated: true }).catch((error: unknown) => error);
      // Whether this is the sandbox is known before the state changes: screens decide how to sign in from both.
      this.sandbox = Boolean((await health)?.sandbox);
      if (!(me instanceof Error)) return this.setMe(me as Me);
      this.setMe(null);
      if (isApiError(me, 401)) return;
      this.state = 'error';
      this.error = me;
    },
    setMe(me: Me | null): void {
      this.me = me;
      setCsrfToken(me?.csrfToken);
      this.state = me ? 'signed-in' : 'signed-out';
    },
    /** Sandbox only: the server answers 404 elsewhere. */
    async devLogin(userid: string): Promise<void> {
      await api.post('/api/dev/login', { userid });
      await this.load();
    },
    async signOut(): Promise<void> {
      await api.post('/api/auth/logout', {});
      this.setMe(null);
    },
    async startViewAs(userid: string): Promise<void> {
      await api.post('/api/admin/view-as', { userid });
    },
    async endViewAs(): Promise<void> {
      await api.delete('/api/admin/view-as');
      await this.load();
    },
  },
});
