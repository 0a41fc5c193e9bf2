import { defineStore } from 'pinia';
import { api, isApiError } from '../../shared/api.ts';
import { useSessionStore } from '../../shared/stores/session.ts';
import type { Customer, MemberTagTree, Note, Page, PersonalTag, TagChangeResult } from '../../shared/types.ts';

/** A 404 from the catch-all (`no API route …`) means the endpoint is not deployed yet, not "no such customer". */
export const isMissingRoute = (error: unknown): boolean => isApiError(error, 404) && /^no API route/.test(error.message);

export type TagOutcome = { kind: 'done' | 'queued'; tagId: string; on: boolean } | { kind: 'refused'; tagId: string; error: unknown };

const QUEUED_REREADS = 5;
const QUEUED_REREAD_MS = 1_500;

/**
 * The customer on screen, the tags I may see, and my notes on it. Every change is sent to the server
 * and the screen is then re-read from it, so what is shown is what the server holds.
 */
export const useCustomerStore = defineStore('customer', {
  state: () => ({
    id: null as string | null,
    customer: null as Customer | null,
    loadError: null as unknown,
    loading: false,
    tags: null as MemberTagTree | null,
    notes: [] as Note[],
    notesAvailable: true,
    /** Tags being written: tag id → wanted state (shown at once, until the server says otherwise). */
    pending: {} as Record<string, boolean>,
    /** Writes WeCom has not confirmed yet (202): tag id → wanted state. */
    queued: {} as Record<string, boolean>,
    revealed: {} as Record<string, string>,
  }),
  actions: {
    async open(id: string): Promise<void> {
      if (this.id !== id) {
        this.$reset();
        this.id = id;
      }
      this.loading = true;
      try {
        await Promise.all([this.readCustomer(), this.readTags(), this.readNotes()]);
      } finally {
        this.loading = false;
      }
    },
    async readCustomer(): Promise<void> {
      if (!this.id) return;
      try {
        this.customer = await api.get<Customer>(`/api/customers/${encodeURIComponent(this.id)}`);
        this.loadError = null;
        this.settleQueued();
      } catch (error) {
        this.customer = null;
        this.loadError = error;
      }
    },
    async readTags(): Promise<void> {
      this.tags = await api.get<MemberTagTree>('/api/tags');
    },
    async readNotes(): Promise<void> {
      if (!this.id) return;
      try {
        this.notes = (await api.get<Page<Note>>(`/api/customers/${encodeURIComponent(this.id)}/notes`)).items;
        this.notesAvailable = true;
      } catch (error) {
        if (isMissingRoute(error)) this.notesAvailable = false;
        else if (!isApiError(error, 404)) throw error;
        this.notes = [];
      }
    },
    /** Drops queued marks the server now agrees with. */
    settleQueued(): void {
      const mine = this.myTagIds();
      for (const [tagId, on] of Object.entries(this.queued)) if (mine.has(tagId) === on) delete this.queued[tagId];
    },
    /** Tags on my own relation (the signed-in member, or the one viewed as). */
    myTagIds(): Set<string> {
      const me = useSessionStore().userid;
      const relation = this.customer?.relations.find((r) => r.userid === me && r.status === 'active');
      return new Set(relation?.tags.map((t) => t.tagId) ?? []);
    },
    /** One tap: add or remove one tag on my relation. */
    async setTag(tagId: string, on: boolean): Promise<TagOutcome> {
      if (!this.id) throw new Error('no customer open');
      this.pending[tagId] = on;
      try {
        const result = await api.post<TagChangeResult>(`/api/customers/${encodeURIComponent(this.id)}/tags`, on ? { add: [tagId] } : { remove: [tagId] });
        const queued = result?.wecom?.state === 'queued';
        if (queued) this.queued[tagId] = on;
        await this.readCustomer();
        if (queued) this.rereadWhileQueued();
        return { kind: queued ? 'queued' : 'done', tagId, on };
      } catch (error) {
        // Refused or failed: whatever happened, show what the server now holds.
        await Promise.allSettled([this.readCustomer(), this.readTags()]);
        return { kind: 'refused', tagId, error };
      } finally {
        delete this.pending[tagId];
      }
    },
    rereadWhileQueued(left = QUEUED_REREADS): void {
      if (left <= 0 || !Object.keys(this.queued).length) return;
      setTimeout(() => {
        void this.readCustomer().then(() => this.rereadWhileQueued(left - 1));
      }, QUEUED_REREAD_MS);
    },
    async reveal(field: string, userid: string, index: number): Promise<void> {
      if (!this.id) return;
      const answer = await api.post<{ value: string }>(`/api/customers/${encodeURIComponent(this.id)}/reveal`, { field, userid, index });
      this.revealed[`${field}:${userid}:${index}`] = answer.value;
    },
    async addNote(content: string): Promise<void> {
      if (!this.id) return;
      await api.post(`/api/customers/${encodeURIComponent(this.id)}/notes`, { content });
      await this.readNotes();
    },
    async createPersonalTag(name: string): Promise<PersonalTag> {
      const created = await api.post<PersonalTag>('/api/personal-tags', { name });
      await this.readTags();
      return created;
    },
    async renamePersonalTag(id: string, name: string): Promise<void> {
      try {
        await api.patch(`/api/personal-tags/${encodeURIComponent(id)}`, { name });
      } finally {
        await Promise.allSettled([this.readTags(), this.readCustomer()]);
      }
    },
    async deletePersonalTag(id: string): Promise<void> {
      try {
        await api.delete(`/api/personal-tags/${encodeURIComponent(id)}`);
      } finally {
        await Promise.allSettled([this.readTags(), this.readCustomer()]);
      }
    },
  },
});
