import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../plural-sandbox';
import { Api, fakeClock, orderBody } from './helpers';

let sandbox: RunningSandbox;
let api: Api;
let clock: ReturnType<typeof fakeClock>;

beforeEach(async () => {
  clock = fakeClock();
  sandbox = await startSandbox({ now: clock.now, tokenTtlSeconds: 60, clientId: 'cid', clientSecret: 'csecret' });
  api = new Api(sandbox.baseUrl);
});
afterEach(async () => {
  await sandbox.stop();
});

const tokenRequest = (overrides: Record<string, unknown> = {}) =>
  api.call('POST', '/api/auth/v1/token', {
    client_id: 'cid',
    client_secret: 'csecret',
    grant_type: 'client_credentials',
    ...overrides,
  });

describe('client-credential auth', () => {
  it('issues an access token with expires_in (and expires_at)', async () => {
    const res = await tokenRequest();
    expect(res.status).toBe(200);
    expect(res.body.expires_in).toBe(60);
    expect(res.body.expires_at).toBe(new Date(clock.now() + 60_000).toISOString());
    expect(typeof res.body.access_token).toBe('string');
  });

  it('refuses wrong credentials with 401 invalid_client, a wrong grant_type with 400', async () => {
    const wrong = await tokenRequest({ client_secret: 'nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
    expect(wrong.text).not.toContain('nope');
    const grant = await tokenRequest({ grant_type: 'password' });
    expect(grant.status).toBe(400);
    expect(grant.body.code).toBe('INVALID_REQUEST');
  });

  it('answers API calls without a token, or with an unknown one, with 401', async () => {
    const none = await api.call('POST', '/api/pay/v1/orders', orderBody());
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('UNAUTHORIZED');
    const bogus = await api.call('GET', '/api/pay/v1/orders/x', undefined, { token: 'not-a-token' });
    expect(bogus.status).toBe(401);
    const points = await api.call('POST', '/payment-option', {}, { token: null });
    expect(points.status).toBe(401);
    expect(sandbox.orders()).toHaveLength(0);
  });

  it('accepts a token until it expires, then answers 401', async () => {
    const token = (await tokenRequest()).body.access_token as string;
    clock.advance(59_000);
    expect((await api.call('POST', '/api/pay/v1/orders', orderBody(), { token })).status).toBe(200);
    clock.advance(1_000);
    const expired = await api.call('POST', '/api/pay/v1/orders', orderBody(), { token });
    expect(expired.status).toBe(401);
    expect(expired.body.message).toContain('expired');
  });
});
