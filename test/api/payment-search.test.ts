/**
 * `GET /v1/payments` over the real engine: createTemporalEngine on the official Temporal dev server (SQLite
 * visibility), the payment worker on a task queue of this file's own and the Plural sandbox, driven over HTTP only.
 * Filters, newest first, paging with the signed cursor, and listing with no worker running. Visibility is eventually
 * consistent, so every first read of a change waits for it (bounded).
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer } from '../../api/main';
import type { RunningApi } from '../../api/main';
import { createTemporalEngine } from '../../api/temporal-engine';
import { InMemoryCardVault } from '../../card-vault';
import { createLogger } from '../../observability';
import type { PluralClient } from '../../plural-client';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import { createPaymentWorker } from '../../worker/worker';
import { paymentWorkflowId } from '../../workflows/definitions';
import { CARDS } from '../support/cards';
import { installQuietRuntime, sharedTemporalAddress } from '../support/temporal';
import { pluralClientFor } from '../support/plural';
import { waitFor } from '../support/wait';

const OTP_CARD = CARDS.nativeOtp;
const CORRECT_OTP = '73914628';
const API_KEY = 'sk_search_key_0123456789';
/** This run's references all start with it, so other files' payments on the shared server never show up. */
const RUN = `srch${Date.now().toString(36)}`;
const A = `${RUN}-a`;
/** A payment that continues as new (its references do not start with RUN, so the lists above never show it). */
const CAN = `can${Date.now().toString(36)}`;
const TASK_QUEUE = `search-${RUN}`;
/** How long a change may take to show in visibility before the test fails. */
const VISIBILITY_WAIT_MS = 15_000;

let sandbox: RunningSandbox;
let connection: Connection;
let nativeConnection: NativeConnection;
let worker: Worker | undefined;
let running: Promise<void> | undefined;
let vault: InMemoryCardVault;
let plural: PluralClient;
let api: RunningApi;
let engine: ReturnType<typeof createTemporalEngine>;
/** The merchant order references of group A in creation order (oldest first). */
const created: string[] = [];

interface Summary {
  object: string;
  merchant_order_reference: string;
  status: string;
  amount: { value: number; currency: string };
  order_id: string | null;
  created_at: string;
}
interface Page {
  object: string;
  data: Summary[];
  next_cursor: string | null;
}
interface Reply<T> {
  status: number;
  body: T & { error?: { code: string } };
}

async function call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${API_KEY}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Reply<T>['body'] };
}

const search = (query: string) => call<Page>('GET', `/v1/payments?${query}`);
const refs = (page: Page) => page.data.map((p) => p.merchant_order_reference);

/** Every page of a search, following next_cursor with the same filters. */
async function allPages(filters: string, limit: number): Promise<Page[]> {
  const pages: Page[] = [];
  let cursor: string | null = null;
  do {
    const res: Reply<Page> = await search(`${filters}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    pages.push(res.body);
    cursor = res.body.next_cursor;
  } while (cursor !== null && pages.length < 50);
  return pages;
}

/** The first page of `query` once `done` holds for it (visibility lags the workflow). */
async function eventually(query: string, done: (page: Page) => boolean): Promise<Page> {
  let last: Page | undefined;
  return waitFor(
    `visibility to show ${query}`,
    async () => {
      const res = await search(query);
      expect(res.status).toBe(200);
      last = res.body;
      return done(last) ? last : undefined;
    },
    { timeoutMs: VISIBILITY_WAIT_MS, intervalMs: 200, describeLast: () => `last page ${JSON.stringify(last)}` },
  );
}

async function createAwaitingOtp(ref: string, value = 10_000): Promise<void> {
  const res = await call('POST', '/v1/payments', {
    merchant_order_reference: ref,
    amount: { value, currency: 'INR' },
    pre_auth: true,
    card: { number: OTP_CARD, name: 'Search Test', expiry_month: '12', expiry_year: '2035', cvv: '739' },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.status).toBe('AWAITING_OTP');
}

async function authorize(ref: string): Promise<void> {
  const res = await call('POST', `/v1/payments/${ref}/otp`, { otp: CORRECT_OTP });
  expect(res.body.status).toBe('AUTHORIZED');
}

beforeAll(async () => {
  installQuietRuntime();
  sandbox = await startSandbox({ seed: 11, callbackMode: 'redirect', otp: { correctOtp: CORRECT_OTP } });
  connection = await Connection.connect({ address: sharedTemporalAddress() });
  nativeConnection = await NativeConnection.connect({ address: sharedTemporalAddress() });
  vault = new InMemoryCardVault();
  plural = pluralClientFor(sandbox, 5_000);
  const silent = createLogger({ level: 'silent' });
  worker = await createPaymentWorker({
    connection: nativeConnection,
    plural,
    vault,
    logger: silent,
    taskQueue: TASK_QUEUE,
  });
  running = worker.run();
  engine = createTemporalEngine({ client: new Client({ connection }), taskQueue: TASK_QUEUE });
  api = await startApiServer({
    engine,
    // Below any refund's history: a payment that handles a refund continues as new (the other payments never do).
    paymentLimits: { continueAsNewAfterEvents: 20 },
    vault,
    apiKeys: [API_KEY],
    callbackSecretHex: sandbox.credentials.callbackSecretHex,
    webhookSecret: sandbox.credentials.webhookSecret,
    fingerprintKey: 'search-fingerprint-key',
    publicBaseUrl: 'http://127.0.0.1:1',
    returnUrls: { success: 'https://merchant.example.test/paid', failure: 'https://merchant.example.test/failed' },
    logger: silent,
    timings: { startWaitMs: 15_000, actionWaitMs: 15_000 },
  });

  // Same prefix but another case, created first (so the oldest): SQLite's STARTS_WITH matches it, the API must not.
  await createAwaitingOtp(`${RUN}-Ab`);
  for (let i = 1; i <= 5; i++) {
    const ref = `${A}${i}`;
    await createAwaitingOtp(ref, 10_000 + i);
    created.push(ref);
  }
  await authorize(`${A}2`);
  await authorize(`${A}4`);
  // Another group: one payment that ends (CANCELLED), so its workflow closes.
  const ended = `${RUN}-b1`;
  await createAwaitingOtp(ended);
  await authorize(ended);
  expect((await call('POST', `/v1/payments/${ended}/cancel`)).body.status).toBe('CANCELLED');
  await new Client({ connection }).workflow.getHandle(paymentWorkflowId(ended)).result();
}, 180_000);

afterAll(async () => {
  await api?.stop();
  if (worker && worker.getState() === 'RUNNING') worker.shutdown();
  await running;
  vault?.close();
  await plural?.close();
  await nativeConnection?.close();
  await connection?.close();
  await sandbox?.stop();
}, 60_000);

describe('GET /v1/payments on the Temporal dev server', () => {
  it('lists a prefix newest first, two a page, following next_cursor to the end', async () => {
    await eventually(
      `reference_prefix=${A}&limit=100`,
      (p) => p.data.length === 5 && p.data.filter((s) => s.status === 'AUTHORIZED').length === 2,
    );
    const pages = await allPages(`reference_prefix=${A}`, 2);
    expect(pages[0]!.data.map((s) => s.merchant_order_reference)).toEqual([`${A}5`, `${A}4`]);
    for (const page of pages) {
      expect(page.object).toBe('list');
      expect(page.data.length).toBeLessThanOrEqual(2);
    }
    // The case-variant reference is dropped from the last store page, which may come back short (even empty).
    expect(pages.flatMap(refs)).toEqual([...created].reverse());
    expect(pages.at(-1)!.next_cursor).toBeNull();
    const newest = pages[0]!.data[0]!;
    expect(newest).toMatchObject({
      object: 'payment_summary',
      merchant_order_reference: `${A}5`,
      status: 'AWAITING_OTP',
      amount: { value: 10_005, currency: 'INR' },
      pre_auth: true,
      payment_method: 'card',
    });
    expect(typeof newest.order_id).toBe('string');
    expect(JSON.stringify(pages)).not.toContain(OTP_CARD);
  });

  it('filters by status, one or several, including a payment whose workflow has ended', async () => {
    const authorized = await eventually(`status=AUTHORIZED&reference_prefix=${RUN}-`, (p) => p.data.length === 2);
    expect(refs(authorized)).toEqual([`${A}4`, `${A}2`]);
    const cancelled = await eventually(`status=CANCELLED&reference_prefix=${RUN}-`, (p) => p.data.length === 1);
    expect(refs(cancelled)).toEqual([`${RUN}-b1`]);
    const both = (await search(`status=AWAITING_OTP,AUTHORIZED&reference_prefix=${A}`)).body;
    expect(refs(both)).toEqual([...created].reverse());
  });

  it('filters by creation time: created_from included, created_to excluded', async () => {
    const all = (await search(`reference_prefix=${A}`)).body.data;
    const at = (ref: string) => Date.parse(all.find((s) => s.merchant_order_reference === ref)!.created_at);
    // Between the 2nd and 3rd payment (each create waits for the payment, so they are well apart).
    const between = new Date((at(`${A}2`) + at(`${A}3`)) / 2).toISOString();
    const from = (await search(`reference_prefix=${A}&created_from=${between}`)).body;
    expect(refs(from)).toEqual([`${A}5`, `${A}4`, `${A}3`]);
    const to = (await search(`reference_prefix=${A}&created_to=${between}`)).body;
    expect(refs(to)).toEqual([`${A}2`, `${A}1`]);
    const exactFrom = new Date(at(`${A}3`)).toISOString();
    expect(refs((await search(`reference_prefix=${A}&created_from=${exactFrom}`)).body)).toContain(`${A}3`);
    // The list tells the creation time GET does (the workflow's, not the API's clock a moment before it started).
    expect((await call<{ created_at: string }>('GET', `/v1/payments/${A}3`)).body.created_at).toBe(exactFrom);
  });

  it('refuses a forged cursor, and a real one sent with other filters, with 400 invalid_cursor', async () => {
    const first = (await search(`reference_prefix=${A}&limit=2`)).body;
    expect(first.next_cursor).not.toBeNull();
    const cursor = first.next_cursor!;
    const flipped = `${cursor.slice(0, 12)}${cursor[12] === 'A' ? 'B' : 'A'}${cursor.slice(13)}`;
    for (const query of [
      `reference_prefix=${A}&limit=2&cursor=${flipped}`,
      `reference_prefix=${RUN}&limit=2&cursor=${cursor}`,
      `reference_prefix=${A}&status=AUTHORIZED&limit=2&cursor=${cursor}`,
    ]) {
      const res = await search(query);
      expect(res.status, query).toBe(400);
      expect(res.body.error?.code).toBe('invalid_cursor');
    }
    expect(refs((await search(`reference_prefix=${A}&limit=3&cursor=${cursor}`)).body)).toEqual([
      `${A}3`,
      `${A}2`,
      `${A}1`,
    ]);
  });

  it('lists ended payments after running ones: SQL visibility takes no ORDER BY and sorts by close time first', async () => {
    const page = await eventually(`reference_prefix=${RUN}-`, (p) => p.data.length === 7);
    // b1 was created last but has ended; the store lists running workflows first (newest started first).
    expect(refs(page)).toEqual([...[...created].reverse(), `${RUN}-Ab`, `${RUN}-b1`]);
  });

  it('finds a payment that continued as new by its creation time, and ages its callbacks from it', async () => {
    // Plural's webhooks reach the API for this payment alone: the refund's wakes its refund window, which then
    // continues as new (its history is past the limit).
    sandbox.setWebhookUrl(`${api.url}/v1/webhooks/plural`);
    try {
      const ref = `${CAN}1`;
      const created = await call('POST', '/v1/payments', {
        merchant_order_reference: ref,
        amount: { value: 5_000, currency: 'INR' },
        pre_auth: false,
        card: { number: OTP_CARD, name: 'Search Test', expiry_month: '12', expiry_year: '2035', cvv: '739' },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect((await call('POST', `/v1/payments/${ref}/otp`, { otp: CORRECT_OTP })).body.status).toBe('PROCESSED');
      const handle = new Client({ connection }).workflow.getHandle(paymentWorkflowId(ref));
      const firstRun = (await handle.describe()).runId;
      const refunded = await call('POST', `/v1/payments/${ref}/refunds`, {
        merchant_refund_reference: `${ref}-r1`,
        amount: { value: 1_000, currency: 'INR' },
      });
      expect(refunded.status, JSON.stringify(refunded.body)).toBe(201);
      const running = await waitFor(
        'the payment to continue as new',
        async () => {
          const d = await handle.describe();
          return d.runId !== firstRun ? d : undefined;
        },
        { timeoutMs: VISIBILITY_WAIT_MS },
      );
      const payment = await call<{ created_at: string; order_id: string }>('GET', `/v1/payments/${ref}`);
      const createdAt = Date.parse(payment.body.created_at);
      const at = (ms: number) => new Date(ms).toISOString();
      // The running run started after the refund; the payment was created before it, and is searched by that.
      expect(running.startTime.getTime()).toBeGreaterThan(createdAt);
      const listed = await eventually(`reference_prefix=${CAN}&created_to=${at(createdAt + 1)}`, (p) =>
        refs(p).includes(ref),
      );
      // The list and GET tell the same creation time.
      expect(listed.data.find((s) => s.merchant_order_reference === ref)?.created_at).toBe(payment.body.created_at);
      expect(refs((await search(`reference_prefix=${CAN}&created_from=${at(createdAt)}`)).body)).toEqual([ref]);
      expect(refs((await search(`reference_prefix=${CAN}&created_from=${at(createdAt + 1)}`)).body)).toEqual([]);
      // A callback is aged from the payment's creation too, not from the run's start.
      const callback = { orderId: payment.body.order_id, status: 'PROCESSED' };
      expect(await engine.deliverCallback(callback, { startedAfterMs: createdAt + 1 })).toMatchObject({
        delivered: false,
        tooOld: true,
      });
    } finally {
      sandbox.setWebhookUrl(undefined);
    }
  });

  it('lists from the memo with no worker running', async () => {
    worker!.shutdown();
    await running;
    const page = (await search(`reference_prefix=${A}`)).body;
    expect(refs(page)).toEqual([...created].reverse());
    expect(page.data.map((s) => s.status)).toEqual([
      'AWAITING_OTP',
      'AUTHORIZED',
      'AWAITING_OTP',
      'AUTHORIZED',
      'AWAITING_OTP',
    ]);
  });
});
