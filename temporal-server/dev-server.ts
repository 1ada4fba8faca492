/**
 * Runs the official Temporal dev server (`temporal server start-dev`: the real server on SQLite, with its Web UI) as a
 * child process, and reports it ready only once its namespace answers and its search attributes are registered.
 *
 * Started here rather than by the SDK's `TestWorkflowEnvironment.createLocal` because the SDK gives a server 5 s to
 * listen, which a loaded machine can miss, and because the dev stack and the resilience suite need what the SDK does
 * not offer: a generous start deadline, the server's output on failure, and a SIGKILL followed by a restart on the
 * same database file. Where no binary is found, the SDK's download is the fallback ({@link startDevServer}).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { TypedSearchAttributes } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalBinary, installHint, TemporalBinaryError } from './binaries';

/** A custom search attribute to register at start (the SDK's `SearchAttributeKey` shape). */
export interface SearchAttributeSpec {
  readonly name: string;
  readonly type: SearchAttributeType;
}

/** Options of {@link startDevServer}. */
export interface DevServerOptions {
  /** @default the CLI {@link findTemporalBinary} finds; without one, the SDK's download */
  cliPath?: string;
  /** Address the gRPC frontend (and, unless `ui.ip` says otherwise, the UI) binds. @default '127.0.0.1' */
  ip?: string;
  /** gRPC port. @default a free port */
  port?: number;
  /** @default 'default' (always created; another name is created as well) */
  namespace?: string;
  /** SQLite file that keeps the server's state across restarts. @default in memory */
  dbFile?: string;
  /**
   * `--sqlite-pragma NAME=VALUE` pairs for `dbFile` (the CLI takes `journal_mode` and `synchronous`).
   * @default {@link DEV_SQLITE_PRAGMAS}
   */
  sqlitePragmas?: Readonly<Record<string, string>>;
  /** The Web UI, or `false` for none. @default false */
  ui?: false | { port?: number; ip?: string; codecEndpoint?: string };
  /** Custom search attributes registered at start. */
  searchAttributes?: readonly SearchAttributeSpec[];
  /**
   * `--dynamic-config-value KEY=VALUE` pairs (values are JSON), on top of {@link DEV_DYNAMIC_CONFIG} (a key given here
   * wins).
   */
  dynamicConfig?: Readonly<Record<string, unknown>>;
  /** How long the server may take to answer. @default 60_000 */
  startTimeoutMs?: number;
  /**
   * With a fixed `port`: how long to wait for it to be released (a previous server still stopping) before failing.
   * @default 10_000
   */
  portReleaseWaitMs?: number;
  /** Appends the server's output to this file. @default kept in memory (its last lines appear in start errors) */
  logFile?: string;
  /** `--log-level`. @default 'warn' */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/**
 * SQLite's write-ahead log with `synchronous=NORMAL` for the dev server's file: a crash of the server (or a SIGKILL)
 * loses nothing committed, a power cut may lose the last transactions, and each write no longer waits for a disk
 * flush (with the default rollback journal, Temporal's writes added about 90 ms to a payment's 7 gateway calls).
 */
export const DEV_SQLITE_PRAGMAS: Readonly<Record<string, string>> = { journal_mode: 'wal', synchronous: 'normal' };

/**
 * The dev server runs one history shard, and a shard reads its transfer queue (the tasks that hand workflow and
 * activity tasks to matching) at most `history.transferProcessorMaxPollRPS` times a second, 20 by default: once the
 * server has been busy for a moment, every workflow task and every non-eager activity task then waits up to 50 ms
 * before a worker can take it (`npm run bench:step-latency`: 5 no-op activities back to back took 293–307 ms, and
 * 39–57 ms at 1,000 polls a second). 200 caps that wait at 5 ms; 1,000 cost the server more CPU under load for no
 * better latency (README, Benchmarks). A cluster spreads its workflows over hundreds of shards, each with its budget.
 */
export const DEV_DYNAMIC_CONFIG: Readonly<Record<string, unknown>> = { 'history.transferProcessorMaxPollRPS': 200 };

/** A running dev server. */
export interface RunningDevServer {
  /** `host:port` of the gRPC frontend. */
  readonly address: string;
  readonly namespace: string;
  /** The Web UI's URL, when it runs. */
  readonly uiUrl: string | undefined;
  /** The server's process id (undefined when the SDK started it). */
  readonly pid: number | undefined;
  /** `binary path` or `sdk download`. */
  readonly source: string;
  /** Stops it (SIGTERM, then SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void>;
  /** SIGKILLs it, as a crash would, and waits for the process to end. */
  kill(): Promise<void>;
}

/** A free TCP port on `host` (the OS picks; closed again before returning). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether `host:port` can be bound now (nothing listens on it). */
function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * Waits until `host:port` is free, for at most `waitMs`. Checked before starting on a fixed port: a server still there
 * (one stopping after the previous `npm start`, or another one) would answer the readiness probe in place of the new
 * server, which then fails to bind and exits.
 */
async function untilFree(host: string, port: number, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await canBind(host, port)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function cliArgs(o: {
  ip: string;
  port: number;
  namespace: string;
  dbFile: string | undefined;
  sqlitePragmas: Readonly<Record<string, string>>;
  ui: DevServerOptions['ui'];
  uiPort: number | undefined;
  searchAttributes: readonly SearchAttributeSpec[];
  dynamicConfig: Readonly<Record<string, unknown>>;
  logLevel: string;
}): string[] {
  const args = ['server', 'start-dev', '--ip', o.ip, '--port', String(o.port), '--log-level', o.logLevel];
  if (o.namespace !== 'default') args.push('--namespace', o.namespace);
  if (o.dbFile !== undefined) {
    args.push('--db-filename', o.dbFile);
    for (const [name, value] of Object.entries(o.sqlitePragmas)) args.push('--sqlite-pragma', `${name}=${value}`);
  }
  if (o.ui === false || o.ui === undefined) args.push('--headless');
  else {
    args.push('--ui-port', String(o.uiPort), '--ui-ip', o.ui.ip ?? o.ip, '--ui-disable-news-fetch');
    if (o.ui.codecEndpoint !== undefined) args.push('--ui-codec-endpoint', o.ui.codecEndpoint);
  }
  for (const sa of o.searchAttributes) {
    args.push('--search-attribute', `${sa.name}=${TypedSearchAttributes.toMetadataType(sa.type)}`);
  }
  for (const [key, value] of Object.entries(o.dynamicConfig)) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  return args;
}

/** Waits until the namespace answers and the search attributes are registered, or the deadline passes. */
async function waitUntilServing(
  address: string,
  namespace: string,
  searchAttributes: readonly SearchAttributeSpec[],
  deadline: number,
  exited: () => string | undefined,
): Promise<void> {
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    const why = exited();
    if (why !== undefined) throw new Error(why);
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2_000 });
      await connection.workflowService.describeNamespace({ namespace });
      if (searchAttributes.length > 0) {
        const listed = await connection.operatorService.listSearchAttributes({ namespace });
        const missing = searchAttributes.filter((sa) => listed.customAttributes?.[sa.name] === undefined);
        if (missing.length > 0)
          throw new Error(`search attributes not registered yet: ${missing.map((m) => m.name).join(', ')}`);
      }
      return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    } finally {
      await connection?.close().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not serving after the start deadline: ${lastError}`);
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
/** A dev server must not outlive the process that started it (an orphan would hold the port and the db file). */
function killChildrenOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/**
 * Starts `temporal server start-dev` and resolves once it serves.
 * @throws {TemporalBinaryError} when no CLI is found and the SDK's download fails too
 * @throws {Error} when the server exits or does not serve in time (the message ends with its last output lines)
 */
export async function startDevServer(given: DevServerOptions = {}): Promise<RunningDevServer> {
  // The project's server settings, under what the caller asks for: the same whichever way the server starts.
  const options = {
    ...given,
    sqlitePragmas: given.sqlitePragmas ?? DEV_SQLITE_PRAGMAS,
    dynamicConfig: { ...DEV_DYNAMIC_CONFIG, ...given.dynamicConfig },
  };
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  const searchAttributes = options.searchAttributes ?? [];
  const cliPath = options.cliPath ?? findTemporalBinary('cli')?.path;
  if (cliPath === undefined) return startWithSdkDownload(options, ip, namespace, searchAttributes);

  // Ports picked here may be taken by someone else before the server binds them: try again with new ones.
  for (let attempt = 1; ; attempt += 1) {
    const port = options.port ?? (await freePort(ip));
    if (options.port !== undefined && !(await untilFree(ip, port, options.portReleaseWaitMs ?? 10_000))) {
      throw new Error(
        `Temporal dev server on ${ip}:${port}: the port is in use (another Temporal server, or one still stopping)`,
      );
    }
    const ui = options.ui;
    const uiPort = ui === false || ui === undefined ? undefined : (ui.port ?? (await freePort(ui.ip ?? ip)));
    try {
      return await spawnDevServer(options, cliPath, {
        ip,
        port,
        namespace,
        dbFile: options.dbFile,
        sqlitePragmas: options.sqlitePragmas,
        ui,
        uiPort,
        searchAttributes,
        dynamicConfig: options.dynamicConfig,
        logLevel: options.logLevel ?? 'warn',
      });
    } catch (err) {
      // The server also binds ports of its own choosing (history, matching, HTTP, metrics), which a server started
      // at the same moment may take: try again, with new ports for those this call chose.
      if (attempt < 3 && /a port was already in use/.test((err as Error).message)) continue;
      throw err;
    }
  }
}

async function spawnDevServer(
  options: DevServerOptions,
  cliPath: string,
  o: Parameters<typeof cliArgs>[0] & { uiPort: number | undefined },
): Promise<RunningDevServer> {
  const child = spawn(cliPath, cliArgs(o), { stdio: ['ignore', 'pipe', 'pipe'] });
  killChildrenOnExit();
  running.add(child);
  const tail: string[] = [];
  // Seen anywhere in the output, not only in the kept tail (a Go stack trace can push it out).
  let portTaken = false;
  const log = options.logFile !== undefined ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  const keep = (chunk: Buffer): void => {
    log?.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      if (/address already in use/i.test(line)) portTaken = true;
      tail.push(line);
      if (tail.length > 20) tail.shift();
    }
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exitCode: number | string | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      spawnError = err;
      running.delete(child);
      resolve();
    });
    child.once('exit', (code, signal) => {
      exitCode = code ?? signal ?? 'unknown';
      running.delete(child);
      log?.end();
      resolve();
    });
  });
  const address = `${o.ip}:${o.port}`;
  const whyExited = (): string | undefined =>
    spawnError !== undefined
      ? `could not run ${cliPath}: ${spawnError.message}`
      : exitCode !== undefined
        ? `temporal server start-dev exited (${exitCode}) before serving`
        : undefined;
  const stopWith = async (signal: NodeJS.Signals, graceMs: number): Promise<void> => {
    if (exitCode === undefined && spawnError === undefined) {
      child.kill(signal);
      const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(force);
    }
  };
  try {
    await waitUntilServing(
      address,
      o.namespace,
      o.searchAttributes,
      Date.now() + (options.startTimeoutMs ?? 60_000),
      whyExited,
    );
    // Served, but not by this child if it has exited meanwhile (another server answered on the port).
    const exitedMeanwhile = whyExited();
    if (exitedMeanwhile !== undefined) throw new Error(exitedMeanwhile);
  } catch (err) {
    await stopWith('SIGKILL', 0);
    const output = tail.length > 0 ? `; its last output:\n${tail.join('\n')}` : '';
    const conflict = portTaken ? ' (a port was already in use)' : '';
    throw new Error(`Temporal dev server on ${address}${conflict}: ${(err as Error).message}${output}`, {
      cause: err,
    });
  }
  let stopping: Promise<void> | undefined;
  return {
    address,
    namespace: o.namespace,
    uiUrl: o.uiPort !== undefined ? `http://${o.ui && o.ui.ip ? o.ui.ip : o.ip}:${o.uiPort}` : undefined,
    pid: child.pid,
    source: cliPath,
    stop: () => (stopping ??= stopWith('SIGTERM', 5_000)),
    kill: () => stopWith('SIGKILL', 0),
  };
}

/** No CLI on this machine: let the SDK download one (needs the internet). */
async function startWithSdkDownload(
  options: DevServerOptions & Required<Pick<DevServerOptions, 'sqlitePragmas' | 'dynamicConfig'>>,
  ip: string,
  namespace: string,
  searchAttributes: readonly SearchAttributeSpec[],
): Promise<RunningDevServer> {
  const ui = options.ui === false || options.ui === undefined ? undefined : options.ui;
  let env: TestWorkflowEnvironment;
  try {
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'cached-download' },
        ip,
        ...(options.port !== undefined ? { port: options.port } : {}),
        namespace,
        ...(options.dbFile !== undefined ? { dbFilename: options.dbFile } : {}),
        ui: ui !== undefined,
        ...(ui?.port !== undefined ? { uiPort: ui.port } : {}),
        searchAttributes: [...searchAttributes],
        extraArgs: [
          ...(ui?.codecEndpoint !== undefined ? ['--ui-codec-endpoint', ui.codecEndpoint] : []),
          ...(options.dbFile !== undefined
            ? Object.entries(options.sqlitePragmas).flatMap(([k, v]) => ['--sqlite-pragma', `${k}=${v}`])
            : []),
          ...Object.entries(options.dynamicConfig).flatMap(([k, v]) => [
            '--dynamic-config-value',
            `${k}=${JSON.stringify(v)}`,
          ]),
        ],
      },
    });
  } catch (err) {
    throw new TemporalBinaryError(
      'cli',
      `no Temporal CLI found and the SDK could not download one (${(err as Error).message}); ${installHint('cli')}`,
    );
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= env.teardown());
  return {
    address: env.address,
    namespace,
    // The SDK puts the UI on the gRPC port + 1000 unless told otherwise.
    uiUrl:
      ui !== undefined ? `http://${ui.ip ?? ip}:${ui.port ?? Number(env.address.split(':').at(-1)) + 1000}` : undefined,
    pid: undefined,
    source: 'sdk download',
    stop,
    kill: stop,
  };
}
