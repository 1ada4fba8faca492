/**
 * Load benchmark: N concurrent full payments (order, card payment, OTP generate + submit, capture) against one
 * sandbox, with webhooks on. Prints throughput, latency percentiles, heap per order and event-loop delay.
 *   npm run bench:sandbox -- [payments=2000] [concurrency=1000] [latencyMs=20]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool } from 'undici';
import { startSandbox } from '../plural-sandbox';
import { NATIVE_OTP_CARD, SANDBOX_OTP } from './lib/merchant';

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 2000);
  const concurrency = Number(process.argv[3] ?? 1000);
  const latencyMs = Number(process.argv[4] ?? 20);

  let webhooks = 0;
  const hook = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      webhooks += 1;
      res.end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`;

  const sandbox = await startSandbox({ webhookUrl: hookUrl, latencyMs });
  const pool = new Pool(sandbox.baseUrl, { connections: 256, pipelining: 1 });
  interface OrderEnvelope {
    data: { order_id: string; payments: { id: string }[] };
  }
  const call = async <T = unknown>(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<T> => {
    const res = await pool.request({
      method,
      path,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json: unknown = await res.body.json();
    if (res.statusCode !== 200) throw new Error(`${method} ${path}: ${res.statusCode} ${JSON.stringify(json)}`);
    return json as T;
  };
  const { access_token: token } = await call<{ access_token: string }>('POST', '/api/auth/v1/token', {
    client_id: sandbox.credentials.clientId,
    client_secret: sandbox.credentials.clientSecret,
    grant_type: 'client_credentials',
  });

  const flow = async (i: number): Promise<number> => {
    const t0 = performance.now();
    const order = await call<OrderEnvelope>(
      'POST',
      '/api/pay/v1/orders',
      { merchant_order_reference: `load-${i}`, order_amount: { value: 10_000, currency: 'INR' }, pre_auth: true },
      token,
    );
    const id = order.data.order_id;
    const paid = await call<OrderEnvelope>(
      'POST',
      `/api/pay/v1/orders/${id}/payments`,
      {
        payments: [
          {
            payment_method: 'CARD',
            payment_amount: { value: 10_000, currency: 'INR' },
            payment_option: {
              card_details: {
                card_number: NATIVE_OTP_CARD.number,
                cvv: NATIVE_OTP_CARD.cvv,
                expiry_month: NATIVE_OTP_CARD.expiry_month,
                expiry_year: NATIVE_OTP_CARD.expiry_year,
              },
            },
          },
        ],
      },
      token,
    );
    const paymentId = paid.data.payments[0]?.id ?? '';
    await call('POST', '/api/pay/v1/otp/generate', { payment_id: paymentId }, token);
    await call('POST', '/api/pay/v1/otp/submit', { payment_id: paymentId, otp: SANDBOX_OTP }, token);
    await call('PUT', `/api/pay/v1/orders/${id}/capture`, { merchant_capture_reference: `cap-${i}` }, token);
    return performance.now() - t0;
  };

  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const started = performance.now();
  const durations: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) durations.push(await flow(next++));
    }),
  );
  const elapsed = performance.now() - started;
  loop.disable();
  const deadline = Date.now() + 10_000;
  while (webhooks < total * 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  global.gc?.();
  const heapAfter = process.memoryUsage().heapUsed;

  durations.sort((a, b) => a - b);
  const pct = (p: number): string =>
    (durations[Math.min(durations.length - 1, Math.floor(p * durations.length))] ?? 0).toFixed(1);
  const orders = sandbox.orders();
  console.log(
    `payments: ${total}, concurrency: ${concurrency}, base latency per call: ${latencyMs} ms (5 calls per payment)`,
  );
  console.log(
    `elapsed: ${(elapsed / 1000).toFixed(2)} s, throughput: ${((total / elapsed) * 1000).toFixed(0)} payments/s, ${(((total * 5) / elapsed) * 1000).toFixed(0)} calls/s`,
  );
  console.log(`payment latency ms: p50 ${pct(0.5)}, p95 ${pct(0.95)}, p99 ${pct(0.99)}, max ${pct(1)}`);
  console.log(
    `event-loop delay ms: p50 ${(loop.percentile(50) / 1e6).toFixed(1)}, p99 ${(loop.percentile(99) / 1e6).toFixed(1)}, max ${(loop.max / 1e6).toFixed(1)}`,
  );
  console.log(
    `heap: +${((heapAfter - heapBefore) / 1024 / 1024).toFixed(1)} MiB, ${((heapAfter - heapBefore) / total / 1024).toFixed(2)} KiB per order${global.gc ? '' : ' (run with --expose-gc for a cleaner number)'}`,
  );
  console.log(
    `orders PROCESSED: ${orders.filter((o) => o.status === 'PROCESSED').length}/${total}, max captures on one order: ${Math.max(...orders.map((o) => o.captureCount))}, webhooks received: ${webhooks}`,
  );

  await pool.close();
  await sandbox.stop();
  await new Promise<void>((r) => hook.close(() => r()));
}

void main();
