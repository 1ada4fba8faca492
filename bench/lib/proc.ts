/** Memory and CPU of another process, from Linux's /proc (benchmarks measure a child on its own). */
import { readFileSync } from 'node:fs';

/** Resident memory of `pid`: current (VmRSS) and peak (VmHWM), MiB. Undefined off Linux or once the process is gone. */
export function processMemory(pid: number): { rssMiB: number; peakRssMiB: number } | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m?.[1] === undefined ? NaN : Number(m[1]);
  };
  return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
}

/** CPU time (user + system) `pid` has used so far, ms. Undefined off Linux or once the process is gone. */
export function processCpuMs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (1-based), in clock ticks.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on every Linux Node supports
}

/**
 * Waits until each of `pids` used less than 5% of a core over a second (at most `timeoutMs`), so that work left over
 * from one measurement does not land in the next. Resolves with how long it waited, ms.
 */
export async function settle(pids: readonly number[], timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  let before = pids.map((pid) => processCpuMs(pid) ?? 0);
  while (Date.now() - t0 < timeoutMs) {
    await new Promise<void>((r) => setTimeout(r, 1_000));
    const after = pids.map((pid) => processCpuMs(pid) ?? 0);
    if (after.every((ms, i) => ms - (before[i] ?? 0) < 50)) break;
    before = after;
  }
  return Date.now() - t0;
}
