/**
 * The engine end to end: payments through API → Temporal → worker → sandbox, each a process of its own as
 * docker-compose deploys them (bench/lib/deployment.ts), driven over HTTP by this process as a merchant would.
 *
 * 1. Throughput, latency per call and CPU per payment of each process: a pre-auth card payment with native OTP
 *    (create → OTP → capture → PROCESSED) at each concurrency, the sandbox adding no latency; and at each concurrency,
 *    interleaved with it (half the engine's payments, the floors', then the engine's other half), the floor
 *    (bench/floor/): a no-op workflow of the same shape — the activities, Updates and Signals counted in the warm-up
 *    payments' histories — on the same Temporal server, through a tiny HTTP route of its own with the same Temporal
 *    client settings, driven by the same driver. Engine ÷ floor says how much of what Temporal allows on this machine
 *    the engine reaches. A second floor also writes what the payment writes to Temporal's visibility store (its
 *    search attributes and memo at start, and as many upserts and memo updates per phase as its history holds):
 *    engine ÷ that floor puts Temporal's work for the payment's search on both sides, leaving our own code's cost.
 *    Between batches the benchmark waits for every process to go idle.
 * 2. Overhead on a slow gateway (bench/overhead.ts): the same payment with the sandbox at 100 ms per call, through the
 *    engine and by calling the Plural client directly, alternating, and the ratio.
 *
 * Prints numbers; asserts nothing. Run through `bench/index.ts` (`npm run bench`) or alone:
 *   node --import tsx bench/engine.ts [--full]
 * Alone it reads BENCH_LEVELS (concurrencies, `1,10,50`), BENCH_OVERHEAD_PAYMENTS, BENCH_LOG_LEVEL and
 * BENCH_PERSIST=off (Temporal's state in memory rather than in a SQLite file, as `npm start` keeps it);
 * BENCH_CHILD_NODE_ARGS adds node flags to every child (`--cpu-prof …`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { paymentWorkflowId } from '../workflows/definitions';
import { floorWorkflowId } from './floor/definitions';
import { commonShape, countHistory } from './floor/shape';
import type { HistoryCount } from './floor/shape';
import { startDeployment } from './lib/deployment';
import type { Deployment, ProcessName } from './lib/deployment';
import { merchantClient } from './lib/merchant';
import { engineRoute, floorRoute, makePayment } from './lib/payment-paths';
import type { PaymentRoute } from './lib/payment-paths';
import { processCpuMs, processMemory, settle } from './lib/proc';
import { Recorder, runPool } from './lib/stats';
import { benchOverhead, stepLatencies } from './overhead';
import type { OverheadResult, StepLatencies } from './overhead';

/** Options of {@link benchEngine}. */
export interface EngineBenchOptions {
  /** Concurrency levels of part 1 and the payments made at each (by the engine, then by the floor). */
  levels: { concurrency: number; payments: number }[];
  /** Payments (each way) of part 2; 0 skips it. */
  overheadPayments: number;
  /** Sandbox latency per gateway call in part 2, ms. */
  overheadLatencyMs: number;
  /** LOG_LEVEL of the API and the worker (`info` is what a deployment runs with). */
  logLevel: string;
  /** Temporal's state in a SQLite file, as `npm start` keeps it; false: in memory. */
  persist: boolean;
  /** Progress lines go here. */
  log: (line: string) => void;
}

/** The processes a path's CPU is read from: the engine's API/worker/sandbox, or the floor's route/worker. */
export type Role = 'api' | 'worker' | 'sandbox' | 'temporal';

/** One path (engine or floor) at one concurrency. */
export interface PathResult {
  payments: number;
  completed: number;
  /** Ended by an answer 202: not answered within the API's wait (API_START_WAIT_MS / API_ACTION_WAIT_MS). */
  notAnswered: number;
  failed: number;
  /** The first few failures and 202s (call, status and error code only). */
  failures: string[];
  elapsedMs: number;
  /** Completed payments per second. */
  paymentsPerSecond: number;
  /** CPU each process used per completed payment, ms (the floor's route counts as `api`). */
  cpuMsPerPayment: Partial<Record<Role, number>>;
  latencyMs: StepLatencies;
}

/** One concurrency level of part 1. */
export interface ThroughputResult {
  concurrency: number;
  engine: PathResult;
  floor: PathResult | undefined;
  /** engine ÷ floor payments per second (target ≥ 0.8). */
  engineOverFloor: number | undefined;
  /** The floor writing the payment's search attributes and memo too (bench/floor/workflow.ts, `visibility`). */
  floorWithVisibility: PathResult | undefined;
  /** engine ÷ that floor: what our own code costs once Temporal's visibility work for the payment is on both sides. */
  engineOverFloorWithVisibility: number | undefined;
}

/** What the payment's history holds and what the floor was given (and did). */
export interface ShapeReport {
  /** The most common count among the warm-up payments… */
  engine: HistoryCount;
  /** …shared by this many of them… */
  share: number;
  /** …of this many counted. */
  counted: number;
  /** Total activities scheduled, fewest and most, over the counted payments. */
  activitiesRange: [number, number];
  /** A floor payment's own history, counted the same way. */
  floor: HistoryCount | undefined;
  /** A payment's history of the floor that writes the payment's visibility too. */
  floorWithVisibility: HistoryCount | undefined;
}

export interface EngineBenchResult {
  deployment: {
    startMs: number;
    temporalState: 'sqlite file' | 'memory';
    workflowBundle: string;
    /** RSS of each process after the run, MiB. */
    rssAfterMiB: Partial<Record<ProcessName, number>>;
  };
  shape: ShapeReport | undefined;
  throughput: ThroughputResult[];
  /** Undefined when `overheadPayments` is 0. */
  overhead: OverheadResult | undefined;
}

const MAX_FAILURES_KEPT = 5;
const WARM_UP = { concurrency: 5, payments: 20 };
/** Warm-up payments whose histories are counted for the floor's shape. */
const HISTORIES_COUNTED = 10;

const r1 = (x: number): number => Math.round(x * 10) / 10;

/** Where and how one path's payments are made, and the processes whose CPU it is charged. */
interface PaymentPath {
  url: string;
  apiKey: string;
  route: PaymentRoute;
  pids: Partial<Record<Role, number>>;
}

/** What the batches of one path at one concurrency add up to. */
class Tally {
  payments = 0;
  completed = 0;
  notAnswered = 0;
  elapsedMs = 0;
  readonly failures: string[] = [];
  readonly cpuMs: Partial<Record<Role, number>> = {};
  readonly rec = new Recorder();

  result(): PathResult {
    const cpuMsPerPayment: Partial<Record<Role, number>> = {};
    for (const [role, ms] of Object.entries(this.cpuMs) as [Role, number][]) {
      if (this.completed > 0) cpuMsPerPayment[role] = r1(ms / this.completed);
    }
    return {
      payments: this.payments,
      completed: this.completed,
      notAnswered: this.notAnswered,
      failed: this.payments - this.completed - this.notAnswered,
      failures: this.failures,
      elapsedMs: Math.round(this.elapsedMs),
      paymentsPerSecond: r1((this.completed / this.elapsedMs) * 1000),
      cpuMsPerPayment,
      latencyMs: stepLatencies(this.rec),
    };
  }
}

/** Makes `payments` payments along `path`, `concurrency` at a time, into `tally` (with the CPU its processes used). */
async function runBatch(
  path: PaymentPath,
  tally: Tally,
  refs: (i: number) => string,
  concurrency: number,
  payments: number,
): Promise<void> {
  const client = merchantClient(path.url, path.apiKey, concurrency);
  const roles = (Object.entries(path.pids) as [Role, number | undefined][]).filter(
    (e): e is [Role, number] => e[1] !== undefined,
  );
  const cpu0 = roles.map(([, pid]) => processCpuMs(pid));
  const t0 = performance.now();
  try {
    await runPool(payments, concurrency, async (i) => {
      const outcome = await makePayment(client, path.route, refs(i), tally.rec);
      if (outcome.kind === 'completed') {
        tally.completed += 1;
        return;
      }
      if (outcome.kind === 'not-answered') tally.notAnswered += 1;
      if (tally.failures.length < MAX_FAILURES_KEPT) {
        tally.failures.push(
          outcome.kind === 'failed' ? outcome.reason : `${outcome.call}: 202, not answered in the wait`,
        );
      }
    });
  } finally {
    await client.close();
  }
  tally.payments += payments;
  tally.elapsedMs += performance.now() - t0;
  roles.forEach(([role, pid], i) => {
    const before = cpu0[i];
    const after = processCpuMs(pid);
    if (before !== undefined && after !== undefined) tally.cpuMs[role] = (tally.cpuMs[role] ?? 0) + after - before;
  });
}

/**
 * Counts the histories among `workflowIds` that hold the three answered Updates (create, OTP, capture): a PROCESSED
 * payment's workflow stays open through its refund window, so completion is not the mark. Payloads stay encrypted:
 * none is read.
 */
async function countHistories(address: string, workflowIds: readonly string[]): Promise<HistoryCount[]> {
  const connection = await Connection.connect({ address });
  const typeName = (n: number): string => temporal.api.enums.v1.EventType[n] ?? String(n);
  const counts: HistoryCount[] = [];
  try {
    const client = new Client({ connection });
    for (const id of workflowIds) {
      const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
      const completedUpdates = events.filter(
        (e) => typeName(e.eventType ?? 0) === 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED',
      ).length;
      if (completedUpdates < 3) continue;
      counts.push(countHistory(events, typeName));
    }
  } finally {
    await connection.close();
  }
  return counts;
}

/** Parts 1 and 2 against one deployment. */
export async function benchEngine(options: EngineBenchOptions): Promise<EngineBenchResult> {
  const { log } = options;
  const runId = `b${Date.now().toString(36)}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'plural-bench-engine-'));
  const withFloor = options.levels.length > 0;
  log(`engine: starting Temporal, the sandbox, the API and the worker${withFloor ? ', and the floor' : ''}…`);
  const t0 = performance.now();
  let deployment: Deployment | undefined;
  try {
    deployment = await startDeployment({
      temporalDbFile: options.persist ? path.join(dataDir, 'temporal.db') : undefined,
      logLevel: options.logLevel,
      floor: withFloor,
    });
    const d = deployment;
    const startMs = Math.round(performance.now() - t0);
    const engine: PaymentPath = {
      url: d.apiUrl,
      apiKey: d.apiKey,
      route: engineRoute,
      pids: { api: d.pids.api, worker: d.pids.worker, sandbox: d.pids.sandbox, temporal: d.pids.temporal },
    };
    // Payments answered 202 go on in the background: let them finish before the next measurement starts.
    const quiet = async (after: string): Promise<void> => {
      const pids = [d.pids.api, d.pids.worker, d.pids.floorRoute, d.pids.floorWorker, d.pids.temporal];
      const waited = await settle(
        pids.filter((p): p is number => p !== undefined),
        60_000,
      );
      if (waited > 2_000) log(`engine:   ${Math.round(waited / 1000)} s until idle after ${after}`);
    };
    /** One batch of `path` into `tally`, refs `<runId>-<prefix>-<offset + i>`, then a pause until idle. */
    const batch = async (path: PaymentPath, tally: Tally, prefix: string, offset: number, count: number, c: number) => {
      await runBatch(path, tally, (i) => `${runId}-${prefix}-${offset + i}`, c, count);
      await quiet(`${prefix} (${count} at concurrency ${c})`);
    };
    log(
      `engine: ready in ${startMs} ms; warming up (${WARM_UP.payments} payments at concurrency ${WARM_UP.concurrency})`,
    );
    const warm = new Tally();
    await batch(engine, warm, 'warm', 0, WARM_UP.payments, WARM_UP.concurrency);
    if (warm.completed === 0) throw new Error(`no warm-up payment completed: ${warm.failures.join('; ')}`);

    let shape: ShapeReport | undefined;
    let floor: PaymentPath | undefined;
    let floorWithVisibility: PaymentPath | undefined;
    if (withFloor && d.floorUrl !== undefined) {
      const counts = await countHistories(
        d.temporalAddress,
        Array.from({ length: HISTORIES_COUNTED }, (_, i) => paymentWorkflowId(`${runId}-warm-${i}`)),
      );
      const common = commonShape(counts);
      const totals = counts.map((c) => c.activitiesTotal);
      floor = {
        url: d.floorUrl,
        apiKey: d.apiKey,
        route: floorRoute(common.count.shape),
        pids: { api: d.pids.floorRoute, worker: d.pids.floorWorker, temporal: d.pids.temporal },
      };
      floorWithVisibility = { ...floor, route: floorRoute({ ...common.count.shape, visibility: true }) };
      log(`engine: the payment's shape ${JSON.stringify(common.count.shape)} (${common.share}/${counts.length})`);
      log('engine: warming up the floor, and the floor with visibility');
      await batch(floor, new Tally(), 'floor-warm', 0, WARM_UP.payments, WARM_UP.concurrency);
      await batch(floorWithVisibility, new Tally(), 'floorvis-warm', 0, WARM_UP.payments, WARM_UP.concurrency);
      const [floorCount, floorWithVisibilityCount] = await countHistories(d.temporalAddress, [
        floorWorkflowId(`${runId}-floor-warm-0`),
        floorWorkflowId(`${runId}-floorvis-warm-0`),
      ]);
      shape = {
        engine: common.count,
        share: common.share,
        counted: counts.length,
        activitiesRange: [Math.min(...totals), Math.max(...totals)],
        floor: floorCount,
        floorWithVisibility: floorWithVisibilityCount,
      };
    }

    const throughput: ThroughputResult[] = [];
    for (const { concurrency: c, payments } of options.levels) {
      // Engine, floor, floor with visibility, then the same backwards (half the payments each time), so that a load
      // that drifts during the level weighs on all three alike.
      const first = Math.ceil(payments / 2);
      const e = new Tally();
      const f = new Tally();
      const v = new Tally();
      log(
        `engine and floors: ${payments} payments each at concurrency ${c}, in halves ` +
          '(engine, floor, floor with visibility, and back)…',
      );
      await batch(engine, e, `c${c}`, 0, first, c);
      if (floor && floorWithVisibility) {
        await batch(floor, f, `f${c}`, 0, first, c);
        await batch(floorWithVisibility, v, `v${c}`, 0, first, c);
        await batch(floorWithVisibility, v, `v${c}`, first, payments - first, c);
        await batch(floor, f, `f${c}`, first, payments - first, c);
      }
      await batch(engine, e, `c${c}`, first, payments - first, c);
      const er = e.result();
      const fr = floor ? f.result() : undefined;
      const vr = floorWithVisibility ? v.result() : undefined;
      const over = (p: PathResult | undefined): number | undefined =>
        p && p.paymentsPerSecond > 0 ? Math.round((er.paymentsPerSecond / p.paymentsPerSecond) * 100) / 100 : undefined;
      for (const [name, r] of [
        ['engine', er],
        ['floor', fr],
        ['floor with visibility', vr],
      ] as const) {
        if (r) {
          log(
            `${name}: ${r.paymentsPerSecond} payments/s, p50 ${r.latencyMs.payment.p50} ms, ` +
              `${r.notAnswered} not answered, ${r.failed} failed`,
          );
        }
      }
      throughput.push({
        concurrency: c,
        engine: er,
        floor: fr,
        engineOverFloor: over(fr),
        floorWithVisibility: vr,
        engineOverFloorWithVisibility: over(vr),
      });
    }

    let overhead: OverheadResult | undefined;
    if (options.overheadPayments > 0) {
      log(
        `engine: overhead, ${options.overheadPayments} payments each way with the sandbox at ${options.overheadLatencyMs} ms per call…`,
      );
      overhead = await benchOverhead(d, runId, options.overheadPayments, options.overheadLatencyMs);
      log(
        `engine:   engine p50 ${overhead.engine.payment.p50} ms, direct p50 ${overhead.direct.payment.p50} ms, ratio ${overhead.ratioP50}`,
      );
    }
    const rssAfterMiB: Partial<Record<ProcessName, number>> = {};
    for (const [name, pid] of Object.entries(d.pids) as [ProcessName, number][]) {
      const mem = processMemory(pid);
      if (mem) rssAfterMiB[name] = r1(mem.rssMiB);
    }
    return {
      deployment: {
        startMs,
        temporalState: options.persist ? 'sqlite file' : 'memory',
        workflowBundle: d.workflowBundle,
        rssAfterMiB,
      },
      shape,
      throughput,
      overhead,
    };
  } finally {
    await deployment?.stop();
    rmSync(dataDir, { recursive: true, force: true });
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
    persist: process.env.BENCH_PERSIST !== 'off',
    log: (line) => process.stderr.write(`${line}\n`),
  }).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (err: unknown) => {
      process.stderr.write(`benchmark failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
