import { ref, shallowRef } from 'vue';
import { api, isApiError } from './api.ts';
import type { Page } from './types.ts';

/**
 * A keyset-paged list (`?cursor=` — or another parameter name — → `{items, nextCursor}`): `more()` appends the next page, `reset()`
 * starts over (new search or filter). A 404 from a route that does not exist yet leaves `missing` set.
 */
export function useKeysetList<T>(url: () => string, options: { cursorParam?: string } = {}) {
  const cursorParam = options.cursorParam ?? 'cursor';
  const items = shallowRef<T[]>([]);
  const cursor = ref<string | null>(null);
  const finished = ref(false);
  const loading = ref(false);
  const error = ref<unknown>(null);
  const missing = ref(false);
  /** The rest of the last page's answer (e.g. the pool's claimsLeftToday). */
  const extra = shallowRef<Record<string, unknown>>({});
  let generation = 0;

  async function more(): Promise<void> {
    if (finished.value || loading.value) return;
    const mine = generation;
    loading.value = true;
    error.value = null;
    try {
      const base = url();
      const sep = base.includes('?') ? '&' : '?';
      const page = await api.get<Page<T>>(cursor.value ? `${base}${sep}${cursorParam}=${encodeURIComponent(cursor.value)}` : base);
      if (mine !== generation) return;
      const { items: pageItems, nextCursor, ...rest } = page;
      items.value = [...items.value, ...(pageItems ?? [])];
      extra.value = rest;
      cursor.value = nextCursor === null || nextCursor === undefined ? null : String(nextCursor);
      finished.value = !page.nextCursor;
    } catch (e) {
      if (mine !== generation) return;
      if (isApiError(e, 404) && /^no API route/.test(e.message)) missing.value = true;
      else error.value = e;
      finished.value = true;
    } finally {
      if (mine === generation) loading.value = false;
    }
  }

  function reset(): Promise<void> {
    generation += 1;
    items.value = [];
    cursor.value = null;
    finished.value = false;
    loading.value = false;
    error.value = null;
    return more();
  }

  return { items, finished, loading, error, missing, extra, more, reset };
}
