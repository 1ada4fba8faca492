/**
 * `npm run bench`: the engine's benchmarks in one run, short by default, full with `-- --full` (or BENCH_MODE=full).
 * The engine runs as deployed, one process each (API, worker, sandbox, Temporal's official dev server).
 *
 * 1. payments per second, p50/p95/p99 of each API call and CPU per payment of each process, end to end
 *    (API → Temporal → worker → sandbox), at concurrency 1, 10 and 50; and at each, the floor: a no-op workflow of
 *    the payment's shape on the same server, driven the same way; engine ÷ floor; and that floor writing the
 *    payment's search attributes and memo too, engine ÷ it (bench/engine.ts, bench/floor/);
 * 2. the engine's overhead against calling the Plural client directly, sandbox at 100 ms per call, same run
 *    (bench/overhead.ts);
 * 3. worker memory with payments parked at AWAITING_OTP, the worker compiled to JavaScript, SDK-default and bounded
 *    workflow cache (bench/worker-memory.ts);
 * 4. `npm start` to a first successful payment (bench/dev-stack-first-payment.ts).
 *
 * Prints a table to stdout (progress to stderr) and writes the numbers as JSON to bench/results/ (latest.json and a
 * timestamped copy). Asserts nothing: the targets are printed next to the numbers. Environment:
 * BENCH_MODE=short|full, BENCH_PARTS=1,2,3,4 (a subset), BENCH_LOG_LEVEL (the API's and worker's, default info),
 * BENCH_OVERHEAD_PAYMENTS (part 2's count each way), BENCH_PERSIST=off (Temporal's state in memory, not in a SQLite
 * file as `npm start` keeps it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { firstPaymentOnce } from './dev-stack-first-payment';
import type { FirstPaymentRun } from './dev-stack-first-payment';
import { benchEngine } from './engine';
import type { EngineBenchResult, PathResult, Role } from './engine';
import type { FloorPhase } from './floor/definitions';
import type { HistoryCount } from './floor/shape';
import { hookSignals } from './lib/child';
import { machineInfo } from './lib/machine';
import type { MachineInfo } from './lib/machine';
import { compileWorker } from './lib/compile';
import { formatNumber, renderTable } from './lib/table';
import { benchWorkerMemory } from './worker-memory';
import type { WorkerMemoryResult } from './worker-memory';

type Mode = 'short' | 'full';

/** What each mode runs. */
const PLANS = {
  short: {
    levels: [
      { concurrency: 1, payments: 20 },
      { concurrency: 10, payments: 60 },
      { concurrency: 50, payments: 150 },
    ],
    overheadPayments: 8,
    parked: 300,
    // The SDK's defaults, then a bounded cache, V8 heap and malloc arenas (what a 300 MB container would run).
    workerSettings: [{}, { maxCachedWorkflows: 50, maxOldSpaceMiB: 128, mallocArenaMax: 2 }],
    firstPaymentRuns: 1,
  },
  full: {
    levels: [
      { concurrency: 1, payments: 100 },
      { concurrency: 10, payments: 500 },
      { concurrency: 50, payments: 2_500 },
    ],
    overheadPayments: 50,
    parked: 10_000,
    workerSettings: [
      {},
      { maxCachedWorkflows: 100 },
      { maxCachedWorkflows: 100, maxOldSpaceMiB: 192 },
      { maxCachedWorkflows: 100, maxOldSpaceMiB: 192, mallocArenaMax: 2 },
      { maxCachedWorkflows: 50, maxOldSpaceMiB: 128, mallocArenaMax: 2 },
    ],
    firstPaymentRuns: 3,
  },
} as const satisfies Record<Mode, unknown>;

/** Everything one run produced, as written to bench/results/. */
export interface BenchReport {
  mode: Mode;
  startedAt: string;
  durationSeconds: number;
  machine: { atStart: MachineInfo; loadAverage1mAtEnd: number };
  engine?: EngineBenchResult;
  workerMemory?: WorkerMemoryResult[];
  firstPayment?: { runs: FirstPaymentRun[]; medianReadyMs: number; medianProcessedMs: number };
  errors: { part: string; message: string }[];
}

/** Engine ÷ floor with two decimals: the differences worth reading are a few hundredths. */
const ratio = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(2));

const TARGETS = {
  paymentsPerSecond: 100,
  engineOverFloor: 0.8,
  overheadRatio: 1.2,
  parkedWorkerMiB: 300,
  firstPaymentMs: 15_000,
};

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const log = (line: string): void => {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

/** A history's count in one line. */
function historyLine(c: HistoryCount): string {
  const named = (m: Record<string, number>) =>
    Object.entries(m)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  return (
    `${c.activitiesTotal} activities (${named(c.activities)}); Updates ${c.updates.join(' → ')}; ` +
    `Signals: ${named(c.signals)}; ${c.timersStarted} timers; ${c.searchAttributeUpserts} search-attribute upserts, ` +
    `${c.memoUpdates} memo updates; ${c.workflowTasks} workflow tasks, ${c.events} events`
  );
}

/** Part 1's tables: throughput and CPU per process, then latency per call, engine beside floor. */
function engineTables(e: EngineBenchResult): string[] {
  const out: string[] = [];
  if (e.throughput.length === 0) return out;
  const rss = Object.entries(e.deployment.rssAfterMiB)
    .map(([k, v]) => `${k} ${formatNumber(v)}`)
    .join(', ');
  out.push(
    '',
    `1. End to end, sandbox adding no latency: the engine (API → Temporal → worker → sandbox, each its own process) ` +
      `and the floor (a no-op workflow of the payment's shape with its own worker and tiny HTTP route, same Temporal ` +
      `client settings and driver), and that floor writing the payment's search attributes and memo too (its ` +
      `visibility writes: Temporal's work for the payment's search), at each concurrency in halves (engine, floor, ` +
      `floor with visibility, and back), on one Temporal ` +
      `dev server (state in a ` +
      `${e.deployment.temporalState}). Ready in ${e.deployment.startMs} ms; RSS after the run, MiB: ${rss}.`,
  );
  const sh = e.shape;
  if (sh) {
    const phase = (name: string, p: FloorPhase) =>
      `${name} ${p.activities} awaited + ${p.background} after the answer, ${p.signals} signals ` +
      `(with visibility also ${p.upserts} upserts, ${p.memos} memo updates)`;
    out.push(
      `   The payment's history (${sh.share} of ${sh.counted} warm-up payments; ${sh.activitiesRange[0]}–${sh.activitiesRange[1]} activities): ${historyLine(sh.engine)}.`,
      `   The floor's per phase: ${phase('open', sh.engine.shape.open)}; ${phase('OTP', sh.engine.shape.otp)}; ${phase('capture', sh.engine.shape.capture)}.`,
      `   A floor payment's history: ${sh.floor ? historyLine(sh.floor) : 'not counted'}.`,
      `   With visibility: ${sh.floorWithVisibility ? historyLine(sh.floorWithVisibility) : 'not counted'}.`,
    );
  }
  const cpu = (p: PathResult, role: Role) => p.cpuMsPerPayment[role] ?? NaN;
  const total = (p: PathResult) => Object.values(p.cpuMsPerPayment).reduce((a, b) => a + b, 0);
  out.push(
    "   Payments: completed, ended by a 202 (not answered within the API's wait), failed. CPU: ms per completed payment, by process.",
    renderTable(
      [
        'concurrency',
        'path',
        'payments',
        'completed',
        '202',
        'failed',
        'payments/s',
        'engine ÷ floor',
        '÷ floor with visibility',
        'API CPU',
        'worker CPU',
        'sandbox CPU',
        'Temporal CPU',
        'all CPU',
      ],
      e.throughput.flatMap((t) =>
        (
          [
            ['engine', t.engine],
            ['floor (route)', t.floor],
            ['floor with visibility (route)', t.floorWithVisibility],
          ] as const
        ).flatMap(([name, p], i) =>
          p
            ? [
                [
                  i === 0 ? String(t.concurrency) : '',
                  name,
                  p.payments,
                  p.completed,
                  p.notAnswered,
                  p.failed,
                  p.paymentsPerSecond,
                  i === 0 ? ratio(t.engineOverFloor) : '',
                  i === 0 ? ratio(t.engineOverFloorWithVisibility) : '',
                  cpu(p, 'api'),
                  cpu(p, 'worker'),
                  i === 0 ? formatNumber(cpu(p, 'sandbox')) : '',
                  cpu(p, 'temporal'),
                  total(p),
                ],
              ]
            : [],
        ),
      ),
    ),
    '   Latency per call, ms:',
    renderTable(
      ['concurrency', 'call', 'engine p50', 'p95', 'p99', 'max', 'floor p50', 'p95', 'p99', 'max'],
      e.throughput.flatMap((t) =>
        (['create', 'otp', 'capture', 'payment'] as const).map((call, i) => {
          const en = t.engine.latencyMs[call];
          const fl = t.floor?.latencyMs[call];
          return [
            i === 0 ? String(t.concurrency) : '',
            call === 'payment' ? 'whole payment' : call,
            en.p50,
            en.p95,
            en.p99,
            en.max,
            fl?.p50 ?? NaN,
            fl?.p95 ?? NaN,
            fl?.p99 ?? NaN,
            fl?.max ?? NaN,
          ];
        }),
      ),
    ),
  );
  return out;
}

function tables(r: BenchReport): string {
  const out: string[] = [];
  const m = r.machine.atStart;
  out.push(
    `npm run bench (${r.mode}), ${r.startedAt}, ${r.durationSeconds} s: ${m.cpus} CPUs (${m.cpuModel}), ` +
      `${m.memoryGiB} GiB, Node ${m.node}, load average ${m.loadAverage1m} → ${r.machine.loadAverage1mAtEnd}`,
  );
  if (r.engine) {
    const e = r.engine;
    out.push(...engineTables(e));
    const o = e.overhead;
    if (o)
      out.push(
        '',
        `2. Overhead: the same payment with the sandbox at ${o.sandboxLatencyMs} ms per call, ${o.payments} each way, ` +
          `alternating (${o.gatewayCallsPerPayment} gateway calls per payment; ${o.failed} failed). ms:`,
        renderTable(
          ['step', 'engine p50', 'engine mean', 'direct p50', 'direct mean', 'direct calls'],
          (
            [
              ['create', 'order, card details, payment, generate OTP'],
              ['otp', 'submit OTP, get order'],
              ['capture', 'capture'],
              ['payment', 'all 7'],
            ] as const
          ).map(([step, calls]) => [
            step === 'payment' ? 'whole payment' : step,
            o.engine[step].p50,
            o.engine[step].mean,
            o.direct[step].p50,
            o.direct[step].mean,
            calls,
          ]),
        ),
        `ratio engine / direct: p50 ${o.ratioP50}, mean ${o.ratioMean} (target ≤ ${TARGETS.overheadRatio})`,
      );
  }
  if (r.workerMemory && r.workerMemory.length > 0) {
    out.push(
      '',
      '3. Worker memory (worker/main.ts compiled to JavaScript, alone in its process), payments parked at AWAITING_OTP:',
      renderTable(
        [
          'MAX_CACHED_WORKFLOWS',
          'max-old-space-size',
          'MALLOC_ARENA_MAX',
          'parked',
          'failed',
          'parked/s',
          'RSS before MiB',
          'RSS after MiB',
          'peak MiB',
          'KiB/payment',
          'worker CPU ms/payment',
          'resumed after',
        ],
        r.workerMemory.map((w) => [
          String(w.maxCachedWorkflows),
          String(w.maxOldSpaceMiB),
          String(w.mallocArenaMax),
          w.parked,
          w.failed,
          Math.round((w.parked / w.parkingSeconds) * 10) / 10,
          w.rssBeforeMiB,
          w.rssAfterMiB,
          w.peakRssMiB,
          w.perPaymentKiB,
          w.workerCpuMsPerPayment,
          `${w.resumed.completed}/${w.resumed.tried} ≤ ${w.resumed.maxMs} ms`,
        ]),
      ),
    );
  }
  if (r.firstPayment) {
    const f = r.firstPayment;
    out.push(
      '',
      `4. npm start to first PROCESSED payment (${f.runs.length} run(s), bundle: ${f.runs.map((x) => x.bundle).join(', ')}): ` +
        `READY ${Math.round(f.medianReadyMs)} ms, first payment ${Math.round(f.medianProcessedMs)} ms (median)`,
    );
  }
  if (r.errors.length > 0) {
    out.push('', 'Errors:', ...r.errors.map((e) => `  part ${e.part}: ${e.message}`));
  }
  out.push('', summary(r));
  return out.join('\n');
}

/** The four targets, side by side with what was measured. */
function summary(r: BenchReport): string {
  const rows: (string | number)[][] = [];
  const bestRate =
    r.engine && r.engine.throughput.length > 0
      ? Math.max(...r.engine.throughput.map((t) => t.engine.paymentsPerSecond))
      : NaN;
  rows.push([
    'end-to-end payments/s (best of concurrency 1/10/50)',
    `≥ ${TARGETS.paymentsPerSecond}`,
    formatNumber(bestRate),
  ]);
  rows.push([
    'engine / direct latency, 100 ms per gateway call (p50)',
    `≤ ${TARGETS.overheadRatio}`,
    r.engine?.overhead ? r.engine.overhead.ratioP50.toFixed(2) : '-',
  ]);
  const ratios = r.engine?.throughput.filter((t) => t.engineOverFloor !== undefined) ?? [];
  rows.push([
    `engine ÷ floor payments/s (concurrency ${ratios.map((t) => t.concurrency).join('/') || '-'})`,
    `≥ ${TARGETS.engineOverFloor}`,
    ratios.map((t) => ratio(t.engineOverFloor)).join(' / ') || '-',
  ]);
  rows.push([
    "  (engine ÷ the floor writing the payment's visibility too; no target)",
    '',
    ratios.map((t) => ratio(t.engineOverFloorWithVisibility)).join(' / ') || '-',
  ]);
  for (const w of r.workerMemory ?? []) {
    rows.push([
      `worker RSS (compiled JS), ${w.parked} parked, cache ${w.maxCachedWorkflows}, old space ${w.maxOldSpaceMiB}, arenas ${w.mallocArenaMax}` +
        (r.mode === 'short' ? ' (full: 10,000)' : ''),
      `≤ ${TARGETS.parkedWorkerMiB} MB`,
      `${formatNumber(w.rssAfterMiB)} MiB`,
    ]);
  }
  rows.push([
    'npm start to first successful payment, warm',
    `≤ ${TARGETS.firstPaymentMs / 1000} s`,
    r.firstPayment ? `${formatNumber(r.firstPayment.medianProcessedMs / 1000)} s` : '-',
  ]);
  return `Targets:\n${renderTable(['what', 'target', 'measured'], rows)}`;
}

async function main(): Promise<void> {
  const mode: Mode = process.argv.includes('--full') || process.env.BENCH_MODE === 'full' ? 'full' : 'short';
  const parts = new Set((process.env.BENCH_PARTS ?? '1,2,3,4').split(',').map((p) => p.trim()));
  const plan = PLANS[mode];
  hookSignals();
  const started = Date.now();
  const report: BenchReport = {
    mode,
    startedAt: new Date(started).toISOString(),
    durationSeconds: 0,
    machine: { atStart: machineInfo(), loadAverage1mAtEnd: NaN },
    errors: [],
  };
  const attempt = async (part: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log(`part ${part} failed: ${message}`);
      report.errors.push({ part, message: message.slice(0, 2000) });
    }
  };
  log(`bench: ${mode} mode, parts ${[...parts].join(',')}`);

  // Start-up first, while nothing else of ours runs.
  if (parts.has('4')) {
    await attempt('4', async () => {
      const runs: FirstPaymentRun[] = [];
      for (let i = 0; i < plan.firstPaymentRuns; i += 1) {
        log(`first payment: run ${i + 1}/${plan.firstPaymentRuns}…`);
        runs.push(await firstPaymentOnce(i, false));
      }
      report.firstPayment = {
        runs: runs.map((x) => ({ ...x, readyMs: Math.round(x.readyMs), processedMs: Math.round(x.processedMs) })),
        medianReadyMs: median(runs.map((x) => x.readyMs)),
        medianProcessedMs: median(runs.map((x) => x.processedMs)),
      };
    });
  }
  if (parts.has('1') || parts.has('2')) {
    await attempt(parts.has('1') ? '1-2' : '2', async () => {
      report.engine = await benchEngine({
        levels: parts.has('1') ? [...plan.levels] : [],
        overheadPayments: parts.has('2') ? Number(process.env.BENCH_OVERHEAD_PAYMENTS ?? plan.overheadPayments) : 0,
        overheadLatencyMs: 100,
        logLevel: process.env.BENCH_LOG_LEVEL ?? 'info',
        persist: process.env.BENCH_PERSIST !== 'off',
        log,
      });
    });
  }
  if (parts.has('3')) {
    report.workerMemory = [];
    let workerEntry: string | undefined;
    await attempt('3 (compile)', async () => {
      log('worker memory: compiling the worker (bench/tsconfig.worker.json → dist/bench/)…');
      workerEntry = await compileWorker();
    });
    for (const setting of workerEntry === undefined ? [] : plan.workerSettings) {
      const options = {
        maxCachedWorkflows: 'maxCachedWorkflows' in setting ? setting.maxCachedWorkflows : undefined,
        maxOldSpaceMiB: 'maxOldSpaceMiB' in setting ? setting.maxOldSpaceMiB : undefined,
        mallocArenaMax: 'mallocArenaMax' in setting ? setting.mallocArenaMax : undefined,
      };
      await attempt(`3 (cache ${options.maxCachedWorkflows ?? 'default'})`, async () => {
        report.workerMemory?.push(
          await benchWorkerMemory({
            parked: plan.parked,
            concurrency: 50,
            workerEntry: workerEntry ?? '',
            ...options,
            log,
          }),
        );
      });
    }
  }

  report.durationSeconds = Math.round((Date.now() - started) / 1000);
  report.machine.loadAverage1mAtEnd = machineInfo().loadAverage1m;
  const dir = path.join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(path.join(dir, 'latest.json'), json);
  writeFileSync(path.join(dir, `${mode}-${report.startedAt.replace(/[:.]/g, '-')}.json`), json);
  process.stdout.write(`${tables(report)}\n\nJSON: ${path.relative(process.cwd(), path.join(dir, 'latest.json'))}\n`);
  if (report.errors.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`benchmark failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
