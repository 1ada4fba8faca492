/**
 * Time from `npm start` (the dev stack as a child process, `tsx dev/start.ts`) to its READY line and to a first
 * payment reaching PROCESSED (create + native OTP, no pre-auth), over HTTP; an answer 202 (not actionable within the
 * API's wait) is followed by reads until the payment gets there, the clock still running. Prints numbers; asserts
 * nothing.
 *
 *   npx tsx bench/dev-stack-first-payment.ts [runs] [--cold]
 *
 * `--cold` deletes the cached workflow bundle before each run (a first start after install or a workflow edit).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_BUNDLE_CACHE_DIR } from '../dev/workflow-bundle';
import { apiClient, startStackProcess } from '../test/e2e/stack-process';
import { NATIVE_OTP_CARD, SANDBOX_OTP } from './lib/merchant';

/** One start of the stack: ms to its READY line and to a first PROCESSED payment, and where the bundle came from. */
export interface FirstPaymentRun {
  readyMs: number;
  processedMs: number;
  bundle: string;
}

/** Starts the stack as `npm start` does, makes one payment, stops it. */
export async function firstPaymentOnce(run: number, cold: boolean): Promise<FirstPaymentRun> {
  if (cold) rmSync(DEFAULT_BUNDLE_CACHE_DIR, { recursive: true, force: true });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'plural-bench-'));
  const t0 = performance.now();
  const stack = await startStackProcess(dataDir);
  const readyMs = performance.now() - t0;
  try {
    const call = apiClient(stack.info);
    const reference = `bench-${Date.now()}-${run}`;
    // An answer 202 (not actionable within the API's wait) is read again until the payment gets there.
    const reach = async (reply: Awaited<ReturnType<typeof call>>, status: string): Promise<void> => {
      let current = reply;
      const deadline = Date.now() + 60_000;
      const onItsWay = reply.status === 202 || reply.body.status === 'PROCESSING';
      while (onItsWay && current.body.status !== status && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        current = await call('GET', `/v1/payments/${reference}`);
      }
      if (current.body.status !== status) {
        throw new Error(`unexpected status ${String(current.body.status)} (HTTP ${current.status}), wanted ${status}`);
      }
    };
    const created = await call('POST', '/v1/payments', {
      merchant_order_reference: reference,
      amount: { value: 10_000, currency: 'INR' },
      pre_auth: false,
      card: NATIVE_OTP_CARD,
    });
    await reach(created, 'AWAITING_OTP');
    await reach(await call('POST', `/v1/payments/${reference}/otp`, { otp: SANDBOX_OTP }), 'PROCESSED');
    return { readyMs, processedMs: performance.now() - t0, bundle: stack.info.workflowBundle };
  } finally {
    await stack.stop('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const runs = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 3);
  const cold = process.argv.includes('--cold');
  process.stdout.write(
    `dev stack: start to first PROCESSED payment, ${runs} run(s), ${cold ? 'cold' : 'warm'} bundle\n`,
  );
  const results = [];
  for (let i = 0; i < runs; i += 1) {
    const r = await firstPaymentOnce(i, cold);
    results.push(r);
    process.stdout.write(
      `run ${i + 1}: READY after ${r.readyMs.toFixed(0)} ms, PROCESSED after ${r.processedMs.toFixed(0)} ms (bundle: ${r.bundle})\n`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  process.stdout.write(
    `median: READY ${median(results.map((r) => r.readyMs)).toFixed(0)} ms, ` +
      `first PROCESSED ${median(results.map((r) => r.processedMs)).toFixed(0)} ms\n`,
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`benchmark failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
