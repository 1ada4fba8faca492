import type { Interceptable, MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PLURAL_ERROR_TYPE, PluralClient, tokenExpiryMs } from '../../plural-client';
import type { PluralError } from '../../plural-client';
import {
  BASE_URL,
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

const T0 = Date.parse('2026-01-15T10:00:00.000Z');
const ORDER_PATH = `/api/pay/v1/orders/${ORDER_ID}`;

let agent: MockAgent;
let pool: Interceptable;
let clock: number;
let client: PluralClient;
let logger: ReturnType<typeof memoryLogger>;

beforeEach(() => {
  ({ agent, pool } = newMockAgent());
  clock = T0;
  logger = memoryLogger();
  client = new PluralClient({
    baseUrl: BASE_URL,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    dispatcher: agent,
    logger,
    now: () => clock,
    tokenRefreshMarginMs: 60_000,
  });
});

afterEach(async () => {
  agent.assertNoPendingInterceptors();
  await agent.close();
});

function interceptOrder(statusCode = 200, data: unknown = envelope(order()), times = 1): SeenRequest[] {
  const seen: SeenRequest[] = [];
  pool
    .intercept({ path: ORDER_PATH, method: 'GET' })
    .reply(recordingReply(seen, statusCode, data))
    .times(times);
  return seen;
}

async function rejection(p: Promise<unknown>): Promise<PluralError> {
  try {
    await p;
  } catch (err) {
    return err as PluralError;
  }
  throw new Error('expected the call to reject');
}

describe('access token cache', () => {
  it('reuses one token across calls while it is fresh', async () => {
    const tokens = interceptToken(pool, { access_token: 'tok-A', expires_in: 3600 });
    const calls = interceptOrder(200, envelope(order()), 2);
    await client.getOrder(ORDER_ID);
    clock += 3000 * 1000; // 50 min later, still more than the 60 s margin before expiry
    await client.getOrder(ORDER_ID);
    expect(tokens).toHaveLength(1);
    expect(calls.map((c) => c.headers.authorization)).toEqual(['Bearer tok-A', 'Bearer tok-A']);
  });

  it('refreshes the token once it is within the margin of expires_in', async () => {
    const first = interceptToken(pool, { access_token: 'tok-A', expires_in: 3600 });
    const calls = interceptOrder(200, envelope(order()), 2);
    await client.getOrder(ORDER_ID);
    const second = interceptToken(pool, { access_token: 'tok-B', expires_in: 3600 });
    clock += 3541 * 1000; // 59 s before expiry: inside the 60 s margin
    await client.getOrder(ORDER_ID);
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(1);
    expect(calls.map((c) => c.headers.authorization)).toEqual(['Bearer tok-A', 'Bearer tok-B']);
  });

  it('accepts expires_at as an ISO timestamp', async () => {
    interceptToken(pool, { access_token: 'tok-A', expires_at: '2026-01-15T10:10:00.000Z' });
    const calls = interceptOrder(200, envelope(order()), 2);
    await client.getOrder(ORDER_ID);
    clock += 8 * 60 * 1000; // 2 min before expiry: outside the margin, token reused
    await client.getOrder(ORDER_ID);
    interceptToken(pool, { access_token: 'tok-B', expires_at: '2026-01-15T11:10:00.000Z' });
    interceptOrder();
    clock += 90 * 1000; // 30 s before expiry: refresh
    await client.getOrder(ORDER_ID);
    expect(calls.map((c) => c.headers.authorization)).toEqual(['Bearer tok-A', 'Bearer tok-A']);
  });

  it('computes expiry from expires_in, or expires_at as ISO, epoch seconds or epoch ms', () => {
    expect(tokenExpiryMs({ access_token: 'x', expires_in: 3600 }, T0)).toBe(T0 + 3_600_000);
    expect(tokenExpiryMs({ access_token: 'x', expires_at: '2026-01-15T11:00:00Z' }, T0)).toBe(T0 + 3_600_000);
    expect(tokenExpiryMs({ access_token: 'x', expires_at: T0 / 1000 + 3600 }, T0)).toBe(T0 + 3_600_000);
    expect(tokenExpiryMs({ access_token: 'x', expires_at: String(T0 + 3_600_000) }, T0)).toBe(T0 + 3_600_000);
    expect(tokenExpiryMs({ access_token: 'x', expires_at: 'yesterday' }, T0)).toBeUndefined();
    expect(tokenExpiryMs({ access_token: 'x', expires_at: '2020-01-01T00:00:00Z' }, T0)).toBeUndefined();
  });

  it('rejects a token response without any expiry as a response validation error', async () => {
    interceptToken(pool, { access_token: 'tok-A' });
    const err = await rejection(client.getOrder(ORDER_ID));
    expect(err.type).toBe(PLURAL_ERROR_TYPE.RESPONSE_VALIDATION);
    expect(err.operation).toBe('access token request');
  });

  it('runs a single token refresh for many concurrent calls', async () => {
    const tokens: SeenRequest[] = [];
    pool
      .intercept({ path: '/api/auth/v1/token', method: 'POST' })
      .reply(recordingReply(tokens, 200, { access_token: 'tok-A', expires_in: 3600 }))
      .delay(50);
    const calls = interceptOrder(200, envelope(order()), 5);
    await Promise.all(Array.from({ length: 5 }, () => client.getOrder(ORDER_ID)));
    expect(tokens).toHaveLength(1);
    expect(calls).toHaveLength(5);
    expect(new Set(calls.map((c) => c.headers.authorization))).toEqual(new Set(['Bearer tok-A']));
  });

  it('keeps calling with the cached token while Plural still accepts it when a refresh inside the margin fails', async () => {
    interceptToken(pool, { access_token: 'tok-A', expires_in: 3600 });
    const calls = interceptOrder(200, envelope(order()), 3);
    await client.getOrder(ORDER_ID);
    interceptToken(pool, { code: 'INTERNAL_ERROR', message: 'down' }, 503);
    clock += 3541 * 1000; // 59 s before expiry: inside the 60 s margin, the refresh fails
    await client.getOrder(ORDER_ID);
    interceptToken(pool, { access_token: 'tok-B', expires_in: 3600 });
    clock += 10 * 1000; // the next call past the margin tries the refresh again
    await client.getOrder(ORDER_ID);
    expect(calls.map((c) => c.headers.authorization)).toEqual(['Bearer tok-A', 'Bearer tok-A', 'Bearer tok-B']);
    // Once the cached token has expired, a failed refresh fails the call.
    interceptToken(pool, { code: 'INTERNAL_ERROR', message: 'down' }, 503);
    clock += 3600 * 1000;
    expect((await rejection(client.getOrder(ORDER_ID))).retryable).toBe(true);
  });

  it('after a failed refresh, the next call tries again', async () => {
    interceptToken(pool, { code: 'INTERNAL_ERROR', message: 'down' }, 503);
    const err = await rejection(client.getOrder(ORDER_ID));
    expect(err.type).toBe(PLURAL_ERROR_TYPE.API);
    expect(err.retryable).toBe(true);
    interceptToken(pool, { access_token: 'tok-B', expires_in: 3600 });
    const calls = interceptOrder();
    await client.getOrder(ORDER_ID);
    expect(calls[0]!.headers.authorization).toBe('Bearer tok-B');
  });
});

describe('401 handling', () => {
  it('on a 401 refreshes the token once and retries the call once with the same idempotency key', async () => {
    interceptToken(pool, { access_token: 'tok-A', expires_in: 3600 });
    const seen: SeenRequest[] = [];
    pool
      .intercept({ path: `/api/pay/v1/orders/${ORDER_ID}/cancel`, method: 'PUT' })
      .reply(recordingReply(seen, 401, { code: 'UNAUTHORIZED', message: 'token expired' }));
    interceptToken(pool, { access_token: 'tok-B', expires_in: 3600 });
    pool
      .intercept({ path: `/api/pay/v1/orders/${ORDER_ID}/cancel`, method: 'PUT' })
      .reply(recordingReply(seen, 200, envelope(order({ status: 'CANCELLED' }))));
    const result = await client.cancelOrder(ORDER_ID, { idempotencyKey: 'wf-1:cancel' });
    expect(result.status).toBe('CANCELLED');
    expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer tok-A', 'Bearer tok-B']);
    expect(seen.map((s) => s.headers['idempotency-key'])).toEqual(['wf-1:cancel', 'wf-1:cancel']);
  });

  it('a second 401 after the refresh is a non-retryable PluralAuthError (no third attempt)', async () => {
    interceptToken(pool, { access_token: 'tok-A', expires_in: 3600 });
    interceptToken(pool, { access_token: 'tok-B', expires_in: 3600 });
    const calls = interceptOrder(401, { code: 'UNAUTHORIZED', message: 'invalid token' }, 2);
    const err = await rejection(client.getOrder(ORDER_ID));
    expect(calls).toHaveLength(2);
    expect(err.type).toBe(PLURAL_ERROR_TYPE.AUTH);
    expect(err.statusCode).toBe(401);
    expect(err.retryable).toBe(false);
    expect(err.message).not.toContain('tok-');
  });
});

describe('token endpoint errors', () => {
  it('parses the OAuth shape {error, error_description} into a PluralAuthError', async () => {
    interceptToken(pool, { error: 'invalid_client', error_description: 'Client authentication failed' }, 401);
    const err = await rejection(client.getOrder(ORDER_ID));
    expect(err).toMatchObject({
      type: PLURAL_ERROR_TYPE.AUTH,
      statusCode: 401,
      code: 'invalid_client',
      retryable: false,
      operation: 'access token request',
    });
    expect(err.message).toContain('Client authentication failed');
    expect(err.message).not.toContain(CLIENT_SECRET);
    expect(JSON.stringify(logger.lines)).not.toContain(CLIENT_SECRET);
  });

  it('parses the gateway shape {status, type, message, traceId} into a PluralAuthError', async () => {
    interceptToken(pool, { status: 401, type: 'UNAUTHORIZED', message: 'Invalid credentials', traceId: 't-1' }, 401);
    const err = await rejection(client.getOrder(ORDER_ID));
    expect(err).toMatchObject({ type: PLURAL_ERROR_TYPE.AUTH, code: 'UNAUTHORIZED', statusCode: 401 });
    expect(err.message).toContain('Invalid credentials');
  });

  it('treats a 400 from the token endpoint as an auth error too', async () => {
    interceptToken(pool, { error: 'invalid_request' }, 400);
    const err = await rejection(client.getOrder(ORDER_ID));
    expect(err).toMatchObject({ type: PLURAL_ERROR_TYPE.AUTH, code: 'invalid_request', retryable: false });
  });
});
