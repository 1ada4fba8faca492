/** The cross-process card vault: HttpCardVault against the real router over loopback. */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CARD_VAULT_ERROR_CODE,
  createCardVaultRouter,
  HttpCardVault,
  isCardVaultError,
  listenCardVault,
  parseSplitHandle,
  TtlStore,
} from '../../card-vault';
import type { CardSecret, CardVaultError } from '../../card-vault';

const PAN = '4012001037141112';
const CVV = '739';
const OTP = '73914628';
const CARD: CardSecret = { number: PAN, cvv: CVV, name: 'Asha Rao', expiryMonth: '12', expiryYear: '2030' };
const TOKEN = 't'.repeat(24) + '-vault-token-0123456789';
const MINUTE = 60_000;
const MOUNT = '/mounted-elsewhere';

let now = 1_700_000_000_000;
let store: TtlStore<Buffer>;
let server: Server;
let baseUrl: string;
let agent: Agent;
let vault: HttpCardVault;

async function listen(app: express.Express): Promise<{ server: Server; url: string }> {
  const s = createServer(app);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return { server: s, url: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  store = new TtlStore<Buffer>({ capacity: 5, now: () => now });
  const app = express();
  app.use(MOUNT, createCardVaultRouter({ token: TOKEN, store, now: () => now }));
  ({ server, url: baseUrl } = await listen(app));
  agent = new Agent({ keepAliveTimeout: 1_000 });
  vault = new HttpCardVault({ url: `${baseUrl}${MOUNT}/`, token: TOKEN, dispatcher: agent, timeoutMs: 2_000 });
});

afterAll(async () => {
  await vault.close();
  await agent.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  store.close();
});

beforeEach(() => {
  store.clear();
});

async function rejection(p: Promise<unknown>): Promise<CardVaultError> {
  try {
    await p;
  } catch (err) {
    if (isCardVaultError(err)) return err;
    throw err;
  }
  throw new Error('expected a CardVaultError');
}

async function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const res = await request(`${baseUrl}${MOUNT}${path}`, {
    method: method as 'GET',
    headers,
    dispatcher: agent,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}
const auth = { authorization: `Bearer ${TOKEN}` };

describe('HttpCardVault with createCardVaultRouter', () => {
  it('round-trips a card through the server under a cv1.<id>.<key> handle', async () => {
    const handle = await vault.put(CARD, 5 * MINUTE);
    expect(handle).toMatch(/^cv1\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(handle).not.toContain(PAN);
    expect(await vault.get(handle)).toEqual(CARD);
    expect(store.size).toBe(1);
  });

  it('keeps neither the plaintext nor the key on the server', async () => {
    const handles = await Promise.all(Array.from({ length: 5 }, () => vault.put(CARD, MINUTE)));
    const memory = Buffer.concat([...store.values()]);
    for (const needle of [PAN, 'Asha Rao', `"cvv":"${CVV}"`]) {
      for (const enc of ['utf8', 'utf16le'] as const) expect(memory.includes(Buffer.from(needle, enc))).toBe(false);
      expect(memory.toString('base64')).not.toContain(Buffer.from(needle).toString('base64'));
      expect(memory.toString('hex')).not.toContain(Buffer.from(needle).toString('hex'));
    }
    for (const handle of handles) {
      const { key } = parseSplitHandle(handle)!;
      expect(memory.includes(key)).toBe(false);
    }
  });

  it('round-trips an OTP without the OTP reaching the server', async () => {
    const handle = await vault.put({ otp: OTP }, 10 * MINUTE);
    expect(handle).not.toContain(OTP);
    const memory = Buffer.concat([...store.values()]);
    expect(memory.includes(Buffer.from(OTP))).toBe(false);
    expect(memory.toString('base64')).not.toContain(Buffer.from(OTP).toString('base64'));
    expect(await vault.get(handle)).toEqual({ otp: OTP });
    await vault.destroy(handle);
    expect(await vault.get(handle)).toBeUndefined();
  });

  it('makes the handle worthless once destroyed', async () => {
    const handle = await vault.put(CARD, MINUTE);
    await vault.destroy(handle);
    expect(await vault.get(handle)).toBeUndefined();
    expect(store.size).toBe(0);
    await expect(vault.destroy(handle)).resolves.toBeUndefined();
    const id = parseSplitHandle(handle)!.id;
    expect((await raw('GET', `/secrets/${id}`, auth)).status).toBe(404);
  });

  it('forgets secrets after their TTL (404 from the server)', async () => {
    const handle = await vault.put(CARD, MINUTE);
    now += MINUTE;
    expect(await vault.get(handle)).toBeUndefined();
    expect((await raw('GET', `/secrets/${parseSplitHandle(handle)!.id}`, auth)).status).toBe(404);
  });

  it('rejects a handle whose key or id was tampered with, and malformed handles', async () => {
    const handle = await vault.put(CARD, MINUTE);
    const [prefix, id, key] = handle.split('.') as [string, string, string];
    const otherKey = `${key[0] === 'A' ? 'B' : 'A'}${key.slice(1)}`;
    expect(await vault.get(`${prefix}.${id}.${otherKey}`)).toBeUndefined();
    const otherId = `${id[0] === 'A' ? 'B' : 'A'}${id.slice(1)}`;
    expect(await vault.get(`${prefix}.${otherId}.${key}`)).toBeUndefined();
    expect(await vault.get(`${prefix}.${id}`)).toBeUndefined();
    expect(await vault.get('cvm1.AAAAAAAAAAAAAAAAAAAAAA')).toBeUndefined();
    expect(await vault.get(handle)).toEqual(CARD); // the tampering did not destroy the real entry
  });

  it('answers 401 without the bearer token, with a wrong one, and to a client holding a wrong one', async () => {
    const handle = await vault.put(CARD, MINUTE);
    const id = parseSplitHandle(handle)!.id;
    const none = await raw('GET', `/secrets/${id}`);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toContain('Bearer');
    expect(none.headers['cache-control']).toBe('no-store');
    expect((await raw('GET', `/secrets/${id}`, { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await raw('GET', `/secrets/${id}`, { authorization: `Basic ${TOKEN}` })).status).toBe(401);
    expect((await raw('DELETE', `/secrets/${id}`, { authorization: 'Bearer short' })).status).toBe(401);
    expect(store.size).toBe(1);
    const intruder = new HttpCardVault({ url: `${baseUrl}${MOUNT}`, token: 'x'.repeat(40), dispatcher: agent });
    const err = await rejection(intruder.get(handle));
    expect(err.code).toBe(CARD_VAULT_ERROR_CODE.VAULT_UNAUTHORIZED);
    expect(err.retryable).toBe(false);
  });

  it('answers 404 for unknown ids and 400 for malformed ones', async () => {
    expect((await raw('GET', '/secrets/AAAAAAAAAAAAAAAAAAAAAA', auth)).status).toBe(404);
    expect((await raw('GET', '/secrets/not-an-id', auth)).status).toBe(400);
    expect((await raw('GET', '/elsewhere', auth)).status).toBe(404);
  });

  it('limits request bodies and rejects bad ones with 4xx', async () => {
    const json = { ...auth, 'content-type': 'application/json' };
    const big = await raw(
      'PUT',
      '/secrets/AAAAAAAAAAAAAAAAAAAAAA',
      json,
      JSON.stringify({ sealed: 'A'.repeat(20_000), ttlMs: 1 }),
    );
    expect(big.status).toBe(413);
    expect((await raw('PUT', '/secrets/AAAAAAAAAAAAAAAAAAAAAA', json, '{not json')).status).toBe(400);
    const noTtl = await raw('PUT', '/secrets/AAAAAAAAAAAAAAAAAAAAAA', json, JSON.stringify({ sealed: 'A'.repeat(60) }));
    expect(noTtl.status).toBe(400);
    const longTtl = await raw(
      'PUT',
      '/secrets/AAAAAAAAAAAAAAAAAAAAAA',
      json,
      JSON.stringify({ sealed: 'A'.repeat(60), ttlMs: 1e9 }),
    );
    expect(longTtl.json).toMatchObject({ code: 'INVALID_TTL' });
    expect(store.size).toBe(0);
  });

  it('refuses to overwrite an existing id', async () => {
    const handle = await vault.put(CARD, MINUTE);
    const id = parseSplitHandle(handle)!.id;
    const res = await raw(
      'PUT',
      `/secrets/${id}`,
      { ...auth, 'content-type': 'application/json' },
      JSON.stringify({ sealed: 'A'.repeat(60), ttlMs: MINUTE }),
    );
    expect(res.status).toBe(409);
    expect(await vault.get(handle)).toEqual(CARD);
  });

  it('reports a full server as VAULT_FULL (retryable), without card data in the error', async () => {
    for (let i = 0; i < 5; i++) await vault.put(CARD, MINUTE);
    const err = await rejection(vault.put(CARD, MINUTE));
    expect(err.code).toBe(CARD_VAULT_ERROR_CODE.VAULT_FULL);
    expect(err.retryable).toBe(true);
    expect(err.message).not.toContain(PAN);
  });

  it('reports an unreachable server as VAULT_UNAVAILABLE (retryable)', async () => {
    const { server: gone, url } = await listen(express());
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    const offline = new HttpCardVault({ url, token: TOKEN, timeoutMs: 1_000 });
    try {
      const err = await rejection(offline.put(CARD, MINUTE));
      expect(err.code).toBe(CARD_VAULT_ERROR_CODE.VAULT_UNAVAILABLE);
      expect(err.retryable).toBe(true);
      expect(err.message).not.toContain(PAN);
      expect(err.message).not.toContain(TOKEN);
    } finally {
      await offline.close();
    }
  });

  it("interoperates with the router's localVault: the API puts in-process, the worker reads and destroys over HTTP", async () => {
    const router = createCardVaultRouter({ token: TOKEN, store, now: () => now });
    const handle = await router.localVault.put(CARD, MINUTE);
    expect(handle).toMatch(/^cv1\./);
    const { key } = parseSplitHandle(handle)!;
    expect(Buffer.concat([...store.values()]).includes(key)).toBe(false);
    expect(await vault.get(handle)).toEqual(CARD);
    await vault.destroy(handle);
    expect(await router.localVault.get(handle)).toBeUndefined();
    const back = await vault.put(CARD, MINUTE);
    expect(await router.localVault.get(back)).toEqual(CARD);
    await router.localVault.destroy(back);
    expect(store.size).toBe(0);
  });

  it('refuses to build a router with a weak token', () => {
    expect(() => createCardVaultRouter({ token: 'short' })).toThrow(/at least 32 characters/);
  });
});

describe('listenCardVault (the API process serves the vault on an address of its own)', () => {
  it('serves the router at the root of its own port: a worker sets CARD_VAULT_URL to its url', async () => {
    const router = createCardVaultRouter({ token: TOKEN });
    const own = await listenCardVault(router, '127.0.0.1', 0);
    const worker = new HttpCardVault({ url: own.url, token: TOKEN, timeoutMs: 2_000 });
    try {
      expect(own.url).toBe(`http://127.0.0.1:${own.port}`);
      const handle = await router.localVault.put(CARD, MINUTE);
      expect(await worker.get(handle)).toEqual(CARD);
      await worker.destroy(handle);
      expect(await router.localVault.get(handle)).toBeUndefined();
      // Nothing else answers there: not the API's routes, not the old mount path.
      for (const path of ['/v1/payments', '/internal/card-vault/secrets/AAAAAAAAAAAAAAAAAAAAAA']) {
        const res = await request(`${own.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        expect(res.statusCode).toBe(404);
        expect(((await res.body.json()) as { code: string }).code).toBe('NOT_FOUND');
      }
      const anonymous = await request(`${own.url}/secrets/AAAAAAAAAAAAAAAAAAAAAA`);
      expect(anonymous.statusCode).toBe(401);
      await anonymous.body.dump();
    } finally {
      await worker.close();
      await own.close();
      router.close();
    }
    // Closed: the port no longer answers.
    const after = new HttpCardVault({ url: own.url, token: TOKEN, timeoutMs: 1_000 });
    try {
      expect((await rejection(after.get(`cv1.${'A'.repeat(22)}.${'A'.repeat(43)}`))).code).toBe(
        CARD_VAULT_ERROR_CODE.VAULT_UNAVAILABLE,
      );
    } finally {
      await after.close();
    }
  });
});
