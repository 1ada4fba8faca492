/**
 * Child processes for benchmarks: a TypeScript entry run as `node --import tsx <entry>`, or a compiled `.js` entry run
 * as `node <entry>` (one process either way, so its pid is the one to measure), in its own process group, output kept
 * as a bounded tail for error messages.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { DEPLOYMENT_KEYS } from '../../config/keys';

export const ROOT = path.join(__dirname, '..', '..');

/** Payload encryption key for child processes (the engine may require PAYLOAD_KEYS); a fixed benchmark-only key. */
export const BENCH_PAYLOAD_KEYS = `bench:${Buffer.alloc(32, 7).toString('base64')}`;

const TAIL_CHARS = 64 * 1024;

/** Process groups of running children: a Ctrl-C (or SIGTERM) of the benchmark stops them too. */
const running = new Set<number>();
let signalsHooked = false;
/**
 * On SIGINT/SIGTERM, kill every running child's process group and exit (children run in their own groups, so a
 * Ctrl-C would not reach them). Exiting runs 'exit' listeners, so other helpers' children go too. Idempotent.
 */
export function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const pid of running) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/** A running child. */
export interface BenchChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The last 64 KiB the child wrote (stdout and stderr). */
  tail(): string;
  /** Resolves with the first match of `pattern` in the output (searched in the tail), or rejects on exit/timeout. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `entry` from the project root with `env` on top of a cleaned copy of ours: a `.ts` entry through tsx's
 * loader, a `.js` entry (compiled) with plain node.
 */
export function startChild(entry: string, env: Record<string, string>): BenchChild {
  const childEnv: Record<string, string | undefined> = { ...process.env };
  // Nothing of a developer's shell points the child elsewhere: every deployment key it gets is given here.
  for (const key of DEPLOYMENT_KEYS) delete childEnv[key];
  Object.assign(childEnv, { PAYLOAD_KEYS: BENCH_PAYLOAD_KEYS }, env);
  // Extra node flags for the child, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where its time goes.
  const extra = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const loader = entry.endsWith('.js') ? [] : ['--import', 'tsx'];
  const child = spawn(process.execPath, [...extra, ...loader, entry], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid === undefined) throw new Error(`could not start ${entry}`);
  const pid = child.pid;
  hookSignals();
  running.add(pid);
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  };
  const killOnExit = () => signalGroup('SIGKILL');
  process.once('exit', killOnExit);
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    if (out.length > 2 * TAIL_CHARS) out = out.slice(-TAIL_CHARS);
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      process.off('exit', killOnExit);
      running.delete(pid);
      for (const l of listeners) l();
      resolve(code);
    }),
  );
  return {
    child,
    pid,
    tail: () => out.slice(-TAIL_CHARS),
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`${entry}: no ${String(pattern)} within ${timeoutMs} ms; output:\n${out.slice(-4000)}`));
        }, timeoutMs);
        const check = (): void => {
          const m = pattern.exec(out);
          if (m) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            listeners.delete(check);
            reject(
              new Error(
                `${entry} exited (${String(child.exitCode ?? child.signalCode)}); output:\n${out.slice(-4000)}`,
              ),
            );
          }
        };
        listeners.add(check);
        check();
      });
    },
    async stop(graceMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) {
        signalGroup('SIGTERM');
        const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      signalGroup('SIGKILL');
    },
  };
}
