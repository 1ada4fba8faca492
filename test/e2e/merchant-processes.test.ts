/**
 * `npm run api` and `npm run worker` as separate processes with `MERCHANTS_FILE`: two merchant accounts, each with its
 * own Plural account (a sandbox each), on the run's shared Temporal dev server (a task queue of this file's own), the
 * card vault reached over HTTP. Each merchant pays through its own Plural account; the other merchant's key finds
 * nothing; both use the same reference.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import { CARDS } from '../support/cards';
import { sharedTemporalAddress } from '../support/temporal';
import { waitFor } from '../support/wait';

const ROOT = path.join(__dirname, '..', '..');
const RUN = `mp${Date.now().toString(36)}`;
const OTP = '123456';
const KEYS = { acme: 'sk_acme_process_key_0123456789', globex: 'sk_globex_process_key_012345678' } as const;
const ACCOUNTS = {
  acme: {
    clientId: 'acme-proc-client',
    clientSecret: 'acme-proc-client-secret-5e1',
    callbackSecretHex: Buffer.from('acme-proc-callback-key!!').toString('hex'),
    webhookSecret: 'acme-proc-webhook-secret-77',
  },
  globex: {
    clientId: 'globex-proc-client',
    clientSecret: 'globex-proc-client-secret-0a',
    callbackSecretHex: Buffer.from('globex-proc-callback-key').toString('hex'),
    webhookSecret: 'globex-proc-webhook-secret-1',
  },
} as const;
type Merchant = keyof typeof ACCOUNTS;

const sandboxes = {} as Record<Merchant, RunningSandbox>;
const children: ChildProcess[] = [];
let dir: string;
let apiUrl: string;
const output: string[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function start(entry: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => output.push(c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => output.push(c.toString('utf8')));
  children.push(child);
  return child;
}

async function call(merchant: Merchant, method: string, p: string, body?: unknown) {
  const res = await fetch(`${apiUrl}${p}`, {
    method,
    headers: {
      authorization: `Bearer ${KEYS[merchant]}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  sandboxes.acme = await startSandbox({ seed: 31, ...ACCOUNTS.acme });
  sandboxes.globex = await startSandbox({ seed: 32, ...ACCOUNTS.globex });
  dir = mkdtempSync(path.join(os.tmpdir(), 'merchant-processes-'));
  const file = path.join(dir, 'merchants.json');
  writeFileSync(
    file,
    JSON.stringify(
      (['acme', 'globex'] as const).map((id) => ({
        id,
        apiKeys: [KEYS[id]],
        plural: { baseUrl: sandboxes[id].baseUrl, ...ACCOUNTS[id] },
      })),
    ),
  );
  const port = await freePort();
  const vaultPort = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  const vaultToken = 'v'.repeat(48);
  const common = {
    MERCHANTS_FILE: file,
    TEMPORAL_ADDRESS: sharedTemporalAddress(),
    TEMPORAL_TASK_QUEUE: `merchants-${RUN}`,
    PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 5).toString('base64')}`,
    CARD_VAULT_TOKEN: vaultToken,
    LOG_LEVEL: 'info',
  };
  start('api/server.ts', {
    ...common,
    API_PORT: String(port),
    API_PUBLIC_URL: apiUrl,
    CARD_VAULT_PORT: String(vaultPort),
    API_FINGERPRINT_KEY: 'merchant-processes-fingerprint',
    MERCHANT_SUCCESS_URL: 'https://m.example/ok',
    MERCHANT_FAILURE_URL: 'https://m.example/ko',
  });
  start('worker/main.ts', {
    ...common,
    CARD_VAULT_URL: `http://127.0.0.1:${vaultPort}`,
    WORKER_METRICS_PORT: '0',
  });
  await waitFor(
    'the API and the worker to start',
    async () => {
      const up = await fetch(`${apiUrl}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      return up && output.join('').includes('payment worker started') ? true : undefined;
    },
    { timeoutMs: 90_000, describeLast: () => output.join('').slice(-2000) },
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
          c.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
  await Promise.all(Object.values(sandboxes).map((s) => s.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('npm run api and npm run worker with MERCHANTS_FILE', () => {
  it('pays each merchant through its own Plural account, and hides each from the other', async () => {
    const ref = `${RUN}-order-1`;
    const payment = (value: number) => ({
      merchant_order_reference: ref,
      amount: { value, currency: 'INR' },
      pre_auth: true,
      card: { number: CARDS.nativeOtp, name: 'Proc Test', expiry_month: '12', expiry_year: '2035', cvv: '739' },
    });
    const a = await call('acme', 'POST', '/v1/payments', payment(12_300));
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    expect(a.body.status).toBe('AWAITING_OTP');
    // globex does not see acme's payment, and cannot act on it.
    expect((await call('globex', 'GET', `/v1/payments/${ref}`)).status).toBe(404);
    expect((await call('globex', 'POST', `/v1/payments/${ref}/otp`, { otp: OTP })).status).toBe(404);
    // The same reference is free for globex.
    const g = await call('globex', 'POST', '/v1/payments', payment(45_600));
    expect(g.status, JSON.stringify(g.body)).toBe(201);
    expect((await call('acme', 'POST', `/v1/payments/${ref}/otp`, { otp: OTP })).body.status).toBe('AUTHORIZED');
    expect((await call('globex', 'GET', `/v1/payments/${ref}`)).body.status).toBe('AWAITING_OTP');
    // Each order is at its own merchant's Plural account.
    expect(sandboxes.acme.order(String(a.body.order_id))?.status).toBe('AUTHORIZED');
    expect(sandboxes.globex.order(String(a.body.order_id))).toBeUndefined();
    expect(sandboxes.globex.order(String(g.body.order_id))?.amount.value).toBe(45_600);
    // Neither process logged a merchant secret.
    const logs = output.join('');
    for (const secret of [...Object.values(KEYS), ...Object.values(ACCOUNTS).map((s) => s.clientSecret)])
      expect(logs).not.toContain(secret);
    expect(logs).toContain('"merchants":["acme","globex"]');
  }, 120_000);

  // Last: it stops globex's Plural.
  it("checks every merchant's Plural origin for /readyz: degraded once one of them is down", async () => {
    const ready = async () => (await (await fetch(`${apiUrl}/readyz`)).json()) as Record<string, unknown>;
    expect(await ready()).toMatchObject({ status: 'ready', gateway: { reachable: true } });
    await sandboxes.globex.stop();
    // The probe's answer is cached for 5 s.
    const degraded = await waitFor(
      '/readyz to report the gateway down',
      async () => {
        const body = await ready();
        return body.status === 'degraded' ? body : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(degraded).toMatchObject({ engine: { reachable: true }, gateway: { reachable: false } });
    // The API's warning names the origin (its log reaches this process through a pipe, a moment after the answer).
    const origin = new URL(sandboxes.globex.baseUrl).origin;
    await waitFor("the API's warning naming globex's Plural", () => output.join('').includes(origin) || undefined, {
      timeoutMs: 10_000,
    });
  }, 60_000);
});
