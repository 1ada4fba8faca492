/**
 * The payment worker as compiled JavaScript, as the image runs it (`npm run build`, Dockerfile), for measuring what a
 * deployment holds in memory without tsx's loader. The benchmark compiles what `worker/main.ts` imports with the
 * project's own `tsc` into `dist/bench/` (ignored by git), each run, so that it never measures a stale `dist/`.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './child';

const OUT_DIR = path.join(ROOT, 'dist', 'bench');
const TSCONFIG = path.join(ROOT, 'bench', 'tsconfig.worker.json');

/**
 * Compiles the worker (bench/tsconfig.worker.json) and returns the path of its compiled entry. The output is written
 * over the last one, not removed first: another benchmark run may be starting a worker from it at this moment.
 */
export async function compileWorker(): Promise<string> {
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', TSCONFIG], { cwd: ROOT });
  } catch (err) {
    const out = (err as { stdout?: string }).stdout ?? '';
    throw new Error(`tsc -p bench/tsconfig.worker.json failed:\n${out.slice(0, 4000)}`, { cause: err });
  }
  return path.join(OUT_DIR, 'worker', 'main.js');
}
