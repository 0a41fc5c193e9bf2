// A tiny callback receiver for tests: verifies signatures and decrypts with the simulator's crypto,
// answers GET verification, and can be told to fail (status) or stall (delay) on the next requests.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { XMLParser } from 'fast-xml-parser';
import { decryptMessage, verifySignature } from '../crypto.ts';

export const TOKEN = 'simtesttoken';
export const AES_KEY = 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C';

const parser = new XMLParser({ parseTagValue: false, processEntities: false });

export interface Received {
  method: string;
  signatureOk: boolean;
  receiveId?: string;
  envelope?: Record<string, string>;
  event?: Record<string, string>;
  contentType?: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  events(): Record<string, string>[];
  /** Behaviour for the next N POSTs: an HTTP status, or a delay before answering 200. */
  plan: ({ status: number } | { delayMs: number })[];
  /** false makes GET verification answer the wrong body. */
  verifyCorrectly: boolean;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const state: Receiver = {
    url: '',
    received: [],
    plan: [],
    verifyCorrectly: true,
    events: () => state.received.filter((r) => r.method === 'POST' && r.signatureOk).map((r) => r.event!),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const q = Object.fromEntries(url.searchParams);
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => {
      if (req.method === 'GET') {
        const ok = verifySignature(TOKEN, q.timestamp!, q.nonce!, q.echostr!, q.msg_signature!);
        const plain = decryptMessage(AES_KEY, q.echostr!);
        state.received.push({ method: 'GET', signatureOk: ok, receiveId: plain.receiveId });
        res.end(state.verifyCorrectly && ok ? plain.message : 'wrong');
        return;
      }
      const envelope = parser.parse(data).xml as Record<string, string>;
      const encrypt = envelope.Encrypt!;
      const ok = verifySignature(TOKEN, q.timestamp!, q.nonce!, encrypt, q.msg_signature!);
      const plain = decryptMessage(AES_KEY, encrypt);
      const event = parser.parse(plain.message).xml as Record<string, string>;
      state.received.push({ method: 'POST', signatureOk: ok, receiveId: plain.receiveId, envelope, event, contentType: req.headers['content-type'] });
      const step = state.plan.shift();
      if (step && 'status' in step) {
        res.statusCode = step.status;
        res.end('nope');
      } else if (step && 'delayMs' in step) {
        setTimeout(() => res.end(''), step.delayMs);
      } else {
        res.end('');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/wecom/callback`;
  return state;
}
