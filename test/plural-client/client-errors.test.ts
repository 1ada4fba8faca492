import type { Interceptable, MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  isPluralError,
  PLURAL_ERROR_TYPE,
  PluralApiError,
  PluralClient,
  PluralConnectionError,
  PluralRateLimitError,
} from '../../plural-client';
import type { PluralError } from '../../plural-client';
import {
  BASE_URL,
  CARD_NUMBER,
  CLIENT_ID,
  CLIENT_SECRET,
  envelope,
  interceptToken,
  memoryLogger,
  newMockAgent,
  order,
  ORDER_ID,
  recordingReply,
} from './fixtures';
import type { SeenRequest } from './fixtures';
import { thrownBy } from '../support/thrown';

const ORDER_PATH = `/api/pay/v1/orders/${ORDER_ID}`;
const CAPTURE_PATH = `/api/pay/v1/orders/${ORDER_ID}/capture`;

let agent: MockAgent;
let pool: Interceptable;
let client: PluralClient;
let logger: ReturnType<typeof memoryLogger>;

beforeEach(() => {
  ({ agent, pool } = newMockAgent());
  logger = memoryLogger();
  client = new PluralClient({
    baseUrl: BASE_URL,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    dispatcher: agent,
    logger,
    timeoutMs: 2_000,
  });
});

afterEach(async () => {
  agent.assertNoPendingInterceptors();
  await agent.close();
});

async function rejection(p: Promise<unknown>): Promise<PluralError> {
  try {
    await p;
  } catch (err) {
    return err as PluralError;
  }
  throw new Error('expected the call to reject');
}

const capture = () => client.captureOrder(ORDER_ID, {}, { idempotencyKey: 'wf-1:capture', requestId: 'req-1' });

describe('HTTP error responses', () => {
  beforeEach(() => interceptToken(pool));

  it('a 5xx is a retryable PluralApiError with status, code, message and request id, and is not retried', async () => {
    pool
      .intercept({ path: CAPTURE_PATH, method: 'PUT' })
      .reply(503, { code: 'INTERNAL_ERROR', message: 'Service unavailable' });
    const err = await rejection(capture());
    expect(err).toBeInstanceOf(PluralApiError);
    expect(err).toMatchObject({
      type: PLURAL_ERROR_TYPE.API,
      statusCode: 503,
      code: 'INTERNAL_ERROR',
      requestId: 'req-1',
      retryable: true,
      operation: `capture of order ${ORDER_ID}`,
    });
    expect(err.message).toBe(
      `capture of order ${ORDER_ID} failed: Plural returned INTERNAL_ERROR (HTTP 503): Service unavailable; retry later with the same idempotency key`,
    );
  });

  it('a 429 is a retryable PluralRateLimitError', async () => {
    pool
      .intercept({ path: ORDER_PATH, method: 'GET' })
      .reply(429, { code: 'PAYMENT_RATE_LIMIT', message: 'slow down' });
    const err = await rejection(client.getOrder(ORDER_ID));
    expect(err).toBeInstanceOf(PluralRateLimitError);
    expect(err).toMatchObject({ type: PLURAL_ERROR_TYPE.RATE_LIMIT, statusCode: 429, retryable: true });
  });

  it('a 422 business error is not retryable and carries additional_error_details', async () => {
    pool.intercept({ path: CAPTURE_PATH, method: 'PUT' }).reply(422, {
      code: 'PAYMENT_DECLINED',
      message: 'Payment declined by issuer',
      additional_error_details: { source: 'issuer', step: 'capture', reason: 'declined' },
    });
    const err = await rejection(capture());
    expect(err).toMatchObject({
      type: PLURAL_ERROR_TYPE.API,
      statusCode: 422,
      code: 'PAYMENT_DECLINED',
      retryable: false,
      details: { source: 'issuer', step: 'capture', reason: 'declined' },
    });
    expect(err.message).toBe(
      `capture of order ${ORDER_ID} rejected: PAYMENT_DECLINED (HTTP 422): Payment declined by issuer`,
    );
  });

  it('a 404 ORDER_NOT_FOUND is not retryable', async () => {
    pool
      .intercept({ path: ORDER_PATH, method: 'GET' })
      .reply(404, { code: 'ORDER_NOT_FOUND', message: 'no such order' });
    const err = await rejection(client.getOrder(ORDER_ID));
    expect(err).toMatchObject({ statusCode: 404, code: 'ORDER_NOT_FOUND', retryable: false });
  });

  it('a non-JSON error body yields code HTTP_<status> and no body text in the message', async () => {
    pool.intercept({ path: ORDER_PATH, method: 'GET' }).reply(502, '<html>Bad Gateway</html>');
    const err = await rejection(client.getOrder(ORDER_ID));
    expect(err).toMatchObject({ type: PLURAL_ERROR_TYPE.API, statusCode: 502, code: 'HTTP_502', retryable: true });
    expect(err.message).not.toContain('<html>');
  });

  it('redacts a card number that the gateway echoes in its message', async () => {
    pool
      .intercept({ path: ORDER_PATH, method: 'GET' })
      .reply(400, { code: 'INVALID_REQUEST', message: `card ${CARD_NUMBER} is not valid` });
    const err = await rejection(client.getOrder(ORDER_ID));
    expect(err.message).not.toContain(CARD_NUMBER);
    expect(err.message).toContain('[REDACTED]');
    expect(JSON.stringify(logger.lines)).not.toContain(CARD_NUMBER);
  });
});

describe('network failures', () => {
  beforeEach(() => interceptToken(pool));

  it('a connection error is a retryable PluralConnectionError matched on err.code', async () => {
    pool
      .intercept({ path: ORDER_PATH, method: 'GET' })
      .replyWithError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }));
    const err = await rejection(client.getOrder(ORDER_ID, { requestId: 'req-2' }));
    expect(err).toBeInstanceOf(PluralConnectionError);
    expect(err).toMatchObject({
      type: PLURAL_ERROR_TYPE.CONNECTION,
      code: 'ECONNREFUSED',
      retryable: true,
      requestId: 'req-2',
      statusCode: undefined,
    });
  });

  it('a socket reset mid-request is a connection error', async () => {
    pool
      .intercept({ path: ORDER_PATH, method: 'GET' })
      .replyWithError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
    const err = await rejection(client.getOrder(ORDER_ID));
    expect(err).toMatchObject({ type: PLURAL_ERROR_TYPE.CONNECTION, code: 'UND_ERR_SOCKET', retryable: true });
  });

  it('an error without a known network code is not disguised as a connection error', async () => {
    pool.intercept({ path: ORDER_PATH, method: 'GET' }).replyWithError(new TypeError('bug in a dispatcher'));
    const err = await rejection(client.getOrder(ORDER_ID));
    expect(isPluralError(err)).toBe(false);
    expect(err).toBeInstanceOf(TypeError);
  });

  it('the per-call timeout yields a retryable PluralTimeoutError', async () => {
    pool.intercept({ path: CAPTURE_PATH, method: 'PUT' }).reply(200, envelope(order())).delay(1_000);
    const err = await rejection(client.captureOrder(ORDER_ID, {}, { idempotencyKey: 'wf-1:capture', timeoutMs: 50 }));
    expect(err).toMatchObject({ type: PLURAL_ERROR_TYPE.TIMEOUT, retryable: true, timeoutMs: 50 });
    expect(err.message).toContain(`capture of order ${ORDER_ID} timed out after 50 ms`);
  });

  it('the client default timeout applies when the call sets none', async () => {
    const quick = new PluralClient({
      baseUrl: BASE_URL,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      dispatcher: agent,
      timeoutMs: 40,
    });
    pool.intercept({ path: ORDER_PATH, method: 'GET' }).reply(200, envelope(order())).delay(1_000);
    const err = await rejection(quick.getOrder(ORDER_ID));
    expect(err).toMatchObject({ type: PLURAL_ERROR_TYPE.TIMEOUT, timeoutMs: 40 });
  });

  it('aborting through the caller signal yields a non-retryable PluralAbortedError', async () => {
    pool.intercept({ path: ORDER_PATH, method: 'GET' }).reply(200, envelope(order())).delay(1_000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const err = await rejection(client.getOrder(ORDER_ID, { signal: controller.signal }));
    expect(err).toMatchObject({ type: PLURAL_ERROR_TYPE.ABORTED, retryable: false });
    expect(err.message).toBe(`lookup of order ${ORDER_ID} aborted by the caller`);
  });
});

describe('nothing sent', () => {
  // No interceptor is registered: a request would fail with MockNotMatchedError instead.
  it('an already-aborted signal fails the call before anything is sent', async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await rejection(client.getOrder(ORDER_ID, { signal: controller.signal }));
    expect(err.type).toBe(PLURAL_ERROR_TYPE.ABORTED);
  });
});

describe('response validation', () => {
  beforeEach(() => interceptToken(pool));

  it('an unknown order status is a non-retryable PluralResponseValidationError naming the field', async () => {
    pool.intercept({ path: ORDER_PATH, method: 'GET' }).reply(200, envelope(order({ status: 'TELEPORTED' })));
    const err = await rejection(client.getOrder(ORDER_ID));
    expect(err).toMatchObject({ type: PLURAL_ERROR_TYPE.RESPONSE_VALIDATION, retryable: false, statusCode: 200 });
    expect(err.message).toContain('data.status');
    expect(err.message).not.toContain('TELEPORTED');
  });

  it('a fractional amount in a response is rejected (money is integer minor units)', async () => {
    pool
      .intercept({ path: ORDER_PATH, method: 'GET' })
      .reply(200, envelope(order({ order_amount: { value: 11.5, currency: 'INR' } })));
    const err = await rejection(client.getOrder(ORDER_ID));
    expect(err.type).toBe(PLURAL_ERROR_TYPE.RESPONSE_VALIDATION);
    expect(err.message).toContain('data.order_amount.value');
  });

  it('a 200 with a non-JSON body is a response validation error', async () => {
    pool.intercept({ path: ORDER_PATH, method: 'GET' }).reply(200, 'OK');
    const err = await rejection(client.getOrder(ORDER_ID));
    expect(err.type).toBe(PLURAL_ERROR_TYPE.RESPONSE_VALIDATION);
  });
});

describe('idempotency headers', () => {
  beforeEach(() => interceptToken(pool));

  it('GET calls never send Idempotency-Key even when one is given', async () => {
    const seen: SeenRequest[] = [];
    pool.intercept({ path: ORDER_PATH, method: 'GET' }).reply(recordingReply(seen, 200, envelope(order())));
    await client.getOrder(ORDER_ID, { idempotencyKey: 'ignored' });
    expect(seen[0]!.headers['idempotency-key']).toBeUndefined();
  });
});

describe('construction', () => {
  it('rejects a base URL that is not http(s) and empty credentials, without echoing the secret', () => {
    const base = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET };
    expect(() => new PluralClient({ ...base, baseUrl: 'plural.test' })).toThrow(/baseUrl must be an http\(s\) URL/);
    expect(() => new PluralClient({ ...base, baseUrl: BASE_URL, clientSecret: '' })).toThrow(/non-empty/);
    expect(String(thrownBy(() => new PluralClient({ ...base, baseUrl: 'ftp://x' })))).not.toContain(CLIENT_SECRET);
  });
});
