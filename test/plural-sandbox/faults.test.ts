/* eslint-disable @typescript-eslint/no-unsafe-return -- tests walk untyped JSON responses */
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox, type SandboxOptions } from '../../plural-sandbox';
import { Api, authorizedOrder, orderBody, sleep, startWithApi, uniqueRef, webhookReceiver } from './helpers';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function start(options: SandboxOptions = {}): Promise<{ sandbox: RunningSandbox; api: Api }> {
  const started = await startWithApi(options);
  cleanups.push(() => started.sandbox.stop());
  return started;
}

async function withHook(options: SandboxOptions = {}) {
  const hook = await webhookReceiver();
  cleanups.push(() => hook.close());
  const started = await start({ webhookUrl: hook.url, ...options });
  return { ...started, hook };
}

describe('HTTP faults', () => {
  it('errorRate: answers 5xx INTERNAL_ERROR before doing anything', async () => {
    const { sandbox, api } = await start();
    sandbox.setFaults({ errorRate: 1 });
    const res = await api.post('/api/pay/v1/orders', orderBody());
    expect([500, 502, 503, 504]).toContain(res.status);
    expect(res.body.code).toBe('INTERNAL_ERROR');
    expect(sandbox.orders()).toHaveLength(0);
  });

  it('errorAfterCommitRate: does the work, then answers 500 (the order exists)', async () => {
    const { sandbox, api } = await start();
    sandbox.setFaults({ errorAfterCommitRate: 1 });
    const body = orderBody();
    const res = await api.post('/api/pay/v1/orders', body);
    expect(res.status).toBe(500);
    expect(sandbox.orderByReference(String(body.merchant_order_reference))?.status).toBe('CREATED');
  });

  it('errorAfterCommitRate leaves refusals alone (a 422 is not turned into a 500)', async () => {
    const { sandbox, api } = await start();
    const body = orderBody();
    await api.post('/api/pay/v1/orders', body);
    sandbox.setFaults({ errorAfterCommitRate: 1 });
    expect((await api.post('/api/pay/v1/orders', body)).status).toBe(422);
  });

  it('rateLimitRate: answers 429 with Retry-After', async () => {
    const { sandbox, api } = await start();
    sandbox.setFaults({ rateLimitRate: 1 });
    const res = await api.post('/api/pay/v1/orders', orderBody());
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.body.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(sandbox.orders()).toHaveLength(0);
  });

  it('timeoutRate: accepts the request and never answers; nothing happens; stop() still completes', async () => {
    const { sandbox, api } = await start();
    sandbox.setFaults({ timeoutRate: 1 });
    await expect(api.call('POST', '/api/pay/v1/orders', orderBody(), { timeoutMs: 300 })).rejects.toThrow();
    expect(sandbox.orders()).toHaveLength(0);
  });

  it('timeoutAfterCommitRate: does the work and never answers', async () => {
    const { sandbox, api } = await start();
    const o = await authorizedOrder(api);
    sandbox.setFaults({ timeoutAfterCommitRate: 1 });
    await expect(
      api.call(
        'PUT',
        `/api/pay/v1/orders/${o.orderId}/capture`,
        { merchant_capture_reference: 'c1' },
        { timeoutMs: 300 },
      ),
    ).rejects.toThrow();
    expect(sandbox.order(o.orderId)).toMatchObject({ status: 'PROCESSED', captureCount: 1 });
  });

  it('latencyMs: delays answers by at least the configured latency', async () => {
    const { sandbox, api } = await start();
    sandbox.setFaults({ latencyMs: 150 });
    const t0 = Date.now();
    expect((await api.post('/api/pay/v1/orders', orderBody())).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(145);
  });

  it('faults set at start apply to the token endpoint too', async () => {
    const sandbox = await startSandbox({ faults: { errorRate: 1 } });
    cleanups.push(() => sandbox.stop());
    const res = await new Api(sandbox.baseUrl).post('/api/auth/v1/token', {
      client_id: sandbox.credentials.clientId,
      client_secret: sandbox.credentials.clientSecret,
      grant_type: 'client_credentials',
    });
    expect(res.status).toBeGreaterThanOrEqual(500);
  });

  it('a request without a valid access token is answered 401 at once: never faulted, never counted', async () => {
    const sandbox = await startSandbox({ faults: { errorRate: 1, latencyMs: 60_000 } });
    cleanups.push(() => sandbox.stop());
    const anonymous = new Api(sandbox.baseUrl);
    for (let i = 0; i < 3; i++) {
      const res = await anonymous.post(`/api/pay/v1/orders/v1-nobody-${i}/payments`, { payments: [] });
      expect(res.status).toBe(401);
    }
    expect(sandbox.injectedFaults()).toEqual({});
  });

  it('paths: limits HTTP faults to matching API paths', async () => {
    const { sandbox, api } = await start();
    const o = await authorizedOrder(api);
    sandbox.setFaults({ errorRate: 1, paths: ['/capture'] });
    expect((await api.post('/api/pay/v1/orders', orderBody())).status).toBe(200);
    expect(
      (await api.put(`/api/pay/v1/orders/${o.orderId}/capture`, { merchant_capture_reference: 'c' })).status,
    ).toBeGreaterThanOrEqual(500);
    expect(sandbox.order(o.orderId)?.status).toBe('AUTHORIZED');
  });

  it('is deterministic under a seed and differs across seeds', async () => {
    const run = async (seed: number): Promise<number[]> => {
      const { api, sandbox } = await start({ seed });
      sandbox.setFaults({ errorRate: 0.5 });
      const statuses: number[] = [];
      for (let i = 0; i < 24; i++) {
        statuses.push(
          (await api.post('/api/pay/v1/orders', orderBody({ merchant_order_reference: `seeded-${i}` }))).status,
        );
      }
      return statuses;
    };
    const a = await run(42);
    expect(await run(42)).toEqual(a);
    expect(await run(43)).not.toEqual(a);
    expect(a.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(a.filter((s) => s >= 500).length).toBeGreaterThan(0);
  });
});

describe('webhook faults', () => {
  it('webhookDropRate: the event is never sent and the log says dropped', async () => {
    const { api, sandbox, hook } = await withHook({ faults: { webhookDropRate: 1 } });
    await authorizedOrder(api);
    await sleep(150);
    expect(hook.received).toHaveLength(0);
    expect(sandbox.webhookDeliveries().map((d) => d.outcome)).toEqual(['dropped']);
  });

  it('webhookDuplicateRate: the event arrives twice with the same webhook-id', async () => {
    const { api, hook } = await withHook({ faults: { webhookDuplicateRate: 1 } });
    await authorizedOrder(api);
    await hook.waitFor(2);
    expect(hook.received[0]!.headers['webhook-id']).toBe(hook.received[1]!.headers['webhook-id']);
    expect(hook.received[0]!.body).toBe(hook.received[1]!.body);
  });

  it('webhookReorderRate: a held event is sent after the next event of the same order', async () => {
    const { api, hook, sandbox } = await withHook({ faults: { webhookReorderRate: 1, webhookReorderHoldMs: 60_000 } });
    const o = await authorizedOrder(api);
    await sleep(100);
    expect(hook.received).toHaveLength(0);
    await api.put(`/api/pay/v1/orders/${o.orderId}/capture`, { merchant_capture_reference: uniqueRef('c') });
    await hook.waitFor(2);
    expect(hook.received.map((w) => JSON.parse(w.body).event_type)).toEqual(['ORDER_PROCESSED', 'ORDER_AUTHORIZED']);
    expect(sandbox.order(o.orderId)?.status).toBe('PROCESSED');
  });

  it('webhookReorderRate: a held event is released after webhookReorderHoldMs when nothing follows', async () => {
    const { api, hook } = await withHook({ faults: { webhookReorderRate: 1, webhookReorderHoldMs: 100 } });
    await authorizedOrder(api);
    await hook.waitFor(1, 2000);
    expect(JSON.parse(hook.received[0]!.body).event_type).toBe('ORDER_AUTHORIZED');
  });

  it('webhookDelayRate: the first delivery waits webhookDelayMs', async () => {
    const { api, hook } = await withHook({ faults: { webhookDelayRate: 1, webhookDelayMs: 200 } });
    const t0 = Date.now();
    await authorizedOrder(api);
    await hook.waitFor(1);
    expect(hook.received[0]!.at - t0).toBeGreaterThanOrEqual(195);
  });
});

describe('injected fault counts', () => {
  it('counts each injected HTTP and webhook fault by kind, and nothing while faults are off', async () => {
    const { api, sandbox, hook } = await withHook();
    await authorizedOrder(api);
    await hook.waitFor(1);
    expect(sandbox.injectedFaults()).toEqual({});
    sandbox.setFaults({ rateLimitRate: 1 });
    await api.post('/api/pay/v1/orders', orderBody());
    await api.post('/api/pay/v1/orders', orderBody());
    sandbox.setFaults({ rateLimitRate: 0, webhookDropRate: 1 });
    await authorizedOrder(api);
    expect(sandbox.injectedFaults()).toEqual({ rateLimit: 2, webhookDropped: 1 });
    expect(hook.received).toHaveLength(1);
  });
});

describe('control API', () => {
  it('reads, patches, replaces and clears the fault settings, validating them', async () => {
    const { api, sandbox } = await start();
    const bad = await api.call('PATCH', '/__sandbox/faults', { errorRate: 2 });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_REQUEST');
    const unknown = await api.call('PATCH', '/__sandbox/faults', { explode: true });
    expect(unknown.status).toBe(400);
    const patched = await api.call('PATCH', '/__sandbox/faults', { rateLimitRate: 0.25, paths: ['/capture'] });
    expect(patched.body).toMatchObject({ rateLimitRate: 0.25, paths: ['/capture'], errorRate: 0 });
    expect(sandbox.faults().rateLimitRate).toBe(0.25);
    // A replacement refused leaves the settings as they were.
    expect((await api.call('PUT', '/__sandbox/faults', { errorRate: 2 })).status).toBe(400);
    expect(sandbox.faults()).toMatchObject({ rateLimitRate: 0.25, paths: ['/capture'] });
    const replaced = await api.call('PUT', '/__sandbox/faults', { errorRate: 0.1 });
    expect(replaced.body).toMatchObject({ errorRate: 0.1, rateLimitRate: 0, paths: [] });
    expect((await api.call('DELETE', '/__sandbox/faults')).body.errorRate).toBe(0);
  });

  it('serves the order record and the webhook log; control calls are never faulted', async () => {
    const { api, sandbox } = await start();
    const o = await authorizedOrder(api);
    sandbox.setFaults({ errorRate: 1, timeoutRate: 1 });
    const rec = await api.get(`/__sandbox/orders/${o.orderId}`);
    expect(rec.status).toBe(200);
    expect(rec.body).toMatchObject({ orderId: o.orderId, status: 'AUTHORIZED', captureCount: 0 });
    expect(rec.body.authorizationDeadline - rec.body.authorizedAt).toBe(7 * 24 * 3600 * 1000);
    expect((await api.get('/__sandbox/orders')).body.orders).toHaveLength(1);
    expect((await api.get('/__sandbox/webhooks')).status).toBe(200);
    expect((await api.get('/__sandbox/orders/v1-unknown')).status).toBe(404);
  });
});
