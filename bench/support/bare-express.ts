import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

/** The baseline: a bare Express 5 app answering POST /wecom/callback with an empty 200. */
export async function startBareExpress(): Promise<{ url: string; close: () => Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  app.post('/wecom/callback', (_req, res) => {
    res.status(200).type('text/plain').send('');
  });
  const server = createServer(app);
  server.keepAliveTimeout = 5_000; // as the product's server
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
