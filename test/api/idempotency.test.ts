/**
 * `Idempotency-Key`: the header's validation, the request fingerprint, the key's rules (`IdempotencyRecord`, as the
 * key's workflow runs them) and the middleware over HTTP, on the in-memory engine and an in-memory store with the
 * workflow's rules. The Temporal store, an API restart and a second API instance are in `idempotency-temporal.test.ts`.
 */
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import {
  dispositionOf,
  idempotencyFingerprint,
  idempotencyKeyOf,
  MAX_IDEMPOTENCY_KEY_LENGTH,
} from '../../api/idempotency';
import type { RequestIdentity } from '../../api/idempotency';
import { EngineUnavailableError } from '../../api/engine';
import { buildOpenApiDocument } from '../../api/openapi';
import { IdempotencyRecord } from '../../workflows/idempotency-record';
import { CARDS } from '../support/cards';
import { CORRECT_OTP } from './fake-engine';
import type { FakeEngineOptions } from './fake-engine';
import { FakeIdempotencyStore } from './fake-idempotency-store';
import { auth, cardPayment, makeApi, seededInput } from './helpers';

const KEY = 'ik-3f0b6c1e-5a7d-4e2b-9c8a-1d2e3f4a5b6c';
const FP_KEY = 'fingerprint-key-for-tests';

/** The API with a fresh in-memory key store (or the one given, shared like two API instances share Temporal). */
function keyedApi(engineOptions: FakeEngineOptions = {}, store = new FakeIdempotencyStore()) {
  return { ...makeApi(engineOptions, { idempotency: store }), store };
}

/** A request as Express hands it to the middleware: only the headers matter here. */
function requestWith(rawHeaders: string[]): Request {
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    headers[name] = headers[name] === undefined ? rawHeaders[i + 1]! : `${headers[name]}, ${rawHeaders[i + 1]!}`;
  }
  return { headers, rawHeaders } as unknown as Request;
}

describe('the Idempotency-Key header', () => {
  it('is optional: absent, the request has no key', () => {
    expect(idempotencyKeyOf(requestWith(['Content-Type', 'application/json']))).toBeUndefined();
  });

  it.each([
    ['a UUID', '5f0c8a4e-2b1d-4c3e-9f8a-7b6c5d4e3f2a'],
    ['one character', 'k'],
    ['printable ASCII with inner spaces', 'order 42: capture #1 (retry)'],
    [`${MAX_IDEMPOTENCY_KEY_LENGTH} characters`, 'x'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH)],
  ])('accepts %s', (_what, key) => {
    expect(idempotencyKeyOf(requestWith(['Idempotency-Key', key]))).toBe(key);
  });

  it.each([
    ['empty', ''],
    [`${MAX_IDEMPOTENCY_KEY_LENGTH + 1} characters`, 'x'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH + 1)],
    ['a tab', 'key\twith-tab'],
    ['a non-ASCII character', 'caf\u00e9'],
    ['a control character', 'key\u0001'],
  ])('refuses %s with 400 invalid_idempotency_key', (_what, key) => {
    expect(() => idempotencyKeyOf(requestWith(['Idempotency-Key', key]))).toThrow(
      expect.objectContaining({ status: 400, code: 'invalid_idempotency_key' }),
    );
  });

  it('refuses a header sent twice (Node would join the two values) with 400', () => {
    expect(() => idempotencyKeyOf(requestWith(['Idempotency-Key', 'a', 'idempotency-key', 'b']))).toThrow(
      expect.objectContaining({ status: 400, code: 'invalid_idempotency_key' }),
    );
  });
});

describe('the request fingerprint', () => {
  const capture: RequestIdentity = {
    method: 'POST',
    route: '/v1/payments/:merchant_order_reference/capture',
    params: { merchant_order_reference: 'ord-1' },
    body: { amount: { value: 5000, currency: 'INR' } },
  };
  const fp = (identity: RequestIdentity, key = FP_KEY) => idempotencyFingerprint(identity, key);

  it('is the same for the same request, whatever the order of the body’s keys', () => {
    expect(fp(capture)).toBe(fp({ ...capture, body: { amount: { currency: 'INR', value: 5000 } } }));
    expect(fp(capture)).toMatch(/^ik1:[0-9a-f]{64}$/);
  });

  it('treats an absent body as {} (the routes read it so)', () => {
    expect(fp({ ...capture, body: undefined })).toBe(fp({ ...capture, body: {} }));
  });

  it.each([
    ['another body', { body: { amount: { value: 5001, currency: 'INR' } } }],
    ['another payment', { params: { merchant_order_reference: 'ord-2' } }],
    ['another route', { route: '/v1/payments/:merchant_order_reference/cancel' }],
    ['another method', { method: 'PUT' }],
  ])('differs for %s', (_what, change) => {
    expect(fp({ ...capture, ...change })).not.toBe(fp(capture));
  });

  it('leaves CVVs and cryptograms out (never kept, hashed or not): a create differing only in them is the same request', () => {
    const create = (cvv: string, cryptogram: string): RequestIdentity => ({
      method: 'POST',
      route: '/v1/payments',
      params: {},
      body: {
        merchant_order_reference: 'ord-1',
        card: { number: CARDS.nativeOtp, cvv, expiry_month: '12', expiry_year: '2030' },
        card_token: { token_id: 'tok-1', cvv },
        network_token: { token: '4895370012345678', cryptogram, last4: '5678' },
      },
    });
    expect(fp(create('123', 'AgAAAAAAAIR8CQrXcIhbQAAAAAA='))).toBe(fp(create('987', 'AgAAAAAAAIR8CQrXcIhbQBBBBBB=')));
    const otherCard = create('123', 'c');
    (otherCard.body as { card: { number: string } }).card.number = CARDS.challenge;
    expect(fp(otherCard)).not.toBe(fp(create('123', 'c')));
  });

  it('leaves out only the card’s own CVV and cryptogram: a metadata key of that name tells two requests apart', () => {
    const create = (metadata: Record<string, string>): RequestIdentity => ({
      method: 'POST',
      route: '/v1/payments',
      params: {},
      body: {
        merchant_order_reference: 'ord-1',
        amount: { value: 100, currency: 'INR' },
        hosted_checkout: true,
        merchant_metadata: metadata,
      },
    });
    expect(fp(create({ cvv: 'plan-A' }))).not.toBe(fp(create({ cvv: 'plan-B' })));
    expect(fp(create({ cryptogram: 'a' }))).not.toBe(fp(create({ cryptogram: 'b' })));
    expect(fp(create({ plan: 'A' }))).toBe(fp(create({ plan: 'A' })));
  });

  it('is keyed: the same request under another fingerprint key differs, so an OTP cannot be searched by hash', () => {
    const otp: RequestIdentity = {
      ...capture,
      route: '/v1/payments/:merchant_order_reference/otp',
      body: { otp: '123456' },
    };
    expect(fp(otp, 'another-key')).not.toBe(fp(otp));
    const plain = createHash('sha256')
      .update(JSON.stringify({ body: { otp: '123456' }, method: 'POST', params: otp.params, route: otp.route }))
      .digest('hex');
    expect(fp(otp)).not.toContain(plain);
    expect(fp(otp)).not.toContain('123456');
  });
});

describe('what a key keeps of an answer', () => {
  it.each([
    [200, 'store'],
    [201, 'store'],
    [409, 'store'],
    [202, 'keep-binding'],
    [500, 'keep-binding'],
    [503, 'keep-binding'],
    [400, 'free'],
    [404, 'free'],
    [429, 'free'],
  ] as const)('%i: %s', (status, disposition) => {
    expect(dispositionOf(status)).toBe(disposition);
  });
});

describe('a key’s record (the key workflow’s rules)', () => {
  const claim = (id: string, fingerprint = 'ik1:a', leaseMs = 60_000) => ({ claimId: id, fingerprint, leaseMs });
  const response = { status: 201, body: { object: 'payment' }, location: '/v1/payments/x' };

  it('gives a new key to its first request, and answers another claim of it as in progress', () => {
    const r = new IdempotencyRecord();
    expect(r.claim(claim('c1'), 0)).toEqual({ outcome: 'CLAIMED' });
    expect(r.claim(claim('c2'), 1_000)).toEqual({
      outcome: 'IN_PROGRESS',
      leaseEndsAt: new Date(60_000).toISOString(),
    });
  });

  it('replays the stored answer to the same request, and calls another request a mismatch', () => {
    const r = new IdempotencyRecord();
    r.claim(claim('c1'), 0);
    expect(r.complete({ claimId: 'c1', fingerprint: 'ik1:a', response })).toBe(true);
    expect(r.claim(claim('c2'), 1)).toEqual({ outcome: 'COMPLETED', response });
    expect(r.claim(claim('c3', 'ik1:b'), 2)).toEqual({ outcome: 'MISMATCH' });
  });

  it('calls another request a mismatch while the first is still in progress', () => {
    const r = new IdempotencyRecord();
    r.claim(claim('c1'), 0);
    expect(r.claim(claim('c2', 'ik1:b'), 1)).toEqual({ outcome: 'MISMATCH' });
  });

  it('answers the same claim again as claimed (its first answer was lost on the way back)', () => {
    const r = new IdempotencyRecord();
    r.claim(claim('c1'), 0);
    expect(r.claim(claim('c1'), 1_000)).toEqual({ outcome: 'CLAIMED' });
    expect(r.claim(claim('c2'), 2_000)).toMatchObject({ outcome: 'IN_PROGRESS' });
  });

  it('lets a retry take over a claim whose lease ran out (its API died)', () => {
    const r = new IdempotencyRecord();
    r.claim(claim('c1'), 0);
    expect(r.claim(claim('c2'), 60_000)).toEqual({ outcome: 'CLAIMED' });
    expect(r.release({ claimId: 'c1', keepBinding: false })).toBe(false);
    expect(r.snapshot().claim?.id).toBe('c2');
  });

  it('keeps the first answer: a later completion of the same request does not replace it', () => {
    const r = new IdempotencyRecord();
    r.claim(claim('c1'), 0);
    r.claim(claim('c2'), 60_000);
    expect(r.complete({ claimId: 'c1', fingerprint: 'ik1:a', response })).toBe(true);
    expect(r.complete({ claimId: 'c2', fingerprint: 'ik1:a', response: { status: 200, body: {} } })).toBe(false);
    expect(r.snapshot().response).toEqual(response);
  });

  it('hands the Update an earlier try left unanswered to the next try of the same request, and only that', () => {
    const r = new IdempotencyRecord();
    r.claim(claim('c1'), 0);
    expect(r.release({ claimId: 'c1', keepBinding: true, pendingUpdateId: 'u1' })).toBe(true);
    expect(r.claim(claim('c2', 'ik1:b'), 1)).toEqual({ outcome: 'MISMATCH' });
    expect(r.claim(claim('c2'), 1)).toEqual({ outcome: 'CLAIMED', pendingUpdateId: 'u1' });
    // That try's Update answered (a parked step, an outage): the next try sends a new one.
    expect(r.release({ claimId: 'c2', keepBinding: true })).toBe(true);
    expect(r.claim(claim('c3'), 2)).toEqual({ outcome: 'CLAIMED' });
    // A freed key forgets it too.
    r.release({ claimId: 'c3', keepBinding: true, pendingUpdateId: 'u3' });
    r.claim(claim('c4'), 3);
    r.release({ claimId: 'c4', keepBinding: false });
    expect(r.claim(claim('c5'), 4)).toEqual({ outcome: 'CLAIMED' });
  });

  it('keeps the Update a claim proposed, for a try that takes over once its holder died, and only that', () => {
    const r = new IdempotencyRecord();
    expect(r.claim({ ...claim('c1'), updateId: 'u1' }, 0)).toEqual({ outcome: 'CLAIMED', pendingUpdateId: 'u1' });
    expect(r.claim({ ...claim('c2'), updateId: 'u2' }, 60_000)).toEqual({ outcome: 'CLAIMED', pendingUpdateId: 'u1' });
    // Answered by the payment (a parked step): the next try proposes its own.
    expect(r.release({ claimId: 'c2', keepBinding: true })).toBe(true);
    expect(r.claim({ ...claim('c3'), updateId: 'u3' }, 60_001)).toEqual({ outcome: 'CLAIMED', pendingUpdateId: 'u3' });
  });

  it('frees a released key that ran nothing, and keeps one that may have taken effect bound to its request', () => {
    const freed = new IdempotencyRecord();
    freed.claim(claim('c1'), 0);
    expect(freed.release({ claimId: 'c1', keepBinding: false })).toBe(true);
    expect(freed.claim(claim('c2', 'ik1:b'), 1)).toEqual({ outcome: 'CLAIMED' });

    const bound = new IdempotencyRecord();
    bound.claim(claim('c1'), 0);
    expect(bound.release({ claimId: 'c1', keepBinding: true })).toBe(true);
    expect(bound.claim(claim('c2', 'ik1:b'), 1)).toEqual({ outcome: 'MISMATCH' });
    expect(bound.claim(claim('c3'), 2)).toEqual({ outcome: 'CLAIMED' });
  });
});

describe('Idempotency-Key over HTTP', () => {
  const create = (app: ReturnType<typeof keyedApi>['app'], body: object, key: string | null = KEY) => {
    const r = request(app).post('/v1/payments').set(auth);
    return (key !== null ? r.set('Idempotency-Key', key) : r).send(body);
  };

  it('leaves a request without the header as it was: no key is claimed, no header added', async () => {
    const api = keyedApi();
    const res = await create(api.app, cardPayment('ik-none'), null);
    expect(res.status).toBe(201);
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    expect(res.headers['idempotency-key']).toBeUndefined();
    expect(api.store.calls).toEqual([]);
  });

  it('replays the first answer of the same request with the key: same status, body and Location, run once', async () => {
    const api = keyedApi();
    const first = await create(api.app, cardPayment('ik-1'));
    expect(first.status).toBe(201);
    expect(first.headers['idempotency-key']).toBe(KEY);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    // The body's keys in another order are the same request.
    const { card, ...rest } = cardPayment('ik-1');
    const again = await create(api.app, { card, ...rest });
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers.location).toBe('/v1/payments/ik-1');
    expect(again.body).toEqual(first.body);
    expect(api.engine.accepted('create')).toHaveLength(1);
  });

  it('answers 409 idempotency_key_mismatch to another body, route or payment under a used key, running nothing', async () => {
    const api = keyedApi();
    await create(api.app, cardPayment('ik-2'));
    const otherBody = await create(api.app, cardPayment('ik-2', { amount: { value: 1, currency: 'INR' } }));
    const otherRoute = await request(api.app).post('/v1/payments/ik-2/cancel').set(auth).set('Idempotency-Key', KEY);
    for (const res of [otherBody, otherRoute]) {
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ type: 'conflict_error', code: 'idempotency_key_mismatch' });
    }
    expect(api.engine.accepted('create')).toHaveLength(1);
    expect(api.engine.accepted('cancel')).toHaveLength(0);
  });

  it('answers 409 idempotency_key_in_use while the first request with the key has not answered', async () => {
    const api = keyedApi();
    await create(api.app, cardPayment('ik-3'), 'create-ik-3');
    await request(api.app).post('/v1/payments/ik-3/otp').set(auth).send({ otp: CORRECT_OTP });
    const held = api.store.holdCompletes();
    const first = request(api.app).post('/v1/payments/ik-3/capture').set(auth).set('Idempotency-Key', KEY).then();
    await held;
    const second = await request(api.app).post('/v1/payments/ik-3/capture').set(auth).set('Idempotency-Key', KEY);
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('idempotency_key_in_use');
    expect(second.headers['retry-after']).toBe('1');
    api.store.openGate();
    expect((await first).status).toBe(200);
    const third = await request(api.app).post('/v1/payments/ik-3/capture').set(auth).set('Idempotency-Key', KEY);
    expect(third.status).toBe(200);
    expect(third.headers['idempotent-replayed']).toBe('true');
    expect(third.body).toEqual((await first).body);
    expect(api.engine.accepted('capture')).toHaveLength(1);
  });

  it('replays a 409 refusal, which would not change by retrying', async () => {
    const api = keyedApi();
    await create(api.app, cardPayment('ik-4'), 'create-ik-4');
    const capture = () =>
      request(api.app).post('/v1/payments/ik-4/capture').set(auth).set('Idempotency-Key', KEY).send({});
    const refused = await capture();
    expect(refused.status).toBe(409);
    const again = await capture();
    expect(again.status).toBe(409);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(refused.body);
  });

  it('frees the key of a request refused as invalid (nothing ran): the corrected request runs under it', async () => {
    const api = keyedApi();
    const invalid = await create(api.app, cardPayment('ik-5', { amount: { value: -1, currency: 'INR' } }));
    expect(invalid.status).toBe(400);
    const valid = await create(api.app, cardPayment('ik-5'));
    expect(valid.status).toBe(201);
    expect(valid.headers['idempotent-replayed']).toBeUndefined();
  });

  it('does not freeze a 202 (still running): the same request runs again, another one is still a mismatch', async () => {
    const api = keyedApi({ unresponsive: true });
    const first = await create(api.app, cardPayment('ik-6'));
    expect(first.status).toBe(202);
    const again = await create(api.app, cardPayment('ik-6'));
    expect(again.status).toBe(202);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(api.engine.calls.filter((c) => c.method === 'create')).toHaveLength(2);
    const other = await create(api.app, cardPayment('ik-6', { pre_auth: false }));
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('idempotency_key_mismatch');
  });

  it('sends a capture the payment left unanswered (202) again as the same Update, and one it answered as a new Update', async () => {
    // Still going on when the wait ended: the retry under the key is that Update, to learn its own outcome.
    const slow = keyedApi({ unresponsive: true });
    slow.engine.seed(seededInput('ik-9'), 'fp', 'AUTHORIZED');
    const capture = (api: typeof slow) =>
      request(api.app).post('/v1/payments/ik-9/capture').set(auth).set('Idempotency-Key', KEY).send({});
    expect((await capture(slow)).status).toBe(202);
    expect((await capture(slow)).status).toBe(202);
    const [first, second] = slow.engine.calls.filter((c) => c.method === 'capture').map((c) => c.requestId);
    expect(first).toEqual(expect.any(String));
    expect(second).toBe(first);

    // Answered (parked for an operator: 202 too): the retry is a new Update, answered as things are then, never with
    // the parked answer again.
    const parked = keyedApi({ captureOutcome: 'PARKED' });
    parked.engine.seed(seededInput('ik-9'), 'fp', 'AUTHORIZED');
    expect((await capture(parked)).status).toBe(202);
    await capture(parked);
    const ids = parked.engine.calls.filter((c) => c.method === 'capture').map((c) => c.requestId);
    expect(ids).toHaveLength(2);
    expect(ids[1]).not.toBe(ids[0]);
  });

  it('sends, after the API died before storing an answer, the Update that try claimed the key with: its own outcome', async () => {
    const api = keyedApi();
    api.engine.seed(seededInput('ik-10'), 'fp', 'AUTHORIZED');
    const capture = () =>
      request(api.app).post('/v1/payments/ik-10/capture').set(auth).set('Idempotency-Key', KEY).send({});
    // The first try captures; its answer never reaches the key (the API died as it stored it), nor the client.
    const store = api.store;
    const complete = store.complete.bind(store);
    let lost = true;
    store.complete = (...args) => {
      if (!lost) return complete(...args);
      lost = false;
      return Promise.reject(new EngineUnavailableError('the API died'));
    };
    expect((await capture()).status).toBe(200);
    // Its lease runs out; the client's retry takes the key over and sends that same Update.
    store.nowMs += 61_000;
    const retry = await capture();
    expect(retry.status).toBe(200);
    expect(retry.body.status).toBe('PROCESSED');
    const ids = api.engine.calls.filter((c) => c.method === 'capture').map((c) => c.requestId);
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
    // Stored: the next retry is a replay of the capture's own answer, not a refusal of a second capture.
    const replay = await capture();
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.status).toBe('PROCESSED');
  });

  it('runs nothing and answers 503 when the key store is unreachable', async () => {
    const api = keyedApi();
    api.store.reachable = false;
    const res = await create(api.app, cardPayment('ik-7'));
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('engine_unavailable');
    expect(api.engine.calls.filter((c) => c.method === 'create')).toEqual([]);
  });

  it('answers 503 idempotency_unavailable on an API without a key store, and runs nothing', async () => {
    const api = makeApi();
    const res = await create(api.app, cardPayment('ik-8'));
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('idempotency_unavailable');
    expect(api.engine.calls).toEqual([]);
    expect((await create(api.app, cardPayment('ik-8'), null)).status).toBe(201);
  });

  it('answers 400 invalid_idempotency_key for a key over 255 characters, before anything runs', async () => {
    const api = keyedApi();
    const res = await create(api.app, cardPayment('ik-9'), 'k'.repeat(256));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_idempotency_key');
    expect(api.store.calls).toEqual([]);
    expect(api.engine.calls).toEqual([]);
  });

  it('answers 400 to a body nested thousands of levels deep with a key, as without one, claiming nothing', async () => {
    const api = keyedApi();
    const deep = `{"a":${'['.repeat(5_000)}${']'.repeat(5_000)}}`;
    for (const key of [KEY, null]) {
      const r = request(api.app).post('/v1/payments').set(auth).set('Content-Type', 'application/json');
      const res = await (key !== null ? r.set('Idempotency-Key', key) : r).send(deep);
      expect(res.status).toBe(400);
      expect(res.body.error.type).toBe('invalid_request_error');
    }
    expect(api.store.calls).toEqual([]);
    expect(api.engine.calls).toEqual([]);
    expect(api.logs.join('\n')).not.toContain('unhandled error');
  });

  it('gives another API instance over the same store the same answer', async () => {
    const store = new FakeIdempotencyStore();
    const one = keyedApi({}, store);
    const first = await create(one.app, cardPayment('ik-10'));
    const two = keyedApi({}, store);
    const replay = await create(two.app, cardPayment('ik-10'));
    expect(replay.status).toBe(first.status);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(two.engine.calls).toEqual([]);
  });

  it('keys each action: OTP and refund replay, a too-early resend frees its key; the store never holds the PAN, CVV or OTP', async () => {
    const api = keyedApi();
    const post = (path: string, key: string, body?: object) =>
      request(api.app).post(path).set(auth).set('Idempotency-Key', key).send(body);
    await post('/v1/payments', 'k-create', cardPayment('ik-11', { pre_auth: false }));
    const resend = await post('/v1/payments/ik-11/otp/resend', 'k-resend');
    // A resend too early (429) ran nothing: its key is free, not a stored refusal; the same request runs again.
    expect(resend.status).toBe(429);
    const resendAgain = await post('/v1/payments/ik-11/otp/resend', 'k-resend');
    expect(resendAgain.status).toBe(429);
    expect(resendAgain.headers['idempotent-replayed']).toBeUndefined();
    expect(api.engine.calls.filter((c) => c.method === 'resendOtp')).toHaveLength(2);
    const otp = await post('/v1/payments/ik-11/otp', 'k-otp', { otp: CORRECT_OTP });
    expect(otp.status).toBe(200);
    const refund = await post('/v1/payments/ik-11/refunds', 'k-refund', {
      merchant_refund_reference: 'r-1',
      amount: { value: 100, currency: 'INR' },
    });
    expect(refund.status).toBe(201);
    for (const [path, key, body, first] of [
      ['/v1/payments/ik-11/otp', 'k-otp', { otp: CORRECT_OTP }, otp],
      [
        '/v1/payments/ik-11/refunds',
        'k-refund',
        { merchant_refund_reference: 'r-1', amount: { value: 100, currency: 'INR' } },
        refund,
      ],
    ] as const) {
      const again = await post(path, key, body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(first.body);
    }
    expect(api.engine.accepted('submitOtp')).toHaveLength(1);
    expect(api.engine.accepted('refund')).toHaveLength(1);
    const text = api.store.storedText();
    expect(text).not.toContain(CARDS.nativeOtp);
    expect(text).not.toContain(CORRECT_OTP);
    expect(text).not.toMatch(/"cvv"/);
  });

  it('keys POST /v1/customers too', async () => {
    let created = 0;
    const store = new FakeIdempotencyStore();
    const api = makeApi(
      {},
      {
        idempotency: store,
        customers: {
          create: (c) => {
            created += 1;
            return Promise.resolve({
              customerId: `cust_${created}`,
              merchantCustomerReference: c.merchantCustomerReference,
              status: 'ACTIVE',
              createdAt: undefined,
            });
          },
          savedCards: () => Promise.resolve([]),
        },
      },
    );
    const post = () =>
      request(api.app)
        .post('/v1/customers')
        .set(auth)
        .set('Idempotency-Key', KEY)
        .send({ merchant_customer_reference: 'c-1' });
    const first = await post();
    const again = await post();
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.location).toBe(first.headers.location);
    expect(created).toBe(1);
  });

  it('names the key’s record by merchant and SHA-256 of the key, never the key itself', async () => {
    const api = keyedApi();
    await create(api.app, cardPayment('ik-12'));
    const claim = api.store.calls[0]!;
    expect(claim.workflowId).toBe(`idempotency:default:${createHash('sha256').update(KEY).digest('hex')}`);
    expect(claim.workflowId).not.toContain(KEY);
  });
});

describe('the OpenAPI document', () => {
  const doc = buildOpenApiDocument({ serverUrl: 'http://api.example.test' }) as unknown as {
    paths: Record<
      string,
      Record<string, { parameters?: { $ref?: string; name?: string }[]; responses: Record<string, unknown> }>
    >;
    components: { parameters: Record<string, { name: string; in: string }> };
  };
  const mutating = [
    ['/v1/payments', 'post'],
    ['/v1/payments/{merchant_order_reference}/otp', 'post'],
    ['/v1/payments/{merchant_order_reference}/otp/resend', 'post'],
    ['/v1/payments/{merchant_order_reference}/capture', 'post'],
    ['/v1/payments/{merchant_order_reference}/cancel', 'post'],
    ['/v1/payments/{merchant_order_reference}/refunds', 'post'],
    ['/v1/customers', 'post'],
  ] as const;

  it.each(mutating)('documents Idempotency-Key and its 409 on %s %s', (path, method) => {
    const op = doc.paths[path]?.[method];
    expect(op).toBeDefined();
    const refs = (op!.parameters ?? []).map((p) => p.$ref);
    expect(refs).toContain('#/components/parameters/IdempotencyKey');
    expect(op!.responses['409']).toBeDefined();
    expect(doc.components.parameters.IdempotencyKey).toMatchObject({ name: 'Idempotency-Key', in: 'header' });
  });
});
