/**
 * Real sockets on 127.0.0.1 (ephemeral ports) for what MockAgent cannot show: the errors undici itself raises,
 * and the client's own long-lived Agent.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PLURAL_ERROR_TYPE, PluralClient } from '../../plural-client';
import type { PluralError } from '../../plural-client';
import { CLIENT_ID, CLIENT_SECRET, envelope, order, ORDER_ID } from './fixtures';

const servers: Server[] = [];
const clients: PluralClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function newClient(baseUrl: string, timeoutMs = 2_000): PluralClient {
  const client = new PluralClient({ baseUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, timeoutMs });
  clients.push(client);
  return client;
}

async function rejection(p: Promise<unknown>): Promise<PluralError> {
  try {
    await p;
  } catch (err) {
    return err as PluralError;
  }
  throw new Error('expected the call to reject');
}

describe('against real sockets', () => {
  it('reuses its own keep-alive Agent across calls', async () => {
    const sockets = new Set<unknown>();
    const baseUrl = await listen((req, res) => {
      sockets.add(req.socket);
      res.setHeader('content-type', 'application/json');
      if (req.url === '/api/auth/v1/token') res.end(JSON.stringify({ access_token: 't', expires_in: 3600 }));
      else res.end(JSON.stringify(envelope(order())));
    });
    const client = newClient(`${baseUrl}/`);
    for (let i = 0; i < 3; i++) expect((await client.getOrder(ORDER_ID)).order_id).toBe(ORDER_ID);
    // 4 exchanges (token + 3 lookups); without keep-alive each would open its own connection.
    expect(sockets.size).toBeLessThan(4);
  });

  it('a refused connection is a retryable PluralConnectionError with code ECONNREFUSED', async () => {
    const baseUrl = await listen(() => undefined);
    const server = servers.pop()!;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const err = await rejection(newClient(baseUrl).getOrder(ORDER_ID));
    expect(err).toMatchObject({ type: PLURAL_ERROR_TYPE.CONNECTION, code: 'ECONNREFUSED', retryable: true });
    expect(err.message).toBe(
      'access token request failed: connection error ECONNREFUSED talking to Plural; retry with the same idempotency key',
    );
  });

  it('a socket closed before the response is a retryable connection error', async () => {
    const baseUrl = await listen((req, res) => {
      if (req.url === '/api/auth/v1/token') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ access_token: 't', expires_in: 3600 }));
      } else {
        req.socket.destroy();
      }
    });
    const err = await rejection(newClient(baseUrl).getOrder(ORDER_ID));
    expect(err).toMatchObject({ type: PLURAL_ERROR_TYPE.CONNECTION, retryable: true });
    expect(err.operation).toBe(`lookup of order ${ORDER_ID}`);
  });

  it('a server that never answers hits the per-call timeout', async () => {
    const baseUrl = await listen((req, res) => {
      if (req.url === '/api/auth/v1/token') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ access_token: 't', expires_in: 3600 }));
      }
      // otherwise hang
    });
    const err = await rejection(newClient(baseUrl).getOrder(ORDER_ID, { timeoutMs: 100 }));
    expect(err).toMatchObject({ type: PLURAL_ERROR_TYPE.TIMEOUT, timeoutMs: 100, retryable: true });
  });
});
