/* eslint-disable @typescript-eslint/no-unsafe-call -- tests walk untyped JSON responses */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { startSandbox, type RunningSandbox, type SandboxOptions } from '../../plural-sandbox';
import { CARDS } from '../support/cards';
import { waitFor } from '../support/wait';

export interface ApiResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response JSON is read ad hoc by tests
  body: any;
  headers: Headers;
  text: string;
}

/**
 * A tiny HTTP client bound to a sandbox and (optionally) an access token for Plural's API and the control token for
 * `/__sandbox/...`.
 */
export class Api {
  constructor(
    readonly baseUrl: string,
    public token: string | undefined = undefined,
    public controlToken: string | undefined = undefined,
  ) {}

  async call(
    method: string,
    path: string,
    body?: unknown,
    init: { token?: string | null; raw?: string; contentType?: string; timeoutMs?: number } = {},
  ): Promise<ApiResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const fallback = path.startsWith('/__sandbox') ? this.controlToken : this.token;
    const token = init.token === undefined ? fallback : init.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (init.raw !== undefined) payload = init.raw;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: payload,
      redirect: 'manual',
      signal: init.timeoutMs ? AbortSignal.timeout(init.timeoutMs) : undefined,
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, headers: res.headers, text };
  }

  get = (path: string) => this.call('GET', path);
  post = (path: string, body?: unknown) => this.call('POST', path, body);
  put = (path: string, body?: unknown) => this.call('PUT', path, body);
}

/** Starts a sandbox and returns it with an authenticated client. */
export async function startWithApi(options: SandboxOptions = {}): Promise<{ sandbox: RunningSandbox; api: Api }> {
  const sandbox = await startSandbox(options);
  const api = new Api(sandbox.baseUrl, undefined, sandbox.controlToken);
  const res = await api.post('/api/auth/v1/token', {
    client_id: sandbox.credentials.clientId,
    client_secret: sandbox.credentials.clientSecret,
    grant_type: 'client_credentials',
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status}`);
  api.token = res.body.access_token;
  return { sandbox, api };
}

let refCounter = 0;
/** A merchant_order_reference unique within the test process. */
export const uniqueRef = (prefix = 'ref'): string => `${prefix}-${process.pid}-${++refCounter}`;

export function orderBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    merchant_order_reference: uniqueRef('order'),
    order_amount: { value: 50_000, currency: 'INR' },
    pre_auth: true,
    callback_url: 'https://merchant.example/callback',
    failure_callback_url: 'https://merchant.example/failure',
    purchase_details: { customer: { customer_id: 'cust-test-1', email_id: 'kevin.bob@example.com' } },
    ...overrides,
  };
}

export function cardPayment(
  number: string,
  value: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    payments: [
      {
        merchant_payment_reference: uniqueRef('pay'),
        payment_method: 'CARD',
        payment_amount: { value, currency: 'INR' },
        payment_option: {
          card_details: {
            name: 'Kevin Bob',
            card_number: number,
            cvv: '123',
            expiry_month: '12',
            expiry_year: '2099',
            ...extra,
          },
        },
      },
    ],
  };
}

/** Creates an order and one card payment; returns ids. */
export async function pendingOrder(
  api: Api,
  opts: { card?: string; amount?: number; preAuth?: boolean; order?: Record<string, unknown> } = {},
): Promise<{ orderId: string; paymentId: string; challengeUrl: string; ref: string }> {
  const amount = opts.amount ?? 50_000;
  const body = orderBody({
    order_amount: { value: amount, currency: 'INR' },
    pre_auth: opts.preAuth ?? true,
    ...opts.order,
  });
  const created = await api.post('/api/pay/v1/orders', body);
  if (created.status !== 200) throw new Error(`create order: ${created.status} ${created.text}`);
  const orderId: string = created.body.data.order_id;
  const paid = await api.post(
    `/api/pay/v1/orders/${orderId}/payments`,
    cardPayment(opts.card ?? CARDS.nativeOtp, amount),
  );
  if (paid.status !== 200) throw new Error(`create payment: ${paid.status} ${paid.text}`);
  return {
    orderId,
    paymentId: paid.body.data.payments.at(-1).id,
    challengeUrl: paid.body.data.challenge_url,
    ref: String(body.merchant_order_reference),
  };
}

/** Completes authentication through the native OTP API with the correct OTP. */
export async function authorizeWithOtp(api: Api, paymentId: string): Promise<void> {
  const gen = await api.post('/api/pay/v1/otp/generate', { payment_id: paymentId });
  if (gen.status !== 200) throw new Error(`otp generate: ${gen.status} ${gen.text}`);
  const sub = await api.post('/api/pay/v1/otp/submit', { payment_id: paymentId, otp: '123456' });
  if (sub.status !== 200) throw new Error(`otp submit: ${sub.status} ${sub.text}`);
}

/** An AUTHORIZED (pre_auth) order. */
export async function authorizedOrder(
  api: Api,
  opts: { card?: string; amount?: number } = {},
): Promise<{ orderId: string; paymentId: string; ref: string }> {
  const o = await pendingOrder(api, { ...opts, preAuth: true });
  await authorizeWithOtp(api, o.paymentId);
  return o;
}

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A webhook endpoint that records requests and answers with `respond(n)` (n = 1-based request count). */
export async function webhookReceiver(respond: (n: number) => number = () => 200): Promise<{
  url: string;
  received: ReceivedWebhook[];
  waitFor: (count: number, timeoutMs?: number) => Promise<void>;
  close: () => Promise<void>;
}> {
  const received: ReceivedWebhook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      res.statusCode = respond(received.length);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/webhooks/plural`,
    received,
    waitFor: async (count, timeoutMs = 5000) => {
      await waitFor(`${count} webhooks`, () => received.length >= count, {
        timeoutMs,
        intervalMs: 10,
        describeLast: () => `got ${received.length}`,
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What {@link webhookReceiver} returns. */
export type WebhookReceiver = Awaited<ReturnType<typeof webhookReceiver>>;

/**
 * For a test file whose tests each run a sandbox (with its HTTP API) sending its webhooks to a receiver of the test's
 * own: registers the `afterEach` that stops both, and returns the function that starts them (`defaults` first, then
 * the test's options).
 */
export function sandboxWithWebhooks(
  defaults: SandboxOptions = {},
): (options?: SandboxOptions) => Promise<{ sandbox: RunningSandbox; api: Api; hook: WebhookReceiver }> {
  let cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups = [];
  });
  return async (options = {}) => {
    const hook = await webhookReceiver();
    const { sandbox, api } = await startWithApi({ webhookUrl: hook.url, ...defaults, ...options });
    cleanups.push(
      () => hook.close(),
      () => sandbox.stop(),
    );
    return { sandbox, api, hook };
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `condition` holds (throws after `timeoutMs`): for effects that land asynchronously. */
export async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  await waitFor('the condition', condition, { timeoutMs, intervalMs: 10 });
}

/** A manually advanced clock. */
export function fakeClock(startIso = '2025-06-01T00:00:00.000Z'): { now: () => number; advance: (ms: number) => void } {
  let t = Date.parse(startIso);
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** A hosted checkout link (`POST /api/checkout/v1/orders`) with {@link orderBody} defaults. */
export async function checkout(
  api: Api,
  overrides: Record<string, unknown> = {},
): Promise<{ token: string; orderId: string; redirectUrl: string }> {
  const res = await api.post('/api/checkout/v1/orders', orderBody(overrides));
  if (res.status !== 200) throw new Error(`checkout link: ${res.status} ${res.text}`);
  return { token: res.body.token, orderId: res.body.order_id, redirectUrl: res.body.redirect_url };
}

/** Submits the hosted checkout page's form with a test card key (the browser's POST). */
export function payOnPage(baseUrl: string, token: string, card: string): Promise<Response> {
  return fetch(`${baseUrl}/api/v3/checkout-bff/redirect/checkout`, {
    method: 'POST',
    body: new URLSearchParams({ token, card }),
    redirect: 'manual',
  });
}

/** Submits the challenge page's form (the bank ACS): approve or decline. */
export function answerChallenge(challengeUrl: string, action: 'approve' | 'decline'): Promise<Response> {
  const url = new URL(challengeUrl);
  return fetch(`${url.origin}/web/auth/landing/`, {
    method: 'POST',
    body: new URLSearchParams({ token: url.searchParams.get('token')!, action }),
    redirect: 'manual',
  });
}

const decodeHtml = (s: string): string => s.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)));

/** The action and hidden fields of the auto-submitting callback form page. */
export function parseForm(html: string): { action: string; fields: Record<string, string> } {
  const action = decodeHtml(/<form[^>]*action="([^"]*)"/.exec(html)?.[1] ?? '');
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g))
    fields[decodeHtml(m[1]!)] = decodeHtml(m[2]!);
  return { action, fields };
}
