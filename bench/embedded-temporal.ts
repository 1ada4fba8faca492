/**
 * Benchmark of the embedded Temporal service (embedded-temporal/): start-up time, throughput of a payment-shaped
 * workflow at concurrency 1, 10 and 100, and server memory with many open workflows.
 *
 *   npx tsx bench/embedded-temporal.ts [--short] [--open N]
 *
 * How it measures:
 * - start-up: in this process, time from calling `startEmbeddedTemporal()` to the first successful GetSystemInfo
 *   (module already loaded; median of 5); plus a cold start: spawning a fresh Node process that loads and starts the
 *   service, to its first GetSystemInfo.
 * - throughput: the service, the Client and one real SDK Worker all run in THIS process (so the numbers include the
 *   worker's own CPU on the same event loop and 2 cores); repeated with the service alone in a child process. Each lane loops start → signal → result() over a workflow that runs an
 *   activity, a 10 ms timer, waits for the signal and completes; workflows/second = completed / elapsed.
 * - memory: the service runs alone in a child process; this process starts N workflows that wait for a signal and
 *   reads the child's peak RSS (VmHWM in /proc/<pid>/status, sampled every 100 ms as a cross-check).
 * It prints numbers and targets, never asserts: targets are for reading.
 *
 * Options: `--only startup,throughput,child,memory` runs some parts; `--profile-child DIR` writes the child server's
 * CPU profile; `BENCH_WORKER_OPTIONS='{"maxConcurrentWorkflowTaskPolls":4}'` merges extra options into the throughput
 * worker's (for tuning experiments; the defaults were best in ours).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Client, Connection } from '@temporalio/client';
import type { InjectedSinks } from '@temporalio/worker';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { BenchActivities, BenchSinks } from './embedded-temporal-workflows';

interface EmbeddedTemporalModule {
  startEmbeddedTemporal(options?: {
    port?: number;
    host?: string;
  }): Promise<{ address: string; port: number; stop(): Promise<void> }>;
}

const ROOT = path.resolve(__dirname, '..');
const TARGETS = { startupMs: 300, workflowsPerSecond: 100, openWorkflowsRssMb: 300 } as const;

const PARTS = ['startup', 'throughput', 'child', 'memory'] as const;
type Part = (typeof PARTS)[number];

interface Options {
  short: boolean;
  openWorkflows: number;
  throughputRuns: { concurrency: number; workflows: number }[];
  /** Parts to run (`--only throughput,child`); all by default. */
  parts: Set<Part>;
  /** Directory for CPU profiles of the child-process server (`--profile-child DIR`). */
  childProfileDir: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const short = argv.includes('--short');
  const openIndex = argv.indexOf('--open');
  const openArg = openIndex >= 0 ? Number(argv[openIndex + 1]) : undefined;
  if (openArg !== undefined && !(Number.isInteger(openArg) && openArg > 0)) {
    throw new Error(`--open needs a positive integer, got "${argv[openIndex + 1]}"`);
  }
  const onlyIndex = argv.indexOf('--only');
  const only = onlyIndex >= 0 ? (argv[onlyIndex + 1] ?? '').split(',') : [...PARTS];
  const unknown = only.filter((part) => !(PARTS as readonly string[]).includes(part));
  if (unknown.length > 0) throw new Error(`--only takes a list of ${PARTS.join(', ')}; got "${unknown.join(',')}"`);
  const profileIndex = argv.indexOf('--profile-child');
  return {
    short,
    parts: new Set(only as Part[]),
    childProfileDir: profileIndex >= 0 ? path.resolve(argv[profileIndex + 1] ?? '.') : undefined,
    openWorkflows: openArg ?? (short ? 1_000 : 10_000),
    throughputRuns: short
      ? [
          { concurrency: 1, workflows: 20 },
          { concurrency: 10, workflows: 100 },
          { concurrency: 100, workflows: 300 },
        ]
      : [
          { concurrency: 1, workflows: 100 },
          { concurrency: 10, workflows: 500 },
          { concurrency: 100, workflows: 2_000 },
        ],
  };
}

async function loadEmbedded(): Promise<EmbeddedTemporalModule> {
  return (await import(path.join(ROOT, 'embedded-temporal', 'index'))) as EmbeddedTemporalModule;
}

/** Polls GetSystemInfo until it succeeds; returns when it did. */
async function waitForSystemInfo(address: string, timeoutMs = 30_000): Promise<void> {
  const connection = Connection.lazy({ address });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`no GetSystemInfo answer from ${address}`, { cause: err });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  } finally {
    await connection.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

interface ChildServer {
  pid: number;
  address: string;
  stop(): Promise<void>;
}

/** Starts the service alone in a child Node process (tsx loader), resolves once it listens. */
async function spawnChildServer(
  nodeArgs: string[] = [],
): Promise<ChildServer & { spawnedAt: number; listeningAt: number }> {
  const spawnedAt = performance.now();
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', path.join(__dirname, 'embedded-temporal-server-child.ts')],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch (err) {
        reject(new Error(`unexpected first line from the server child: ${line}`, { cause: err }));
      }
    });
    child.once('exit', (code) => reject(new Error(`server child exited early with code ${String(code)}`)));
  });
  const listeningAt = performance.now();
  return {
    pid: child.pid!,
    address: `127.0.0.1:${port}`,
    spawnedAt,
    listeningAt,
    stop: async () => {
      child.stdin.end();
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** User + system CPU time of another process, in ms (from /proc/<pid>/stat). */
function readProcessCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** USER_HZ; 100 on every Linux build Node supports. */
const CLOCK_TICKS_PER_SECOND = 100;

function readRssMb(pid: number): { rssMb: number; peakRssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

async function measureStartup() {
  const embedded = await loadEmbedded();
  const inProcessMs: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    const started = performance.now();
    const server = await embedded.startEmbeddedTemporal({ host: '127.0.0.1', port: 0 });
    await waitForSystemInfo(server.address);
    inProcessMs.push(performance.now() - started);
    await server.stop();
  }
  const child = await spawnChildServer();
  await waitForSystemInfo(child.address);
  const coldProcessMs = performance.now() - child.spawnedAt;
  await child.stop();
  return {
    inProcessMedianMs: round(median(inProcessMs)),
    inProcessRunsMs: inProcessMs.map((v) => round(v)),
    coldProcessMs: round(coldProcessMs),
  };
}

const activities: BenchActivities = {
  authorize: (amountMinor: number) => Promise.resolve(`authorized ${amountMinor}`),
};

type ThroughputResult = {
  concurrency: number;
  workflows: number;
  seconds: number;
  workflowsPerSecond: number;
  p50LatencyMs: number;
  p99LatencyMs: number;
  /** CPU time (all threads) of this process per workflow: client, worker (Rust core, workflow thread) and, in the
   * same-process placement, the service too. */
  benchProcessCpuMsPerWorkflow: number;
  /** CPU time of the service's child process per workflow (child-process placement only). */
  serverProcessCpuMsPerWorkflow: number | undefined;
}[];

/**
 * Runs the throughput lanes against a server in this process (`placement: 'same-process'`, the headline number) or
 * alone in a child process (`'child-process'`, which shows how much of the cost is the worker sharing the event loop).
 */
async function measureThroughput(
  options: Options,
  workflowBundle: { code: string },
  placement: 'same-process' | 'child-process',
): Promise<ThroughputResult> {
  const server =
    placement === 'same-process'
      ? await (await loadEmbedded()).startEmbeddedTemporal({ host: '127.0.0.1', port: 0 })
      : await spawnChildServer(
          options.childProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.childProfileDir}`] : [],
        );
  const connection = await Connection.connect({ address: server.address });
  // A worker next to a local server has no use for gzip: it only costs CPU on both ends (see README).
  const nativeConnection = await NativeConnection.connect({
    address: server.address,
    grpcCompression: { codec: 'none' },
  });
  const client = new Client({ connection });
  const taskQueue = 'bench-throughput';
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle,
    activities,
    maxCachedWorkflows: 500,
    maxConcurrentActivityTaskExecutions: 200,
    ...(process.env.BENCH_WORKER_OPTIONS ? (JSON.parse(process.env.BENCH_WORKER_OPTIONS) as object) : {}),
  });
  const running = worker.run();
  let sequence = 0;
  const runOne = async () => {
    sequence += 1;
    const started = performance.now();
    const handle = await client.workflow.start('paymentShaped', {
      taskQueue,
      workflowId: `bench-payment-${sequence}`,
      args: [5000, 10],
    });
    await handle.signal('finish');
    await handle.result();
    return performance.now() - started;
  };
  const results: ThroughputResult = [];
  try {
    await Promise.all(Array.from({ length: 10 }, () => runOne())); // warm-up: JIT, worker caches, connections
    for (const { concurrency, workflows } of options.throughputRuns) {
      const latencies: number[] = [];
      let remaining = workflows;
      const started = performance.now();
      const cpuBefore = process.cpuUsage();
      const serverCpuBefore = 'pid' in server ? readProcessCpuMs(server.pid) : 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (remaining > 0) {
            remaining -= 1;
            latencies.push(await runOne());
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      const serverCpuMs = 'pid' in server ? readProcessCpuMs(server.pid) - serverCpuBefore : undefined;
      results.push({
        concurrency,
        workflows,
        seconds: round(seconds, 2),
        workflowsPerSecond: round(workflows / seconds),
        p50LatencyMs: round(percentile(latencies, 50)),
        p99LatencyMs: round(percentile(latencies, 99)),
        benchProcessCpuMsPerWorkflow: round((cpu.user + cpu.system) / 1000 / workflows, 2),
        serverProcessCpuMsPerWorkflow: serverCpuMs === undefined ? undefined : round(serverCpuMs / workflows, 2),
      });
    }
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await nativeConnection.close();
    await server.stop();
  }
  return results;
}

async function measureOpenWorkflows(options: Options, workflowBundle: { code: string }) {
  const child = await spawnChildServer();
  const idle = readRssMb(child.pid);
  let sampledPeakMb = idle.rssMb;
  const sampler = setInterval(() => {
    try {
      sampledPeakMb = Math.max(sampledPeakMb, readRssMb(child.pid).rssMb);
    } catch {
      // the child is gone; the last sample stands
    }
  }, 100);
  const connection = await Connection.connect({ address: child.address });
  const nativeConnection = await NativeConnection.connect({ address: child.address });
  const client = new Client({ connection });
  const taskQueue = 'bench-open';
  let opened = 0;
  const sinks: InjectedSinks<BenchSinks> = {
    bench: {
      opened: {
        fn: () => {
          opened += 1;
        },
        callDuringReplay: false,
      },
    },
  };
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle,
    activities,
    sinks,
    maxCachedWorkflows: 500,
  });
  const running = worker.run();
  const started = performance.now();
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < options.openWorkflows) {
          next += 1;
          await client.workflow.start('openUntilSignalled', { taskQueue, workflowId: `bench-open-${next}` });
        }
      }),
    );
    const deadline = Date.now() + 120_000;
    while (opened < options.openWorkflows && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const loaded = readRssMb(child.pid);
    return {
      openWorkflows: options.openWorkflows,
      workflowsThatRanTheirFirstTask: opened,
      secondsToOpenAll: round((performance.now() - started) / 1000, 2),
      idleRssMb: round(idle.rssMb),
      rssWithOpenWorkflowsMb: round(loaded.rssMb),
      peakRssMb: round(Math.max(loaded.peakRssMb, sampledPeakMb)),
      kbPerOpenWorkflow: round(((loaded.rssMb - idle.rssMb) * 1024) / options.openWorkflows, 2),
    };
  } finally {
    clearInterval(sampler);
    worker.shutdown();
    await running;
    await connection.close();
    await nativeConnection.close();
    await child.stop();
  }
}

function verdict(ok: boolean): string {
  return ok ? 'meets target' : 'MISSES target';
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./embedded-temporal-workflows'),
    logger: new DefaultLogger('ERROR'),
  });

  const { parts } = options;
  const startup = parts.has('startup') ? await measureStartup() : undefined;
  const throughput = parts.has('throughput')
    ? await measureThroughput(options, workflowBundle, 'same-process')
    : undefined;
  const throughputServerInChildProcess = parts.has('child')
    ? await measureThroughput(options, workflowBundle, 'child-process')
    : undefined;
  const memory = parts.has('memory') ? await measureOpenWorkflows(options, workflowBundle) : undefined;

  const report = {
    benchmark: 'embedded-temporal',
    mode: options.short ? 'short' : 'full',
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    loadAverage: (await import('node:os')).loadavg().map((v) => round(v, 2)),
    targets: TARGETS,
    startup,
    throughput,
    throughputServerInChildProcess,
    memory,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n\n`);

  const rows: [string, string, string, string][] = [];
  if (startup) {
    rows.push(
      [
        'start-up, in process (median of 5)',
        `${startup.inProcessMedianMs} ms`,
        `<= ${TARGETS.startupMs} ms`,
        verdict(startup.inProcessMedianMs <= TARGETS.startupMs),
      ],
      ['start-up, cold process (node+tsx+service)', `${startup.coldProcessMs} ms`, 'for reference', ''],
    );
  }
  for (const run of throughput ?? []) {
    rows.push([
      `throughput, concurrency ${run.concurrency} (${run.workflows} wf, p50 ${run.p50LatencyMs} ms, p99 ${run.p99LatencyMs} ms, cpu ${run.benchProcessCpuMsPerWorkflow} ms/wf)`,
      `${run.workflowsPerSecond} wf/s`,
      `>= ${TARGETS.workflowsPerSecond} wf/s`,
      verdict(run.workflowsPerSecond >= TARGETS.workflowsPerSecond),
    ]);
  }
  for (const run of throughputServerInChildProcess ?? []) {
    rows.push([
      `  same, server in a child process, concurrency ${run.concurrency} (cpu: server ${run.serverProcessCpuMsPerWorkflow} ms/wf, rest ${run.benchProcessCpuMsPerWorkflow} ms/wf)`,
      `${run.workflowsPerSecond} wf/s`,
      'for reference',
      '',
    ]);
  }
  if (memory) {
    rows.push([
      `server peak RSS, ${memory.openWorkflows} open workflows (idle ${memory.idleRssMb} MB)`,
      `${memory.peakRssMb} MB`,
      `<= ${TARGETS.openWorkflowsRssMb} MB${memory.openWorkflows === 10_000 ? '' : ' (at 10,000)'}`,
      memory.openWorkflows === 10_000 ? verdict(memory.peakRssMb <= TARGETS.openWorkflowsRssMb) : 'not the target size',
    ]);
  }
  const widths = [0, 1, 2, 3].map((i) =>
    Math.max(...rows.map((row) => row[i]!.length), ['measure', 'value', 'target', ''][i]!.length),
  );
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ');
  process.stdout.write(`${line(['measure', 'value', 'target', 'verdict'])}\n`);
  process.stdout.write(`${widths.map((w) => '-'.repeat(w)).join('-|-')}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
