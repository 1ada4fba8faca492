/**
 * Worker memory with payments parked waiting for the customer's OTP. The engine runs as it is deployed, one process
 * each (bench/lib/deployment.ts: Temporal's dev server in memory, the sandbox, the API with the card vault, the
 * worker), the worker from compiled JavaScript (bench/lib/compile.ts) so that tsx's loader is not counted. Payments
 * are created over HTTP until N are parked at AWAITING_OTP; the worker's resident memory (/proc/<pid>/status VmRSS,
 * peak VmHWM) is read before and after, alone. A few parked payments are then completed, to show that evicted
 * workflows resume.
 *
 * Prints numbers; asserts nothing. Run through `bench/index.ts` (`npm run bench`) or alone:
 *   node --import tsx bench/worker-memory.ts [parked=2000] [<MAX_CACHED_WORKFLOWS|default>[/<old space MiB>[/<MALLOC_ARENA_MAX>]] ...]
 */
import { compileWorker } from './lib/compile';
import { startDeployment } from './lib/deployment';
import { merchantClient, SANDBOX_OTP, unexpected } from './lib/merchant';
import type { MerchantReply } from './lib/merchant';
import { engineRoute } from './lib/payment-paths';
import { processCpuMs, processMemory, settle } from './lib/proc';
import { runPool } from './lib/stats';

/** Options of {@link benchWorkerMemory}. */
export interface WorkerMemoryOptions {
  /** Payments to park. */
  parked: number;
  /** Payments created at once. @default 50 */
  concurrency: number;
  /** The worker's `MAX_CACHED_WORKFLOWS`; undefined for the SDK's default. */
  maxCachedWorkflows: number | undefined;
  /** V8 old-space limit of the worker (`--max-old-space-size`, MiB); undefined for Node's default. */
  maxOldSpaceMiB?: number | undefined;
  /** glibc `MALLOC_ARENA_MAX` of the worker (fewer arenas, less RSS with many threads); undefined for glibc's. */
  mallocArenaMax?: number | undefined;
  /** The worker's compiled entry ({@link compileWorker}). */
  workerEntry: string;
  log: (line: string) => void;
}

export interface WorkerMemoryResult {
  /** `'default'`: the SDK's, sized from the V8 heap limit. */
  maxCachedWorkflows: number | 'default';
  /** The worker's `--max-old-space-size`, MiB, or `'default'`. */
  maxOldSpaceMiB: number | 'default';
  /** The worker's `MALLOC_ARENA_MAX`, or `'default'`. */
  mallocArenaMax: number | 'default';
  /** Payments asked for. */
  asked: number;
  /** Payments parked (asked − failed). */
  parked: number;
  /** Of those, answered AWAITING_OTP within the API's start wait (the rest answered 202 and parked a moment later). */
  answeredAwaitingOtp: number;
  failed: number;
  failures: string[];
  parkingSeconds: number;
  /** Worker RSS with one payment parked (workflow code loaded), MiB. */
  rssBeforeMiB: number;
  /** Worker RSS with every payment parked and the worker idle again, MiB. */
  rssAfterMiB: number;
  /** Worker peak RSS over the whole run (VmHWM), MiB. */
  peakRssMiB: number;
  /** (rssAfter - rssBefore) / parked, KiB. */
  perPaymentKiB: number;
  /** Worker CPU per parked payment, ms. */
  workerCpuMsPerPayment: number;
  /** Parked payments then completed (OTP + capture), and how long each took at most, ms. */
  resumed: { completed: number; tried: number; maxMs: number };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const describe = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/** Parks `options.parked` payments and measures the worker's memory; one fresh set of processes per call. */
export async function benchWorkerMemory(options: WorkerMemoryOptions): Promise<WorkerMemoryResult> {
  const cacheLabel = options.maxCachedWorkflows ?? 'default';
  const heapLabel =
    (options.maxOldSpaceMiB === undefined ? '' : `, old space ${options.maxOldSpaceMiB} MiB`) +
    (options.mallocArenaMax === undefined ? '' : `, MALLOC_ARENA_MAX ${options.mallocArenaMax}`);
  const deployment = await startDeployment({
    temporalDbFile: undefined,
    logLevel: 'warn',
    workerEntry: options.workerEntry,
    // Parked payments must outlive the run: a one-hour OTP window.
    apiEnv: { PAYMENT_OTP_WINDOW_MS: String(3_600_000) },
    workerEnv: {
      ...(options.maxCachedWorkflows !== undefined ? { MAX_CACHED_WORKFLOWS: String(options.maxCachedWorkflows) } : {}),
      // Extra worker environment for experiments, e.g. BENCH_WORKER_ENV=MALLOC_ARENA_MAX=2.
      ...Object.fromEntries(
        (process.env.BENCH_WORKER_ENV ?? '')
          .split(',')
          .filter((kv) => kv.includes('='))
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      ),
      ...(options.mallocArenaMax !== undefined ? { MALLOC_ARENA_MAX: String(options.mallocArenaMax) } : {}),
      ...(options.maxOldSpaceMiB !== undefined
        ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${options.maxOldSpaceMiB}`.trim() }
        : {}),
    },
  });
  const worker = deployment.worker;
  const client = merchantClient(deployment.apiUrl, deployment.apiKey, options.concurrency);
  const runId = `m${Date.now().toString(36)}`;
  const create = (ref: string): Promise<MerchantReply> => {
    const [call] = engineRoute(ref);
    return client.call('POST', call?.path ?? '/v1/payments', call?.body);
  };
  try {
    // One payment parked: the worker is polling and the workflow code is loaded. The worker may still be starting
    // (the create then answers 202): wait for the payment to park, at most a minute.
    let first = await create(`${runId}-first`);
    const firstDeadline = Date.now() + 60_000;
    while (first.status === 202 && Date.now() < firstDeadline) {
      await sleep(250);
      const read = await client.call('GET', `/v1/payments/${runId}-first`);
      if (read.status === 200 && read.body.status !== 'CREATED') first = { ...read, status: 201 };
    }
    if (first.status !== 201 || first.body.status !== 'AWAITING_OTP') {
      throw new Error(`${unexpected('first create', first, '201 AWAITING_OTP')}\n${worker.tail().slice(-4000)}`);
    }
    await settle([worker.pid], 10_000);
    const before = processMemory(worker.pid);
    const cpu0 = processCpuMs(worker.pid) ?? 0;
    options.log(
      `worker memory (cache ${cacheLabel}${heapLabel}): RSS ${before?.rssMiB.toFixed(1)} MiB with 1 payment parked; parking ${options.parked}…`,
    );

    let failed = 0;
    let awaiting = 0;
    const failures: string[] = [];
    const t0 = performance.now();
    let lastReport = t0;
    let done = 0;
    await runPool(options.parked, options.concurrency, async (i) => {
      const reply = await create(`${runId}-${i}`).catch((err: unknown) => describe(err));
      done += 1;
      // 202: started, not yet actionable within the API's wait; it parks a moment later.
      if (typeof reply === 'string' || (reply.status !== 201 && reply.status !== 202)) {
        failed += 1;
        if (failures.length < 5) failures.push(typeof reply === 'string' ? reply : unexpected('create', reply, '201'));
      } else if (reply.body.status === 'AWAITING_OTP') awaiting += 1;
      if (performance.now() - lastReport > 15_000) {
        lastReport = performance.now();
        options.log(
          `worker memory:   ${done}/${options.parked} created, worker RSS ${processMemory(worker.pid)?.rssMiB.toFixed(0)} MiB`,
        );
      }
    });
    const parkingSeconds = (performance.now() - t0) / 1000;
    await settle([worker.pid], 60_000);
    const after = processMemory(worker.pid);
    const cpu1 = processCpuMs(worker.pid) ?? 0;

    // Resume a few of the oldest parked payments (evicted from the cache first, if the cache is bounded).
    const tried = Math.min(5, options.parked - failed);
    let completed = 0;
    let maxMs = 0;
    for (let i = 0; i < tried; i += 1) {
      const t = performance.now();
      const ref = `${runId}-${i}`;
      const otp = await client.call('POST', `/v1/payments/${ref}/otp`, { otp: SANDBOX_OTP });
      const cap = otp.status === 200 ? await client.call('POST', `/v1/payments/${ref}/capture`, {}) : otp;
      if (cap.status === 200 && cap.body.status === 'PROCESSED') completed += 1;
      else if (failures.length < 5) failures.push(unexpected('resume', cap, '200 PROCESSED'));
      maxMs = Math.max(maxMs, performance.now() - t);
    }

    const parked = options.parked - failed;
    const rssBefore = before?.rssMiB ?? NaN;
    const rssAfter = after?.rssMiB ?? NaN;
    const r1 = (x: number) => Math.round(x * 10) / 10;
    return {
      maxCachedWorkflows: cacheLabel,
      maxOldSpaceMiB: options.maxOldSpaceMiB ?? 'default',
      mallocArenaMax: options.mallocArenaMax ?? 'default',
      asked: options.parked,
      parked,
      answeredAwaitingOtp: awaiting,
      failed,
      failures,
      parkingSeconds: r1(parkingSeconds),
      rssBeforeMiB: r1(rssBefore),
      rssAfterMiB: r1(rssAfter),
      peakRssMiB: r1(processMemory(worker.pid)?.peakRssMiB ?? NaN),
      perPaymentKiB: r1(((rssAfter - rssBefore) * 1024) / Math.max(1, parked)),
      workerCpuMsPerPayment: r1((cpu1 - cpu0) / Math.max(1, parked)),
      resumed: { completed, tried, maxMs: Math.round(maxMs) },
    };
  } finally {
    await client.close();
    await deployment.stop();
  }
}

if (require.main === module) {
  const parked = Number(process.argv[2] ?? 2000);
  // Each setting: `<MAX_CACHED_WORKFLOWS|default>[/<max-old-space-size MiB>]`.
  const settings = process.argv.slice(3).map((a) => {
    const [cache, heap, arenas] = a.split('/');
    return {
      maxCachedWorkflows: cache === undefined || cache === 'default' ? undefined : Number(cache),
      maxOldSpaceMiB: heap === undefined || heap === 'default' ? undefined : Number(heap),
      mallocArenaMax: arenas === undefined ? undefined : Number(arenas),
    };
  });
  void (async () => {
    const workerEntry = await compileWorker();
    for (const setting of settings.length > 0 ? settings : [{ maxCachedWorkflows: undefined }]) {
      const r = await benchWorkerMemory({
        parked,
        concurrency: 50,
        workerEntry,
        ...setting,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    }
  })().catch((err: unknown) => {
    process.stderr.write(`benchmark failed: ${describe(err)}\n`);
    process.exit(1);
  });
}
