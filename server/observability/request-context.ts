import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What every log line written while serving one request, or running one job, carries: the request id
 * (from `X-Request-Id`, or made here) and, in jobs, the queue and job id. The callback's request id
 * travels in job data, so the event's job, the writes it queues and their WeCom calls log the same id.
 */
export interface RequestContext {
  requestId?: string;
  queue?: string;
  jobId?: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}

/** Job data with the current request id added (an id already in the data is kept). */
export function withRequestId<T>(data: T): T {
  const requestId = currentRequestId();
  if (!requestId || typeof data !== 'object' || data === null || Array.isArray(data) || 'requestId' in data) return data;
  return { ...data, requestId };
}
