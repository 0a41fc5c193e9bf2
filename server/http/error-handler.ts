import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
import type { Logger } from '../logger.ts';
import { DomainError, STATUS_OF } from './domain-error.ts';
import { reason } from './reason.ts';

/** Turns any thrown error into a JSON answer; unexpected errors become a 500 without internals. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    if (res.headersSent) return;
    if (error instanceof DomainError) {
      res.status(STATUS_OF[error.code]).json({ error: { code: error.code, message: error.message, ...(error.reason ? { reason: error.reason } : {}), ...error.details } });
      return;
    }
    if (error instanceof ZodError) {
      const message = error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      // The fields at fault, for the web app to name in the member's language.
      const fields = [...new Set(error.issues.map((i) => i.path.join('.') || 'body'))];
      res.status(400).json({ error: { code: 'BAD_REQUEST', message, reason: reason('request.invalid_fields', { fields }) } });
      return;
    }
    const status = (error as { status?: number; type?: string }).status;
    if (status === 413) {
      res.status(413).json({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'request body is larger than allowed' } });
      return;
    }
    if (status && status >= 400 && status < 500) {
      res.status(status).json({ error: { code: 'BAD_REQUEST', message: 'the request body could not be read; send valid JSON' } });
      return;
    }
    logger.error({ err: error, method: req.method, path: req.path }, 'unhandled error');
    res.status(500).json({ error: { code: 'INTERNAL', message: 'internal error; it has been logged' } });
  };
}
