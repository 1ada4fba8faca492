/**
 * Property tests: hostile methods, paths, headers and bodies at every route (the card vault's own listener and the
 * callback and webhook receivers included) never produce a 5xx or a stack trace, every error is the JSON error
 * shape, and nothing unauthenticated, unsigned or forged reaches the engine: the spy engine records every call, and
 * genuinely signed callbacks and webhooks (signed with the sandbox's own helpers) prove that it would see one. A
 * genuine callback reaches the engine once: its replays are redirected like a reload and signal nothing.
 */
import fc from 'fast-check';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCardVaultRouter, listenCardVault } from '../../card-vault';
import type { CardVaultServer } from '../../card-vault';
import { signCallback, signWebhook } from '../../plural-sandbox';
import { DEFAULT_MAX_AMOUNT } from '../../api/schemas';
import { CARDS } from '../support/cards';
import { waitFor } from '../support/wait';
import { API_KEY, auth, CALLBACK_SECRET_HEX, cardPayment, makeApi, orderWebhookBody, WEBHOOK_SECRET } from './helpers';
import type { TestApi } from './helpers';

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

let api: TestApi;
let server: http.Server;
let port: number;
let vaultServer: CardVaultServer;

const VAULT_TOKEN = 'vault_token_for_hostile_input_tests_0123456789';
const vaultRouter = createCardVaultRouter({ token: VAULT_TOKEN });
/** Paths under this prefix go to the card vault's own listener, without it (the API's port does not serve the vault). */
const VAULT_PREFIX = '/@vault';

/** Every answer of this file, and those at or above 500 (reported, and asserted to be none). */
const tally = { requests: 0, serverErrors: 0 };

async function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<RawResponse> {
  const res = await sendRaw(method, path, headers, body);
  tally.requests += 1;
  if (res.status >= 500) tally.serverErrors += 1;
  return res;
}

function sendRaw(method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<RawResponse> {
  // Frame the body explicitly: Node sends a GET body unframed, which the server's parser (not the app) rejects.
  if (body !== undefined) headers = { ...headers, 'content-length': String(body.length) };
  return new Promise((resolve, reject) => {
    const target = path.startsWith(`${VAULT_PREFIX}/`)
      ? { port: vaultServer.port, path: path.slice(VAULT_PREFIX.length) }
      : { port, path };
    const req = http.request({ host: '127.0.0.1', ...target, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const ROUTES: readonly [string, string][] = [
  ['POST', '/v1/payments'],
  ['GET', '/v1/payments'],
  ['GET', '/v1/payments/{ref}'],
  ['POST', '/v1/payments/{ref}/otp'],
  ['POST', '/v1/payments/{ref}/otp/resend'],
  ['POST', '/v1/payments/{ref}/capture'],
  ['POST', '/v1/payments/{ref}/cancel'],
  ['POST', '/v1/payments/{ref}/refunds'],
  ['GET', '/v1/payments/{ref}/refunds'],
  ['GET', '/v1/callbacks/plural'],
  ['POST', '/v1/callbacks/plural'],
  ['POST', '/v1/webhooks/plural'],
  // A merchant account's own gateway paths (the reference stands for the merchant id).
  ['GET', '/v1/callbacks/plural/{ref}'],
  ['POST', '/v1/callbacks/plural/{ref}'],
  ['POST', '/v1/webhooks/plural/{ref}'],
  ['POST', '/v1/customers'],
  ['GET', '/v1/customers/{ref}/tokens'],
  ['GET', '/healthz'],
  ['GET', '/readyz'],
  ['GET', '/metrics'],
  ['GET', '/openapi.json'],
  ['GET', '/docs'],
  ['PUT', `${VAULT_PREFIX}/secrets/{ref}`],
  ['GET', `${VAULT_PREFIX}/secrets/{ref}`],
  ['DELETE', `${VAULT_PREFIX}/secrets/{ref}`],
];

const hostileText = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.constantFrom('..', '%', '%00', '%2F', '%E0%A4%A', '__proto__', 'constructor', 'x'.repeat(300), '\u202e', '😀'),
);

const ref = fc.oneof(fc.constant('known-1'), fc.constant('known-2'), hostileText);

/** Path: a real route with a hostile reference, or a hostile path altogether (percent-encoded so Node sends it). */
const pathArb = fc.oneof(
  fc.tuple(fc.constantFrom(...ROUTES), ref).map(([[, p], r]) => p.replace('{ref}', encodeURIComponent(r))),
  fc.array(hostileText, { maxLength: 5 }).map((segs) => `/${segs.map(encodeURIComponent).join('/')}`),
  fc.constantFrom('/v1/payments/', '/v1//payments', '/v1/payments/a/b/c', '//healthz', '/v1/payments/%2e%2e'),
);

const query = fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 }), { maxKeys: 5 }).map((d) => {
  const q = new URLSearchParams(d).toString();
  return q === '' ? '' : `?${q}`;
});

const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,120}$/);
const authHeader = fc.oneof(
  fc.constant(undefined),
  fc.constant(`Bearer ${API_KEY}`),
  headerValue,
  fc.constantFrom('Bearer', 'Bearer ', `bearer ${API_KEY}x`, `Basic ${API_KEY}`, `Bearer ${VAULT_TOKEN}`),
);
const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=utf-16',
    'application/json; charset=nope',
    'application/x-www-form-urlencoded',
    'text/plain',
    'multipart/form-data; boundary=x',
    'application/merge-patch+json',
  ),
  headerValue,
  fc.constant(undefined),
);

/** Bodies: random JSON, mutated payment requests (with card data), text, bytes, and deep or huge documents. */
const bodyArb: fc.Arbitrary<Buffer | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc
    .tuple(fc.string({ maxLength: 20 }), fc.jsonValue(), ref)
    .map(([key, value, r]) => Buffer.from(JSON.stringify({ ...cardPayment(r), [key]: value }))),
  fc
    .record({ otp: fc.oneof(fc.string(), fc.integer(), fc.constant('123456')) })
    .map((b) => Buffer.from(JSON.stringify(b))),
  fc.record({ amount: fc.jsonValue() }).map((b) => Buffer.from(JSON.stringify(b))),
  fc
    .record({ sealed: fc.oneof(fc.base64String({ maxLength: 120 }), fc.jsonValue()), ttlMs: fc.jsonValue() })
    .map((b) => Buffer.from(JSON.stringify(b))),
  fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  fc.integer({ min: 1, max: 2000 }).map((n) => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`)),
  fc.constant(Buffer.from(`{"a":"${'x'.repeat(70_000)}"}`)),
);

const requestArb = fc.record({
  method: fc.oneof(
    fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
    fc.constantFrom(...ROUTES).map(([m]) => m),
  ),
  path: pathArb,
  query,
  auth: authHeader,
  contentType,
  body: bodyArb,
  webhookHeaders: fc.option(
    fc.record({ 'webhook-id': headerValue, 'webhook-timestamp': headerValue, 'webhook-signature': headerValue }),
    { nil: undefined },
  ),
});

type Req = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;
const asRequest = (r: Partial<Req> & Pick<Req, 'method' | 'path'>): Req => ({
  query: '',
  auth: undefined,
  contentType: undefined,
  body: undefined,
  webhookHeaders: undefined,
  ...r,
});

const hex64 = fc.stringMatching(/^[0-9A-Fa-f]{64}$/);
const forgedCallback = fc
  .record({
    method: fc.constantFrom('GET', 'POST'),
    status: fc.constantFrom('AUTHORIZED', 'PROCESSED', 'FAILED'),
    signature: fc.oneof(hex64, fc.string({ maxLength: 70 })),
    extra: fc.dictionary(fc.stringMatching(/^[a-z_]{1,12}$/), fc.string({ maxLength: 20 }), { maxKeys: 2 }),
  })
  .map(({ method, status, signature, extra }) => {
    const fields = new URLSearchParams({ ...extra, order_id: 'v1-ord-known-2', status, signature }).toString();
    return method === 'GET'
      ? asRequest({ method, path: '/v1/callbacks/plural', query: `?${fields}` })
      : asRequest({
          method,
          path: '/v1/callbacks/plural',
          contentType: 'application/x-www-form-urlencoded',
          body: Buffer.from(fields),
        });
  });
/** A well-formed webhook for a real payment, with a fresh timestamp and a forged `v1,` signature. */
const forgedWebhook = fc
  .record({ id: fc.stringMatching(/^msg_[A-Za-z0-9]{1,20}$/), signature: fc.base64String({ maxLength: 60 }) })
  .map(({ id, signature }) =>
    asRequest({
      method: 'POST',
      path: '/v1/webhooks/plural',
      contentType: 'application/json',
      body: Buffer.from(orderWebhookBody('known-2', 'v1-ord-known-2')),
      webhookHeaders: {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': `v1,${signature}`,
      },
    }),
  );
/** Valid merchant calls on a real payment, with a missing or wrong key. */
const unauthenticatedMerchant = fc
  .record({
    call: fc.constantFrom(
      ['/v1/payments', cardPayment('fresh-1')],
      ['/v1/payments/known-1/otp', { otp: '123456' }],
      ['/v1/payments/known-1/otp/resend', {}],
      ['/v1/payments/known-1/capture', {}],
      ['/v1/payments/known-1/cancel', {}],
    ),
    auth: fc.oneof(
      fc.constant(undefined),
      headerValue,
      fc.constantFrom(`Bearer ${API_KEY}0`, `Bearer ${API_KEY.slice(1)}`, API_KEY),
    ),
  })
  .map(({ call: [path, body], auth }) =>
    asRequest({
      method: 'POST',
      path,
      auth,
      contentType: 'application/json',
      body: Buffer.from(JSON.stringify(body)),
    }),
  );

beforeAll(async () => {
  api = makeApi(
    { resendAfterMs: 0 },
    {
      timings: { startWaitMs: 50, actionWaitMs: 50 },
      customers: {
        create: (c) =>
          Promise.resolve({
            customerId: 'cust-fuzz',
            merchantCustomerReference: c.merchantCustomerReference,
            status: 'INACTIVE',
            createdAt: undefined,
          }),
        savedCards: () => Promise.resolve([]),
      },
    },
  );
  api.engine.seed(
    {
      merchantOrderReference: 'known-1',
      amount: { value: 100, currency: 'INR' },
      preAuth: true,
      method: { kind: 'card', cardHandle: 'h', last4: '1112' },
    },
    'fp',
  );
  api.engine.seed(
    {
      merchantOrderReference: 'known-2',
      amount: { value: 100, currency: 'INR' },
      preAuth: true,
      method: { kind: 'card', cardHandle: 'h', last4: '4444' },
    },
    'fp',
  );
  // The fake engine opens a seeded payment's order a moment later (its transition timer): wait for both, rather than
  // race that timer on a loaded machine (a callback for an order not opened yet is answered 404).
  for (const ref of ['known-1', 'known-2']) {
    await waitFor(`${ref}'s order opened`, async () => (await api.engine.get(ref))?.state.pluralOrderId !== undefined);
  }
  server = http.createServer(api.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  vaultServer = await listenCardVault(vaultRouter, '127.0.0.1', 0);
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await vaultServer.close();
  vaultRouter.close();
  process.stdout.write(`HOSTILE requests=${tally.requests} answers_5xx=${tally.serverErrors}\n`);
});

/** Checks the error body: the API's `{error: {type, code, message}}`, or the internal vault's `{code, message}`. */
function expectErrorShape(path: string, text: string): void {
  const body = JSON.parse(text) as { error?: { type: unknown; code: unknown; message: unknown } } & {
    code?: unknown;
    message?: unknown;
  };
  if (body.error === undefined && path.startsWith(`${VAULT_PREFIX}/`)) {
    expect(typeof body.code).toBe('string');
    expect(typeof body.message).toBe('string');
    return;
  }
  expect(typeof body.error?.type).toBe('string');
  expect(typeof body.error?.code).toBe('string');
  expect(typeof body.error?.message).toBe('string');
}

// ---- forged and replayed signatures on the callback and webhook receivers ----------------------------------------

const KNOWN_ORDER = 'v1-ord-known-2';
const OTHER_ORDER = 'v1-ord-known-1';
const WRONG_HEX = 'f0'.repeat(32);
const STATUSES = ['AUTHORIZED', 'PROCESSED', 'FAILED'] as const;

const signed = (fields: Record<string, string>, secretHex = CALLBACK_SECRET_HEX): Record<string, string> => ({
  ...fields,
  signature: signCallback(fields, secretHex),
});

/** Callback fields the sandbox would sign, then tampered with (or signed with the wrong key). */
const CALLBACK_FORGERIES = [
  'wrong_key',
  'changed_status',
  'changed_order',
  'added_field',
  'removed_field',
  'signature_of_other_order',
  'truncated_signature',
  'signature_trailing_junk',
  'missing_signature',
  'empty_signature',
  'duplicated_signature',
] as const;

function forgeCallback(forgery: (typeof CALLBACK_FORGERIES)[number], statusIndex: number, extra: string): string {
  const status = STATUSES[statusIndex % 3] ?? 'AUTHORIZED';
  const otherStatus = STATUSES[(statusIndex + 1) % 3] ?? 'FAILED';
  const base = { order_id: KNOWN_ORDER, status };
  let fields: Record<string, string>;
  switch (forgery) {
    case 'wrong_key':
      fields = signed(base, WRONG_HEX);
      break;
    case 'changed_status':
      fields = { ...signed(base), status: otherStatus };
      break;
    case 'changed_order':
      fields = { ...signed(base), order_id: OTHER_ORDER };
      break;
    case 'added_field':
      fields = { ...signed(base), error_code: extra };
      break;
    case 'removed_field': {
      const { error_code: _dropped, ...rest } = signed({ ...base, error_code: 'PAYMENT_DECLINED' });
      fields = rest;
      break;
    }
    case 'signature_of_other_order':
      fields = { ...base, signature: signed({ order_id: OTHER_ORDER, status }).signature ?? '' };
      break;
    case 'truncated_signature':
      fields = { ...base, signature: (signed(base).signature ?? '').slice(0, -2) };
      break;
    case 'signature_trailing_junk':
      fields = { ...base, signature: `${signed(base).signature ?? ''}${extra === '' ? '0' : extra}` };
      break;
    case 'missing_signature':
      fields = base;
      break;
    case 'empty_signature':
      fields = { ...base, signature: '' };
      break;
    case 'duplicated_signature': {
      const valid = signed(base);
      return `${new URLSearchParams(valid).toString()}&signature=${valid.signature ?? ''}`;
    }
  }
  return new URLSearchParams(fields).toString();
}

const forgedSignedCallback = fc
  .record({
    forgery: fc.constantFrom(...CALLBACK_FORGERIES),
    status: fc.nat(2),
    extra: fc.string({ maxLength: 20 }),
    viaGet: fc.boolean(),
  })
  .map(({ forgery, status, extra, viaGet }) => {
    const form = forgeCallback(forgery, status, extra);
    return viaGet
      ? asRequest({ method: 'GET', path: '/v1/callbacks/plural', query: `?${form}` })
      : asRequest({
          method: 'POST',
          path: '/v1/callbacks/plural',
          contentType: 'application/x-www-form-urlencoded',
          body: Buffer.from(form),
        });
  });

/** Webhooks the sandbox would sign, then tampered with, replayed too late or early, or signed with the wrong secret. */
const WEBHOOK_FORGERIES = [
  'wrong_secret',
  'stale',
  'future',
  'changed_body',
  'changed_id',
  'changed_timestamp',
  'trailing_byte',
  'signature_trailing_junk',
  'signature_unpadded',
  'other_scheme',
  'missing_id',
  'missing_timestamp',
  'missing_signature',
] as const;

const forgedSignedWebhook = fc
  .record({
    forgery: fc.constantFrom(...WEBHOOK_FORGERIES),
    id: fc.stringMatching(/^msg_[A-Za-z0-9]{1,24}$/),
    skew: fc.integer({ min: 301, max: 10_000_000 }),
    // After a correct signature: any printable junk but a space (a space starts another, separate entry).
    junk: fc.stringMatching(/^[!-~]{1,16}$/),
  })
  .map(({ forgery, id, skew, junk }) => {
    const now = Math.floor(Date.now() / 1000);
    const body = orderWebhookBody('known-2', KNOWN_ORDER);
    const ts = forgery === 'stale' ? now - skew : forgery === 'future' ? now + skew : now;
    const secret = forgery === 'wrong_secret' ? `${WEBHOOK_SECRET}x` : WEBHOOK_SECRET;
    const signature = signWebhook(id, ts, body, secret);
    const headers: Record<string, string> = {
      'webhook-id': forgery === 'changed_id' ? `${id}x` : id,
      'webhook-timestamp': String(forgery === 'changed_timestamp' ? ts + 1 : ts),
      'webhook-signature':
        forgery === 'other_scheme'
          ? signature.replace(/^v1,/, 'v2,')
          : forgery === 'signature_trailing_junk'
            ? `${signature}${junk}`
            : forgery === 'signature_unpadded'
              ? signature.replace(/=+$/, '')
              : signature,
    };
    if (forgery === 'missing_id') delete headers['webhook-id'];
    if (forgery === 'missing_timestamp') delete headers['webhook-timestamp'];
    if (forgery === 'missing_signature') delete headers['webhook-signature'];
    const sent =
      forgery === 'changed_body'
        ? orderWebhookBody('known-2', KNOWN_ORDER, 'PROCESSED', 'ORDER_PROCESSED')
        : forgery === 'trailing_byte'
          ? `${body} `
          : body;
    return asRequest({
      method: 'POST',
      path: '/v1/webhooks/plural',
      contentType: 'application/json',
      body: Buffer.from(sent),
      webhookHeaders: headers as Req['webhookHeaders'],
    });
  });

/**
 * Genuine callbacks for the other known payment, each delivered once before the replays: a failure per error code
 * (distinct signed fields), so they do not collide with the genuine callback of the test that expects a delivery.
 */
const REPLAYED = ['PAYMENT_DECLINED', 'CARD_EXPIRED', 'INSUFFICIENT_FUNDS'].map((code) =>
  signed({ order_id: OTHER_ORDER, status: 'FAILED', error_code: code }),
);
/** One of {@link REPLAYED} again: as a form POST or the redirect's GET, its signature in either hex case. */
const replayedCallback = fc
  .record({ which: fc.nat(REPLAYED.length - 1), viaGet: fc.boolean(), lower: fc.boolean() })
  .map(({ which, viaGet, lower }) => {
    const fields = { ...REPLAYED[which]! };
    if (lower) fields.signature = (fields.signature ?? '').toLowerCase();
    const form = new URLSearchParams(fields).toString();
    return viaGet
      ? asRequest({ method: 'GET', path: '/v1/callbacks/plural', query: `?${form}` })
      : asRequest({
          method: 'POST',
          path: '/v1/callbacks/plural',
          contentType: 'application/x-www-form-urlencoded',
          body: Buffer.from(form),
        });
  });

async function sendRequest(r: Req, withMerchantKey: boolean): Promise<RawResponse> {
  const headers: Record<string, string> = { ...r.webhookHeaders };
  if (r.auth !== undefined && (withMerchantKey || r.auth !== `Bearer ${API_KEY}`)) headers.authorization = r.auth;
  if (r.contentType !== undefined) headers['content-type'] = r.contentType;
  return send(r.method, `${r.path}${r.query}`, headers, r.body);
}

describe('hostile input', () => {
  it('never answers 5xx, never leaks a stack trace, and every error is the JSON error shape', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        const res = await sendRequest(r, true);
        expect(res.status).toBeGreaterThanOrEqual(200);
        expect(res.status).toBeLessThan(500);
        expect(res.text).not.toMatch(/\.ts:\d+|node_modules|at [A-Za-z.]+ \(/);
        expect(res.text).not.toContain(CARDS.nativeOtp);
        if (res.status >= 400 && r.method !== 'HEAD') expectErrorShape(r.path, res.text);
      }),
      { numRuns: 400 },
    );
  });

  it('sends nothing to the engine from unauthenticated merchant calls or unsigned callbacks and webhooks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(requestArb, forgedCallback, forgedWebhook, unauthenticatedMerchant), async (r) => {
        const before = api.engine.mutatingCalls.length;
        const res = await sendRequest(r, false);
        expect(res.status).toBeLessThan(500);
        expect(res.status).not.toBe(303);
        expect(api.engine.mutatingCalls.length).toBe(before);
      }),
      { numRuns: 400 },
    );
  });

  it('answers 4xx with the error shape to forged, tampered, stale and replayed-with-changes callbacks and webhooks, and signals nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(forgedSignedCallback, forgedSignedWebhook), async (r) => {
        const before = api.engine.calls.length;
        const res = await sendRequest(r, false);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expectErrorShape(r.path, res.text);
        expect(api.engine.calls.slice(before).map((c) => c.method)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('does signal the engine for a genuinely signed callback and webhook (so the spy would see a forged one)', async () => {
    const callback = new URLSearchParams(signed({ order_id: KNOWN_ORDER, status: 'AUTHORIZED' })).toString();
    const before = api.engine.calls.length;
    const cb = await send(
      'POST',
      '/v1/callbacks/plural',
      { 'content-type': 'application/x-www-form-urlencoded' },
      Buffer.from(callback),
    );
    expect(cb.status).toBe(303);
    const ts = Math.floor(Date.now() / 1000);
    const body = orderWebhookBody('known-2', KNOWN_ORDER);
    const wh = await send(
      'POST',
      '/v1/webhooks/plural',
      {
        'content-type': 'application/json',
        'webhook-id': 'msg_genuine1',
        'webhook-timestamp': String(ts),
        'webhook-signature': signWebhook('msg_genuine1', ts, body, WEBHOOK_SECRET),
      },
      Buffer.from(body),
    );
    expect(wh.status).toBe(200);
    // Reads aside (the callback reads the payment for the customer's return page).
    const signals = api.engine.calls.slice(before).filter((c) => c.method !== 'get');
    expect(signals.map((c) => c.method)).toEqual(['deliverCallback', 'deliverWebhook']);
  });

  it('delivers a genuine callback once: its replays (GET or POST, either hex case) redirect to the merchant page, signal nothing and are counted', async () => {
    for (const fields of REPLAYED) {
      const form = Buffer.from(new URLSearchParams(fields).toString());
      const first = await send(
        'POST',
        '/v1/callbacks/plural',
        { 'content-type': 'application/x-www-form-urlencoded' },
        form,
      );
      expect(first.status).toBe(303);
    }
    const before = api.engine.calls.length;
    const counted = async () =>
      (await api.metrics.registry.getSingleMetricAsString('api_signature_failures_total')).match(
        /api_signature_failures_total\{source="callback",reason="replayed",merchant="default"\} (\d+)/,
      )?.[1] ?? '0';
    const countedBefore = Number(await counted());
    await fc.assert(
      fc.asyncProperty(replayedCallback, async (r) => {
        const res = await sendRequest(r, false);
        expect(res.status).toBe(303);
        expect(res.headers.location).toMatch(
          /^https:\/\/merchant\.example\.test\/failed\?merchant_order_reference=known-1&status=FAILED$/,
        );
      }),
      { numRuns: 200 },
    );
    // Nothing but reads of the payment for the return page.
    expect(api.engine.calls.slice(before).filter((c) => c.method !== 'get')).toEqual([]);
    expect(Number(await counted()) - countedBefore).toBe(200);
  });

  it('gave no answer at or above 500 to any request of this file', () => {
    expect(tally.requests).toBeGreaterThan(1_000);
    expect(tally.serverErrors).toBe(0);
  });
});

// ---- what Plural would refuse, refused at the edge ----------------------------------------------------------------

/** Characters the API refuses in free text: C0/C1 controls, bidi and zero-width format characters, separators. */
const unprintable = fc.oneof(
  fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x7f, max: 0x9f }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('\u200b', '\u200e', '\u202a', '\u202e', '\u2066', '\u2069', '\ufeff', '\u2028', '\u2029', '\ud800'),
);
/** Printable text around one unprintable character. */
const withUnprintable = fc
  .tuple(fc.string({ unit: 'grapheme', maxLength: 30 }), unprintable, fc.string({ unit: 'grapheme', maxLength: 30 }))
  .map(([a, bad, b]) => `${a}${bad}${b}`);
/** Where free text goes in a payment request, and the path the 400 names. */
const FREE_TEXT_FIELDS: readonly [string, (text: string) => Record<string, unknown>][] = [
  [
    'card.name',
    (t) => ({ card: { number: CARDS.nativeOtp, name: t, expiry_month: '12', expiry_year: '2030', cvv: '123' } }),
  ],
  ['customer.first_name', (t) => ({ customer: { first_name: t } })],
  ['customer.last_name', (t) => ({ customer: { last_name: t } })],
  ['notes', (t) => ({ notes: t })],
  ['merchant_metadata.memo', (t) => ({ merchant_metadata: { memo: t } })],
  ['customer.shipping_address.city', (t) => ({ customer: { shipping_address: { city: t } } })],
  ['device_info.browser_user_agent', (t) => ({ device_info: { browser_user_agent: t } })],
];

describe('refused at the edge, whatever the value (properties)', () => {
  const edgeApi = makeApi();
  const create = (ref: string, extra: Record<string, unknown>) =>
    request(edgeApi.app).post('/v1/payments').set(auth).send(cardPayment(ref, extra));
  const issuePaths = (body: unknown) =>
    (body as { error: { issues: { path: string }[] } }).error.issues.map((i) => i.path);

  it('refuses an unprintable character in any name or free-text field, naming the field, and starts nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(FREE_TEXT_FIELDS.length - 1), withUnprintable, async (i, text) => {
        const [path, place] = FREE_TEXT_FIELDS[i]!;
        const before = edgeApi.engine.mutatingCalls.length;
        const res = await create('edge-text', place(text));
        expect(res.status).toBe(400);
        expect(issuePaths(res.body)).toContain(path);
        expect(edgeApi.engine.mutatingCalls.length).toBe(before);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses every currency but INR with currency_not_supported', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[A-Z]{3}$/).filter((c) => c !== 'INR'),
        async (currency) => {
          const res = await create('edge-cur', { amount: { value: 1000, currency } });
          expect(res.status).toBe(400);
          expect(res.body.error.code).toBe('currency_not_supported');
          expect(issuePaths(res.body)).toEqual(['amount.currency']);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('refuses every amount above the limit with amount_too_large, and never one within it', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.integer({ min: DEFAULT_MAX_AMOUNT + 1, max: Number.MAX_SAFE_INTEGER }),
          fc.integer({ min: 1, max: DEFAULT_MAX_AMOUNT }),
        ),
        async (value) => {
          const res = await create(`edge-amt-${n++}`, { amount: { value, currency: 'INR' } });
          if (value > DEFAULT_MAX_AMOUNT) {
            expect(res.status).toBe(400);
            expect(res.body.error.code).toBe('amount_too_large');
          } else {
            expect(res.status).toBe(201);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('refuses every expiry before the current month with card_expired, and accepts every later one', async () => {
    const now = new Date();
    // Months counted from year 0; the current one is judged at UTC-12 by the API, so stay a month clear of it.
    const current = now.getUTCFullYear() * 12 + now.getUTCMonth();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.integer({ min: 1000 * 12, max: current - 2 }),
          fc.integer({ min: current + 1, max: 9999 * 12 + 11 }),
        ),
        async (months) => {
          const year = String(Math.floor(months / 12));
          const month = String((months % 12) + 1).padStart(2, '0');
          const res = await create(`edge-exp-${n++}`, {
            card: { number: CARDS.nativeOtp, name: 'A', expiry_month: month, expiry_year: year, cvv: '123' },
          });
          if (months < current) {
            expect(res.status).toBe(400);
            expect(res.body.error.code).toBe('card_expired');
          } else {
            expect(res.status).toBe(201);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
