/**
 * Parked payments on the official Temporal dev server: what a worker crash does to them, and how the suite reports one
 * that never closes.
 *
 * What a worker crash does to payments that sit idle. Payments parked at
 * AWAITING_OTP and at AUTHORIZED live in the worker's workflow cache, and Temporal routes their next task and query to
 * that worker's sticky queue. After a SIGKILL and a restart, every one of them must still answer GET, an OTP and a
 * capture through the API with the right status and no 503. The times are printed (`IDLE_AFTER_WORKER_KILL …`), not
 * asserted: speed belongs in benchmarks; the HTTP deadline only makes a stuck call fail instead of hang.
 *
 * The first query to each payment goes to the dead worker's sticky queue: the server waits the sticky
 * schedule-to-start timeout for a worker that will never poll, then clears the stickiness and asks the new worker.
 * With the SDK's default of 10 s, equal to the API's own deadline per Temporal call, every first GET answered 503 at
 * 10 s (README.md, "A worker crash and idle payments"); the worker now sets 3 s, and this test runs the API with its
 * default deadline (`IDLE_API_CALL_TIMEOUT_MS` overrides it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TIMINGS } from '../../api';
import { PAYMENT_STATUS, paymentWorkflowId } from '../../workflows/definitions';
import { CARDS } from '../support/cards';
import { startHarness } from './harness';
import type { Harness } from './harness';
import { checkInvariants } from './invariants';
import type { EngineOutcome, PaymentUnderTest } from './invariants';
import { asResource, CORRECT_OTP, Driver, engineOutcome, mapLimit, settle } from './scenario';
import { formatUnsettled } from './temporal-calls';

/** Payments parked at each of AWAITING_OTP and AUTHORIZED. */
const PER_STATE = 10;
const CALL_TIMEOUT_MS = 15_000;
/** The API's deadline per Temporal call: its default, unless the environment says otherwise. */
const API_CALL_TIMEOUT_MS = Number.parseInt(process.env.IDLE_API_CALL_TIMEOUT_MS ?? '10000', 10);
if (!Number.isSafeInteger(API_CALL_TIMEOUT_MS) || API_CALL_TIMEOUT_MS < 1)
  throw new Error('IDLE_API_CALL_TIMEOUT_MS must be a positive integer');

/** Long windows: nothing may expire or be cancelled automatically while the test looks at the parked payments. */
const DURATIONS = {
  otpWindowMs: 300_000,
  challengeWindowMs: 300_000,
  checkoutWindowMs: 300_000,
  reconcileInitialDelayMs: 2_000,
  reconcileMaxDelayMs: 5_000,
  closingReconcileMaxDelayMs: 5_000,
  autoCancelAfterMs: 300_000,
  authorizationLifetimeMs: 600_000,
  refundWindowMs: 2_000,
  refundReconcileMaxDelayMs: 5_000,
};

let h: Harness;
let driver: Driver;

beforeAll(async () => {
  h = await startHarness({
    durations: DURATIONS,
    limits: { activityMaxAttempts: 10, activityRetryInitialIntervalMs: 200, activityRetryMaximumIntervalMs: 2_000 },
    pluralTimeoutMs: 2_000,
    sandbox: { seed: 11, authorizationTtlSeconds: 600, paymentTimeoutSeconds: 600 },
    // The API's own waits, so an OTP or a capture answers with its outcome, not 202.
    apiTimings: { ...DEFAULT_TIMINGS },
    apiCallTimeoutMs: API_CALL_TIMEOUT_MS,
  });
  driver = new Driver(h, 200);
}, 120_000);

afterAll(async () => {
  await driver?.agent.close();
  await h?.stop();
}, 60_000);

const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};

describe('idle payments after a worker SIGKILL on the real Temporal server', () => {
  it('every payment parked at AWAITING_OTP or AUTHORIZED before the kill answers GET, OTP and capture after the restart, with no 5xx', async () => {
    const otpRefs = Array.from({ length: PER_STATE }, (_, i) => `idle-otp-${i}`);
    const authRefs = Array.from({ length: PER_STATE }, (_, i) => `idle-auth-${i}`);
    const amount = 10_000;

    // Park them: all reach AWAITING_OTP; half get their OTP and wait, AUTHORIZED, for a capture.
    await Promise.all(
      [...otpRefs, ...authRefs].map(async (ref) => {
        expect((await driver.create(ref, CARDS.nativeOtp, amount, true))?.status, ref).toBe(
          PAYMENT_STATUS.AWAITING_OTP,
        );
      }),
    );
    await Promise.all(
      authRefs.map(async (ref) => {
        expect((await driver.submitOtp(ref, CORRECT_OTP))?.status, ref).toBe(PAYMENT_STATUS.AUTHORIZED);
      }),
    );
    expect(driver.errors).toEqual([]);

    // The worker dies with every one of them in its cache, and a new one starts.
    const killedAt = performance.now();
    await h.worker.kill();
    await h.worker.start();
    const restartMs = performance.now() - killedAt;

    // Every customer and merchant comes back at once: one GET each, then the OTP or the capture. No retries.
    const answers = await Promise.all(
      [
        ...otpRefs.map((ref) => ({ ref, parkedAt: 'AWAITING_OTP' })),
        ...authRefs.map((ref) => ({ ref, parkedAt: 'AUTHORIZED' })),
      ].map(async ({ ref, parkedAt }) => {
        const get = await driver.once('GET', `/v1/payments/${ref}`);
        const action =
          parkedAt === 'AWAITING_OTP'
            ? await driver.once('POST', `/v1/payments/${ref}/otp`, { otp: CORRECT_OTP })
            : await driver.once('POST', `/v1/payments/${ref}/capture`, {});
        return { ref, parkedAt, get, action };
      }),
    );

    const statuses = answers.map((a) => ({
      ref: a.ref,
      get: `${a.get.status} ${asResource(a.get.body)?.status ?? '-'}`,
      action: `${a.action.status} ${asResource(a.action.body)?.status ?? '-'}`,
    }));
    const gets = answers.map((a) => a.get.ms);
    const otps = answers.filter((a) => a.parkedAt === 'AWAITING_OTP').map((a) => a.action.ms);
    const captures = answers.filter((a) => a.parkedAt === 'AUTHORIZED').map((a) => a.action.ms);
    const answered5xx = answers.flatMap((a) => [a.get, a.action]).filter((a) => a.status >= 500).length;
    const ms = (n: number): string => n.toFixed(0);
    process.stdout.write(
      `IDLE_AFTER_WORKER_KILL payments=${answers.length} api_call_timeout_ms=${API_CALL_TIMEOUT_MS} worker_restart_ms=${ms(restartMs)} get_p50_ms=${ms(quantile(gets, 0.5))} get_max_ms=${ms(Math.max(...gets))} otp_p50_ms=${ms(quantile(otps, 0.5))} otp_max_ms=${ms(Math.max(...otps))} capture_p50_ms=${ms(quantile(captures, 0.5))} capture_max_ms=${ms(Math.max(...captures))} answered_5xx=${answered5xx}\n`,
    );

    expect(statuses).toEqual([
      ...otpRefs.map((ref) => ({ ref, get: '200 AWAITING_OTP', action: '200 AUTHORIZED' })),
      ...authRefs.map((ref) => ({ ref, get: '200 AUTHORIZED', action: '200 PROCESSED' })),
    ]);
    expect(answered5xx).toBe(0);

    // Close the rest (the OTP ones are AUTHORIZED now) and check every payment against the sandbox's record.
    await mapLimit(otpRefs, 10, (ref) => driver.cancel(ref));
    const settled = await settle(h, { timeoutMs: 60_000, callTimeoutMs: CALL_TIMEOUT_MS });
    expect(settled.unsettled.map(formatUnsettled)).toEqual([]);
    const refs = [...otpRefs, ...authRefs];
    const outcomes = await mapLimit(refs, 10, (ref) => engineOutcome(h, ref, CALL_TIMEOUT_MS));
    const payments: PaymentUnderTest[] = refs.map((ref, i) => ({
      merchantOrderReference: ref,
      amount: { value: amount, currency: 'INR' },
      engine: outcomes[i] as EngineOutcome,
    }));
    const report = checkInvariants(payments, h.sandbox.orders(), Date.now());
    expect(report.violations).toEqual([]);
    expect(report.byStatus).toEqual({ CANCELLED: PER_STATE, PROCESSED: PER_STATE });
    expect(driver.errors).toEqual([]);
  }, 300_000);
});

describe('the report on a payment that does not settle', () => {
  it('settle stops at its deadline and lists the open payment by workflow id, last known state and history length', async () => {
    const ref = 'stuck-otp-0';
    expect((await driver.create(ref, CARDS.nativeOtp, 10_000, true))?.status).toBe(PAYMENT_STATUS.AWAITING_OTP);

    // Nobody submits the OTP and its window is minutes long: the payment cannot close before settle's deadline.
    const settled = await settle(h, {
      timeoutMs: 1_000,
      callTimeoutMs: CALL_TIMEOUT_MS,
      lastSeen: (id) => (id === paymentWorkflowId(ref) ? driver.lastSeen.get(ref) : undefined),
    });
    const report = settled.unsettled.map(formatUnsettled);
    process.stdout.write(`unsettled report:\n${report.join('\n')}\n`);
    const mine = settled.unsettled.find((u) => u.workflowId === paymentWorkflowId(ref));
    expect(mine?.execution).toBe('RUNNING');
    expect(mine?.lastKnownState).toMatch(/^query: status AWAITING_OTP, parked none/);
    expect(mine?.historyLength).toBeGreaterThan(0);
    expect(report.find((line) => line.startsWith(paymentWorkflowId(ref)))).toMatch(
      /: RUNNING, last known state query: status AWAITING_OTP.*, driver last saw AWAITING_OTP, history length \d+,/,
    );

    // A cancel before authorization closes the payment once Plural's order is final: the customer's bank declines
    // the pending payment here rather than letting it time out.
    await driver.cancel(ref);
    await driver.completeChallenge(ref, false);
    expect((await settle(h, { timeoutMs: 60_000, callTimeoutMs: CALL_TIMEOUT_MS })).unsettled).toEqual([]);
  }, 120_000);
});
