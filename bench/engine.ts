/**
 * The engine end to end: payments through API → Temporal → worker → sandbox, the dev stack running as `npm start`
 * runs it (a child process: sandbox, worker and API in one process, Temporal's dev server in a child of its own),
 * driven over HTTP by this process as a merchant would.
 *
 * 1. Throughput and per-call latency: a pre-auth card payment with native OTP (create → OTP → capture → PROCESSED)
 *    at concurrency 1, 10 and 50, the sandbox adding no latency.
 * 2. Overhead: the same payment with the sandbox at 100 ms per call, made through the engine and by calling the
 *    Plural client directly with the same gateway calls (token cached; create order, card details, create payment,
 *    generate OTP, submit OTP, get order, capture), one after the other in the same run, and the ratio.
 *
 * Prints numbers; asserts nothing. Run through `bench/index.ts` (`npm run bench`) or alone:
 *   node --import tsx bench/engine.ts [--full]
 * Alone it reads BENCH_LEVELS (concurrencies, `1,10,50`), BENCH_OVERHEAD_PAYMENTS, BENCH_LOG_LEVEL and
 * BENCH_PERSIST=off (no Temporal state file); BENCH_CHILD_NODE_ARGS adds node flags to the stack (`--cpu-prof …`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DevStackInfo } from '../dev/stack';
import { PluralClient } from '../plural-client';
import { DEFAULT_CREDENTIALS } from '../plural-sandbox';
import { startChild } from './lib/child';
import type { BenchChild } from './lib/child';
import { BENCH_AMOUNT, merchantClient, NATIVE_OTP_CARD, SANDBOX_OTP, unexpected } from './lib/merchant';
import type { MerchantClient } from './lib/merchant';
import { processCpuMs, processMemory } from './lib/proc';
import { Recorder, runPool, summarize } from './lib/stats';
import type { LatencySummary } from './lib/stats';

/** Options of {@link benchEngine}. */
export interface EngineBenchOptions {
  /** Concurrency levels of part 1 and the payments made at each. */
  levels: { concurrency: number; payments: number }[];
  /** Payments (each way) of part 2. @default 20 */
  overheadPayments: number;
  /** Sandbox latency per gateway call in part 2, ms. @default 100 */
  overheadLatencyMs: number;
  /** LOG_LEVEL of the stack. @default 'info' (what a deployment runs with) */
  logLevel: string;
  /** Progress lines go here. */
  log: (line: string) => void;
}

/** One concurrency level of part 1. */
export interface ThroughputResult {
  concurrency: number;
  payments: number;
  failed: number;
  /** The first few failures (status and error code only). */
  failures: string[];
  elapsedMs: number;
  paymentsPerSecond: number;
  /** CPU the stack process used per successful payment (Temporal, worker, API and sandbox together), ms. */
  stackCpuMsPerPayment: number | undefined;
  latencyMs: { create: LatencySummary; otp: LatencySummary; capture: LatencySummary; payment: LatencySummary };
}

/** Part 2. */
export interface OverheadResult {
  sandboxLatencyMs: number;
  payments: number;
  gatewayCallsPerPayment: number;
  failed: number;
  failures: string[];
  engine: { create: LatencySummary; otp: LatencySummary; capture: LatencySummary; payment: LatencySummary };
  direct: {
    create: LatencySummary;
    otp: LatencySummary;
    capture: LatencySummary;
    payment: LatencySummary;
  };
  /** engine p50 / direct p50 of the whole payment (target ≤ 1.3). */
  ratioP50: number;
  ratioMean: number;
}

export interface EngineBenchResult {
  stack: { readyMs: number; rssAfterMiB: number | undefined; peakRssMiB: number | undefined };
  throughput: ThroughputResult[];
  /** Undefined when `overheadPayments` is 0. */
  overhead: OverheadResult | undefined;
}

const MAX_FAILURES_KEPT = 5;

interface Stack {
  child: BenchChild;
  info: DevStackInfo;
  readyMs: number;
  dataDir: string;
}

async function startStack(logLevel: string): Promise<Stack> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'plural-bench-engine-'));
  const t0 = performance.now();
  const child = startChild(path.join('dev', 'start.ts'), {
    DEV_TEMPORAL_PORT: '0',
    DEV_TEMPORAL_UI_PORT: '0',
    DEV_SANDBOX_PORT: '0',
    API_PORT: '0',
    WORKER_METRICS_PORT: '0',
    DEV_DATA_DIR: process.env.BENCH_PERSIST === 'off' ? 'none' : dataDir,
    LOG_LEVEL: logLevel,
  });
  try {
    const m = await child.waitFor(/^READY (\{.*\})$/m, 120_000);
    return { child, info: JSON.parse(m[1] ?? '{}') as DevStackInfo, readyMs: performance.now() - t0, dataDir };
  } catch (err) {
    await child.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

async function setSandboxLatency(plural: Stack['info']['plural'], latencyMs: number): Promise<void> {
  const res = await fetch(`${plural.baseUrl}/__sandbox/faults`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${plural.controlToken ?? ''}` },
    body: JSON.stringify({ latencyMs }),
  });
  if (!res.ok) throw new Error(`sandbox refused latency ${latencyMs} ms: HTTP ${res.status}`);
}

/** One payment through the API; returns a failure description, or undefined when it reached PROCESSED. */
async function enginePayment(api: MerchantClient, ref: string, rec: Recorder): Promise<string | undefined> {
  const t0 = performance.now();
  const created = await rec.time('create', () =>
    api.call('POST', '/v1/payments', {
      merchant_order_reference: ref,
      amount: BENCH_AMOUNT,
      pre_auth: true,
      card: NATIVE_OTP_CARD,
    }),
  );
  if (created.status !== 201 || created.body.status !== 'AWAITING_OTP') {
    return unexpected('create', created, '201 AWAITING_OTP');
  }
  const otp = await rec.time('otp', () => api.call('POST', `/v1/payments/${ref}/otp`, { otp: SANDBOX_OTP }));
  if (otp.status !== 200 || otp.body.status !== 'AUTHORIZED') return unexpected('otp', otp, '200 AUTHORIZED');
  const captured = await rec.time('capture', () => api.call('POST', `/v1/payments/${ref}/capture`, {}));
  if (captured.status !== 200 || captured.body.status !== 'PROCESSED') {
    return unexpected('capture', captured, '200 PROCESSED');
  }
  rec.add('payment', performance.now() - t0);
  return undefined;
}

/** The same gateway calls the workflow makes for this payment, straight through the Plural client. */
async function directPayment(
  plural: PluralClient,
  ref: string,
  callbackUrl: string,
  rec: Recorder,
): Promise<string | undefined> {
  const t0 = performance.now();
  const { order, paymentId } = await rec.time('create', async () => {
    const created = await plural.createOrder(
      {
        merchant_order_reference: ref,
        order_amount: BENCH_AMOUNT,
        pre_auth: true,
        callback_url: callbackUrl,
        failure_callback_url: callbackUrl,
      },
      { idempotencyKey: `direct:${ref}:create-order` },
    );
    await plural.getCardDetails({
      amount: BENCH_AMOUNT.value,
      card_details: [{ payment_identifier: NATIVE_OTP_CARD.number, payment_reference_type: 'CARD' }],
    });
    const paid = await plural.createPayment(
      created.order_id,
      {
        payments: [
          {
            merchant_payment_reference: `${ref}-p`,
            payment_method: 'CARD',
            payment_amount: BENCH_AMOUNT,
            pre_auth: true,
            payment_option: {
              card_details: {
                name: NATIVE_OTP_CARD.name,
                card_number: NATIVE_OTP_CARD.number,
                cvv: NATIVE_OTP_CARD.cvv,
                expiry_month: NATIVE_OTP_CARD.expiry_month,
                expiry_year: NATIVE_OTP_CARD.expiry_year,
              },
            },
          },
        ],
      },
      { idempotencyKey: `direct:${ref}:create-payment` },
    );
    const id = paid.payments[0]?.id ?? '';
    await plural.generateOtp({ payment_id: id }, { idempotencyKey: `direct:${ref}:generate-otp` });
    return { order: created, paymentId: id };
  });
  const authorized = await rec.time('otp', async () => {
    await plural.submitOtp({ payment_id: paymentId, otp: SANDBOX_OTP }, { idempotencyKey: `direct:${ref}:submit-otp` });
    return plural.getOrder(order.order_id);
  });
  if (authorized.status !== 'AUTHORIZED') return `direct: order ${authorized.status} after the OTP (wanted AUTHORIZED)`;
  const captured = await rec.time('capture', () =>
    plural.captureOrder(
      order.order_id,
      { merchant_capture_reference: `${ref}-c` },
      { idempotencyKey: `direct:${ref}:capture` },
    ),
  );
  if (captured.status !== 'PROCESSED') return `direct: order ${captured.status} after the capture (wanted PROCESSED)`;
  rec.add('payment', performance.now() - t0);
  return undefined;
}

const describe = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

async function throughputLevel(
  stack: Stack,
  runId: string,
  concurrency: number,
  payments: number,
): Promise<ThroughputResult> {
  const api = merchantClient(stack.info.api, stack.info.devApiKey ?? '', concurrency);
  const rec = new Recorder();
  const failures: string[] = [];
  let failed = 0;
  const cpu0 = processCpuMs(stack.child.pid);
  const t0 = performance.now();
  try {
    await runPool(payments, concurrency, async (i) => {
      const outcome = await enginePayment(api, `${runId}-c${concurrency}-${i}`, rec).catch(describe);
      if (outcome !== undefined) {
        failed += 1;
        if (failures.length < MAX_FAILURES_KEPT) failures.push(outcome);
      }
    });
  } finally {
    await api.close();
  }
  const elapsedMs = performance.now() - t0;
  const cpu1 = processCpuMs(stack.child.pid);
  const ok = payments - failed;
  const s = rec.summary();
  const empty = summarize([]);
  return {
    concurrency,
    payments,
    failed,
    failures,
    elapsedMs: Math.round(elapsedMs),
    paymentsPerSecond: Math.round((ok / elapsedMs) * 1000 * 10) / 10,
    stackCpuMsPerPayment:
      cpu0 !== undefined && cpu1 !== undefined && ok > 0 ? Math.round(((cpu1 - cpu0) / ok) * 10) / 10 : undefined,
    latencyMs: {
      create: s.create ?? empty,
      otp: s.otp ?? empty,
      capture: s.capture ?? empty,
      payment: s.payment ?? empty,
    },
  };
}

async function overhead(stack: Stack, runId: string, payments: number, latencyMs: number): Promise<OverheadResult> {
  const api = merchantClient(stack.info.api, stack.info.devApiKey ?? '', 1);
  const plural = new PluralClient({
    baseUrl: stack.info.plural.baseUrl,
    clientId: DEFAULT_CREDENTIALS.clientId,
    clientSecret: DEFAULT_CREDENTIALS.clientSecret,
  });
  const callbackUrl = `${stack.info.api}/v1/callbacks/plural`;
  const engineRec = new Recorder();
  const directRec = new Recorder();
  const failures: string[] = [];
  let failed = 0;
  const note = (outcome: string | undefined): void => {
    if (outcome === undefined) return;
    failed += 1;
    if (failures.length < MAX_FAILURES_KEPT) failures.push(outcome);
  };
  try {
    await setSandboxLatency(stack.info.plural, latencyMs);
    // Warm both paths (the direct client fetches its token here; the engine's worker has one already).
    note(await directPayment(plural, `${runId}-dw`, callbackUrl, new Recorder()).catch(describe));
    note(await enginePayment(api, `${runId}-ew`, new Recorder()).catch(describe));
    // Alternate, so that a noisy neighbour hurts both sides alike.
    for (let i = 0; i < payments; i += 1) {
      note(await enginePayment(api, `${runId}-e${i}`, engineRec).catch(describe));
      note(await directPayment(plural, `${runId}-d${i}`, callbackUrl, directRec).catch(describe));
    }
  } finally {
    await setSandboxLatency(stack.info.plural, 0).catch(() => undefined);
    await api.close();
    await plural.close();
  }
  const e = engineRec.summary();
  const d = directRec.summary();
  const empty = summarize([]);
  const pick = (s: Record<string, LatencySummary>) => ({
    create: s.create ?? empty,
    otp: s.otp ?? empty,
    capture: s.capture ?? empty,
    payment: s.payment ?? empty,
  });
  const engine = pick(e);
  const direct = pick(d);
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  return {
    sandboxLatencyMs: latencyMs,
    payments,
    gatewayCallsPerPayment: 7,
    failed,
    failures,
    engine,
    direct,
    ratioP50: ratio(engine.payment.p50, direct.payment.p50),
    ratioMean: ratio(engine.payment.mean, direct.payment.mean),
  };
}

/** Parts 1 and 2 against one stack. */
export async function benchEngine(options: EngineBenchOptions): Promise<EngineBenchResult> {
  const runId = `b${Date.now().toString(36)}`;
  options.log('engine: starting the dev stack (child process)…');
  const stack = await startStack(options.logLevel);
  try {
    options.log(`engine: stack READY in ${Math.round(stack.readyMs)} ms; warming up`);
    await throughputLevel(stack, `${runId}w`, 5, 20);
    const throughput: ThroughputResult[] = [];
    for (const level of options.levels) {
      options.log(`engine: ${level.payments} payments at concurrency ${level.concurrency}…`);
      const r = await throughputLevel(stack, runId, level.concurrency, level.payments);
      options.log(
        `engine:   ${r.paymentsPerSecond} payments/s, payment p50 ${r.latencyMs.payment.p50} ms, ${r.failed} failed`,
      );
      throughput.push(r);
    }
    let o: OverheadResult | undefined;
    if (options.overheadPayments > 0) {
      options.log(
        `engine: overhead, ${options.overheadPayments} payments each way with the sandbox at ${options.overheadLatencyMs} ms per call…`,
      );
      o = await overhead(stack, runId, options.overheadPayments, options.overheadLatencyMs);
      options.log(
        `engine:   engine p50 ${o.engine.payment.p50} ms, direct p50 ${o.direct.payment.p50} ms, ratio ${o.ratioP50}`,
      );
    }
    const mem = processMemory(stack.child.pid);
    return {
      stack: { readyMs: Math.round(stack.readyMs), rssAfterMiB: mem?.rssMiB, peakRssMiB: mem?.peakRssMiB },
      throughput,
      overhead: o,
    };
  } finally {
    await stack.child.stop();
    rmSync(stack.dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const full = process.argv.includes('--full') || process.env.BENCH_MODE === 'full';
  benchEngine({
    levels: (process.env.BENCH_LEVELS ?? '1,10,50').split(',').map((c) => ({
      concurrency: Number(c),
      payments: full ? Number(c) * 100 : Math.max(30, Number(c) * 10),
    })),
    overheadPayments: Number(process.env.BENCH_OVERHEAD_PAYMENTS ?? (full ? 50 : 15)),
    overheadLatencyMs: 100,
    logLevel: process.env.BENCH_LOG_LEVEL ?? 'info',
    log: (line) => process.stderr.write(`${line}\n`),
  }).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (err: unknown) => {
      process.stderr.write(`benchmark failed: ${describe(err)}\n`);
      process.exit(1);
    },
  );
}
