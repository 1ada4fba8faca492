/**
 * `Idempotency-Key` end to end: two API instances, each with its own Temporal connection, over the run's shared
 * Temporal dev server, the payment worker and the Plural sandbox, driven over HTTP only. A replay after the first
 * API has stopped comes from the second, identical; the same key with another body is a 409; concurrent requests
 * with one key run once; the key's workflow history holds no card data or OTP.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyDigest } from '../../api/idempotency';
import { startApiServer } from '../../api/main';
import type { RunningApi } from '../../api/main';
import { createTemporalEngine } from '../../api/temporal-engine';
import { createTemporalIdempotencyStore } from '../../api/temporal-idempotency-store';
import { InMemoryCardVault } from '../../card-vault';
import { createLogger } from '../../observability';
import type { PluralClient } from '../../plural-client';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import { createPaymentWorker } from '../../worker/worker';
import { paymentWorkflowId } from '../../workflows/definitions';
import { idempotencyWorkflowId } from '../../workflows/idempotency-definitions';
import { CARDS } from '../support/cards';
import { installQuietRuntime, sharedTemporalAddress } from '../support/temporal';
import { pluralClientFor } from '../support/plural';

const CVV = '739';
/** A distinctive OTP (the sandbox accepts it), so finding it in a history means it leaked. */
const CORRECT_OTP = '73914628';
const API_KEY = 'sk_idempotency_key_0123456789';

let sandbox: RunningSandbox;
let nativeConnection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let vault: InMemoryCardVault;
let plural: PluralClient;
const connections: Connection[] = [];
const apis: RunningApi[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One API instance: its own Temporal connection and client, nothing shared with another but Temporal and the vault. */
async function startApi(actionWaitMs = 15_000): Promise<RunningApi> {
  const connection = await Connection.connect({ address: sharedTemporalAddress() });
  connections.push(connection);
  const client = new Client({ connection });
  const port = await freePort();
  const api = await startApiServer({
    port,
    engine: createTemporalEngine({ client }),
    idempotency: createTemporalIdempotencyStore({ client }),
    vault,
    apiKeys: [API_KEY],
    callbackSecretHex: sandbox.credentials.callbackSecretHex,
    webhookSecret: sandbox.credentials.webhookSecret,
    fingerprintKey: 'idempotency-integration-fingerprint-key',
    publicBaseUrl: `http://127.0.0.1:${port}`,
    returnUrls: { success: 'https://merchant.example.test/paid', failure: 'https://merchant.example.test/failed' },
    logger: createLogger({ level: 'silent' }),
    timings: { startWaitMs: 15_000, actionWaitMs },
  });
  apis.push(api);
  return api;
}

interface Reply {
  status: number;
  body: Record<string, unknown> & { error?: { code: string } };
  headers: Headers;
}

async function post(on: RunningApi, path: string, key: string | undefined, body?: unknown): Promise<Reply> {
  const res = await fetch(`${on.url}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${API_KEY}`,
      ...(key !== undefined ? { 'idempotency-key': key } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Reply['body']) : {}, headers: res.headers };
}

const card = (number: string) => ({ number, name: 'Test Holder', expiry_month: '12', expiry_year: '2035', cvv: CVV });
const payment = (ref: string, value = 250_000) => ({
  merchant_order_reference: ref,
  amount: { value, currency: 'INR' },
  pre_auth: true,
  card: card(CARDS.nativeOtp),
});

/** The text of every payload in a history (base64 `data` decoded). */
function payloadText(history: unknown): string {
  return [...JSON.stringify(history).matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)]
    .map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'))
    .join('\n');
}

/** Accepted Updates of `name` in a workflow's history. */
async function acceptedUpdates(client: Client, workflowId: string, name: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter(
    (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === name,
  ).length;
}

beforeAll(async () => {
  installQuietRuntime();
  sandbox = await startSandbox({ seed: 11, callbackMode: 'redirect', otp: { correctOtp: CORRECT_OTP } });
  nativeConnection = await NativeConnection.connect({ address: sharedTemporalAddress() });
  vault = new InMemoryCardVault();
  plural = pluralClientFor(sandbox, 5_000);
  worker = await createPaymentWorker({
    connection: nativeConnection,
    plural,
    vault,
    logger: createLogger({ level: 'silent' }),
  });
  running = worker.run();
}, 180_000);

afterAll(async () => {
  await Promise.all(apis.map((a) => a.stop()));
  if (worker) {
    worker.shutdown();
    await running;
  }
  vault?.close();
  await plural?.close();
  await nativeConnection?.close();
  await Promise.all(connections.map((c) => c.close()));
  await sandbox?.stop();
}, 60_000);

describe('Idempotency-Key over Temporal, across API instances', () => {
  it('replays from a second API, after the first has stopped, exactly what the first answered', async () => {
    const first = await startApi();
    const ref = `ik-restart-${Date.now()}`;
    const key = `key-${ref}`;
    const created = await post(first, '/v1/payments', key, payment(ref));
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('AWAITING_OTP');
    const otp = await post(first, `/v1/payments/${ref}/otp`, `${key}-otp`, { otp: CORRECT_OTP });
    expect(otp.status).toBe(200);
    expect(otp.body.status).toBe('AUTHORIZED');
    await first.stop();

    const second = await startApi();
    const replayed = await post(second, '/v1/payments', key, payment(ref));
    expect(replayed.status).toBe(201);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.headers.get('location')).toBe(`/v1/payments/${ref}`);
    // The answer as it was then (AWAITING_OTP), not the payment as it is now (AUTHORIZED).
    expect(replayed.body).toEqual(created.body);
    const otpAgain = await post(second, `/v1/payments/${ref}/otp`, `${key}-otp`, { otp: CORRECT_OTP });
    expect(otpAgain.status).toBe(200);
    expect(otpAgain.body).toEqual(otp.body);

    const client = new Client({ connection: connections.at(-1)! });
    expect(await acceptedUpdates(client, paymentWorkflowId(ref), 'openPayment')).toBe(1);
    expect(await acceptedUpdates(client, paymentWorkflowId(ref), 'submitOtp')).toBe(1);

    // The key's record: named by a hash of the key, holding no PAN, CVV or OTP.
    const keyWorkflow = idempotencyWorkflowId('default', keyDigest(`${key}-otp`));
    const text = payloadText(await client.workflow.getHandle(keyWorkflow).fetchHistory());
    expect(text).toContain('AUTHORIZED');
    expect(text).not.toContain(CORRECT_OTP);
    expect(text).not.toContain(CARDS.nativeOtp);
    expect(text).not.toContain(`${key}-otp`);
    const createText = payloadText(
      await client.workflow.getHandle(idempotencyWorkflowId('default', keyDigest(key))).fetchHistory(),
    );
    expect(createText).not.toContain(CARDS.nativeOtp);
    expect(createText).not.toMatch(/"cvv"|"739"/);
  });

  it('answers the retry of a capture that went on (202) with that capture once done, not a refusal of a second one', async () => {
    const api = await startApi(1_500);
    const ref = `ik-capture-${Date.now()}`;
    expect((await post(api, '/v1/payments', undefined, payment(ref))).body.status).toBe('AWAITING_OTP');
    expect((await post(api, `/v1/payments/${ref}/otp`, undefined, { otp: CORRECT_OTP })).body.status).toBe(
      'AUTHORIZED',
    );
    const key = `key-${ref}-capture`;
    const partial = { amount: { value: 200_000, currency: 'INR' } };
    // Plural fails captures for longer than the API waits: the capture is accepted and goes on (202, not stored).
    sandbox.setFaults({ errorRate: 1, paths: ['/capture'] });
    let first: Reply;
    try {
      first = await post(api, `/v1/payments/${ref}/capture`, key, partial);
    } finally {
      sandbox.setFaults({ errorRate: 0, paths: [] });
    }
    expect(first.status).toBe(202);
    expect(first.body.status).toBe('AUTHORIZED');

    // The client retries with its key until it has an answer. Each retry is the same Update, so once Plural has taken
    // the capture the retry is told of it (200 PROCESSED, 2,000.00 captured), not refused as a second capture (409
    // payment_not_authorized, which the key would then replay for ever).
    let retry = first;
    for (let tries = 0; retry.status === 202 && tries < 20; tries++) {
      retry = await post(api, `/v1/payments/${ref}/capture`, key, partial);
    }
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ status: 'PROCESSED', captured_amount: { value: 200_000, currency: 'INR' } });
    expect(sandbox.order(String(retry.body.order_id))?.captureCount).toBe(1);
    const client = new Client({ connection: connections.at(-1)! });
    expect(await acceptedUpdates(client, paymentWorkflowId(ref), 'capture')).toBe(1);
    // Now final, it is the key's stored answer.
    const replayed = await post(api, `/v1/payments/${ref}/capture`, key, partial);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body).toEqual(retry.body);
  }, 60_000);

  it('answers 409 idempotency_key_mismatch to the same key with another body, from either API', async () => {
    const [one, two] = [await startApi(), await startApi()];
    const ref = `ik-mismatch-${Date.now()}`;
    const key = `key-${ref}`;
    expect((await post(one, '/v1/payments', key, payment(ref))).status).toBe(201);
    const other = await post(two, '/v1/payments', key, payment(ref, 1_000));
    expect(other.status).toBe(409);
    expect(other.body.error?.code).toBe('idempotency_key_mismatch');
    const otherPayment = await post(one, '/v1/payments', key, payment(`${ref}-b`));
    expect(otherPayment.status).toBe(409);
    expect(otherPayment.body.error?.code).toBe('idempotency_key_mismatch');
  });

  it('runs concurrent requests with one key once: the others are in progress (409) or a replay', async () => {
    const [one, two] = [await startApi(), await startApi()];
    const ref = `ik-concurrent-${Date.now()}`;
    const key = `key-${ref}`;
    const replies = await Promise.all(
      Array.from({ length: 6 }, (_, i) => post(i % 2 === 0 ? one : two, '/v1/payments', key, payment(ref))),
    );
    const executed = replies.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null);
    expect(executed).toHaveLength(1);
    for (const r of replies) {
      if (r === executed[0]) continue;
      // Either still running when it arrived, or the stored answer replayed.
      expect([r.status, r.body.error?.code ?? r.headers.get('idempotent-replayed')]).toSatisfy(
        ([status, what]: [number, string]) =>
          (status === 409 && what === 'idempotency_key_in_use') || (status === 201 && what === 'true'),
      );
    }
    const client = new Client({ connection: connections.at(-1)! });
    expect(await acceptedUpdates(client, paymentWorkflowId(ref), 'openPayment')).toBe(1);
  });
});
