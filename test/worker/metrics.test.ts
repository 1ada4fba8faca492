/**
 * The worker's business counters on Temporal Core's Prometheus endpoint: payments run end to end on the official
 * Temporal dev server and the Plural sandbox (whose signed webhooks reach the workflows as signals, as through the API),
 * then `/metrics` is scraped over HTTP and every counter must have moved by exactly what the payments did. The worker
 * runs with no workflow cache, so every workflow task replays the whole history, and webhooks race the tasks that
 * complete payments (the server rejects such a task and the worker runs it again): a counter recorded during replay
 * or by a rejected attempt would show up here as a double count.
 */
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import type { WorkflowBundle } from '@temporalio/worker';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryCardVault } from '../../card-vault';
import { CARDS } from '../support/cards';
import { waitForPaymentState, waitForPaymentStatus } from '../support/payment-state';
import { sharedTemporalAddress } from '../support/temporal';
import { createLogger } from '../../observability';
import type { PluralClient } from '../../plural-client';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import { installRuntime } from '../../worker/runtime';
import { defaultWorkflowsPath } from '../../worker/worker';
import { createActivities } from '../../activities';
import { createPaymentMetricsSinks } from '../../observability/payment-metrics';
import { WebhookReceiver } from '../workflows/harness';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  captureUpdate,
  DEFAULT_MERCHANT_ID,
  refundUpdate,
  getPaymentQuery,
  paymentWorkflowId,
  submitOtpUpdate,
  UPDATE_REJECTION,
} from '../../workflows/definitions';
import type { PaymentDurations, PaymentState, PaymentWorkflowInput } from '../../workflows/definitions';
import { PAYMENT_METRIC, PAYMENT_METRIC_LABELS, PAYMENT_METRIC_MERCHANT_LABEL } from '../../workflows/metrics';
import type { PaymentMetricName } from '../../workflows/metrics';
import { pluralClientFor } from '../support/plural';

const CORRECT_OTP = '73914628';
const WRONG_OTP = '52086417';
/** Labels the SDK adds to every metric recorded by workflow code. */
const SDK_LABELS = ['namespace', 'taskQueue', 'workflowType', 'service_name'];
const REF_PREFIX = `mx${process.pid}`;

let sandbox: RunningSandbox;
let connection: Connection;
let nativeConnection: NativeConnection;
let client: Client;
let plural: PluralClient;
let vault: InMemoryCardVault;
let bundle: WorkflowBundle;
let metricsUrl: string;
let taskQueue: string;
let webhooks: WebhookReceiver;
let refSeq = 0;

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  const metricsPort = await freePort();
  installRuntime({
    logger: createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
    logLevel: 'info',
    metrics: { host: '127.0.0.1', port: metricsPort },
  });
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  sandbox = await startSandbox({ seed: 5, otp: { correctOtp: CORRECT_OTP } });
  connection = await Connection.connect({ address: sharedTemporalAddress() });
  client = new Client({ connection });
  nativeConnection = await NativeConnection.connect({ address: sharedTemporalAddress() });
  plural = pluralClientFor(sandbox, 5_000);
  vault = new InMemoryCardVault();
  // The receiver only needs a client to signal with.
  webhooks = new WebhookReceiver({ client } as unknown as TestWorkflowEnvironment, sandbox.credentials.webhookSecret);
  await webhooks.start();
  sandbox.setWebhookUrl(webhooks.url);
  bundle = {
    code: (await bundleWorkflowCode({ workflowsPath: defaultWorkflowsPath(), logger: new DefaultLogger('WARN') })).code,
  };
  taskQueue = `payments-metrics-${Date.now().toString(36)}`;
}, 180_000);

afterAll(async () => {
  await webhooks?.stop();
  vault?.close();
  await plural?.close();
  await nativeConnection?.close();
  await connection?.close();
  await Promise.all([sandbox?.stop()]);
});

// ---- scraping -----------------------------------------------------------------------------------------------------

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

async function scrape(): Promise<{ text: string; series: Series[] }> {
  const res = await request(metricsUrl);
  const text = await res.body.text();
  expect(res.statusCode).toBe(200);
  const series: Series[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    series.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { text, series };
}

/** Sum of `name` on this test's task queue over the series whose labels include `labels`. */
function count(series: Series[], name: PaymentMetricName, labels: Record<string, string> = {}): number {
  return series
    .filter((s) => s.name === name && s.labels.taskQueue === taskQueue)
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

// ---- payments -----------------------------------------------------------------------------------------------------

function newRef(): string {
  refSeq += 1;
  return `${REF_PREFIX}-${Date.now().toString(36)}-${refSeq}`;
}

async function startPayment(
  card: string,
  preAuth: boolean,
  durations: Partial<PaymentDurations> = {},
): Promise<{ ref: string; handle: WorkflowHandle }> {
  const ref = newRef();
  const cardHandle = await vault.put(
    { number: card, cvv: '739', name: 'Test Holder', expiryMonth: '12', expiryYear: '2035' },
    15 * 60_000,
  );
  const input: PaymentWorkflowInput = {
    merchantOrderReference: ref,
    amount: { value: 5000, currency: 'INR' },
    preAuth,
    method: { kind: 'card', cardHandle, last4: card.slice(-4) },
    callbackUrl: 'https://merchant.example/callback',
    // A processed payment's workflow completes after its refund window (180 days by default).
    durations: { refundWindowMs: 1_000, ...durations },
  };
  const handle = await client.workflow.start('paymentWorkflow', {
    taskQueue,
    workflowId: paymentWorkflowId(ref),
    args: [input],
  });
  return { ref, handle };
}

/** The payment's final state; after 40 s, fails with where it stands instead of hanging the suite. */
async function finish(handle: WorkflowHandle): Promise<PaymentState> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      handle.query(getPaymentQuery).then(
        (s) =>
          reject(new Error(`${handle.workflowId} did not finish: ${s.status}, ${JSON.stringify(s.audit.slice(-4))}`)),
        (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
      );
    }, 40_000);
  });
  try {
    return (await Promise.race([handle.result(), timeout])) as PaymentState;
  } finally {
    clearTimeout(timer);
  }
}

async function submitOtp(handle: WorkflowHandle, submissionId: string, otp: string) {
  const otpHandle = await vault.put({ otp }, 10 * 60_000);
  return handle.executeUpdate(submitOtpUpdate, { args: [{ otpHandle }], updateId: submissionId });
}

/** A sale paid with the native OTP after one wrong OTP. */
async function wrongThenRightOtp(): Promise<{ ref: string; final: PaymentState }> {
  const { ref, handle } = await startPayment(CARDS.nativeOtp, false);
  await waitForPaymentStatus(handle, 'AWAITING_OTP');
  expect((await submitOtp(handle, 'otp-1', WRONG_OTP)).outcome).toBe('INCORRECT');
  await submitOtp(handle, 'otp-2', CORRECT_OTP);
  return { ref, final: await finish(handle) };
}

/** A pre-authorization nobody captures: the engine cancels it automatically. */
async function autoCancelled(): Promise<{ ref: string; final: PaymentState }> {
  const { ref, handle } = await startPayment(CARDS.nativeOtp, true, {
    autoCancelAfterMs: 1_500,
    authorizationLifetimeMs: 60_000,
  });
  await waitForPaymentStatus(handle, 'AWAITING_OTP');
  await submitOtp(handle, 'otp-1', CORRECT_OTP);
  return { ref, final: await finish(handle) };
}

/**
 * A challenge-page pre-authorization whose callback never arrives: the workflow learns of the authorization by
 * reconciling with Get Order; then a capture above the authorized amount is refused and a partial one succeeds, and
 * is refunded in two parts (a refund above what is left refused between them).
 */
async function reconciledThenCaptured(): Promise<{ ref: string; final: PaymentState }> {
  const { ref, handle } = await startPayment(CARDS.challenge, true, {
    reconcileInitialDelayMs: 300,
    reconcileMaxDelayMs: 600,
    // Room for the refunds; refunded in full, the workflow completes without waiting the window out.
    refundWindowMs: 60_000,
  });
  const awaiting = await waitForPaymentStatus(handle, 'AWAITING_CHALLENGE');
  const paymentId = awaiting.pluralPaymentIds[0]!;
  const res = await fetch(`${sandbox.baseUrl}/__sandbox/payments/${encodeURIComponent(paymentId)}/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${sandbox.controlToken}` },
    body: JSON.stringify({ result: 'approve' }),
  });
  expect(res.status).toBe(200);
  await waitForPaymentState(handle, (s) => s.status === 'AUTHORIZED', 'AUTHORIZED by reconciliation');
  // Refused by the Update's validator: nothing reaches history, so no capture is counted for it.
  const tooMuch = handle.executeUpdate(captureUpdate, { args: [{ amount: { value: 9000, currency: 'INR' } }] });
  await expect(tooMuch).rejects.toMatchObject({ cause: { type: UPDATE_REJECTION.INVALID_REQUEST } });
  const part = await handle.executeUpdate(captureUpdate, { args: [{ amount: { value: 3000, currency: 'INR' } }] });
  expect(part.outcome).toBe('CAPTURED');
  await waitForPaymentState(handle, (s) => s.nextActions.includes('REFUND'), 'the refund window open');
  const first = await handle.executeUpdate(refundUpdate, {
    args: [{ merchantRefundReference: 'm1', amount: { value: 1000, currency: 'INR' } }],
  });
  expect(first.refund.status).toBe('PROCESSED');
  // Refused by the validator (more than is left): not counted.
  const over = handle.executeUpdate(refundUpdate, {
    args: [{ merchantRefundReference: 'm2', amount: { value: 2500, currency: 'INR' } }],
  });
  await expect(over).rejects.toMatchObject({ cause: { type: UPDATE_REJECTION.INVALID_REQUEST } });
  const rest = await handle.executeUpdate(refundUpdate, { args: [{ merchantRefundReference: 'm3' }] });
  expect(rest.refund).toMatchObject({ status: 'PROCESSED', amount: { value: 2000, currency: 'INR' } });
  return { ref, final: await finish(handle) };
}

describe('worker business metrics on the Prometheus endpoint', () => {
  let before: Series[];
  let after: Series[];
  let afterText: string;
  let finals: { ref: string; final: PaymentState }[];
  let worker: Worker;

  beforeAll(async () => {
    before = (await scrape()).series;
    // No workflow cache: every workflow task replays the history from the start.
    worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: createActivities({ plural, vault }),
      sinks: createPaymentMetricsSinks(),
      maxCachedWorkflows: 0,
      shutdownGraceTime: '1 second',
    });
    finals = await worker.runUntil(async () => {
      // No webhooks for the first: it must learn of its authorization by reconciling.
      webhooks.forward = false;
      const reconciled = await reconciledThenCaptured();
      webhooks.forward = true;
      return [...(await Promise.all([wrongThenRightOtp(), autoCancelled()])), reconciled];
    });
    const scraped = await scrape();
    after = scraped.series;
    afterText = scraped.text;
  }, 150_000);

  it('ends the three payments as PROCESSED, CANCELLED and PROCESSED', () => {
    expect(finals.map((f) => f.final.status)).toEqual(['PROCESSED', 'CANCELLED', 'PROCESSED']);
    expect(finals[2]!.final.amountCaptured).toEqual({ value: 3000, currency: 'INR' });
    expect(finals[2]!.final.amountRefunded).toEqual({ value: 3000, currency: 'INR' });
  });

  it('counts each refund once, by reason and outcome (not the one its validator refused)', () => {
    expect(count(after, PAYMENT_METRIC.REFUNDS)).toBe(2);
    expect(count(after, PAYMENT_METRIC.REFUNDS, { reason: 'merchant', outcome: 'refunded' })).toBe(2);
    expect(count(after, PAYMENT_METRIC.AUTO_REFUNDS)).toBe(0);
  });

  it('starts from zero on this task queue', () => {
    for (const name of Object.values(PAYMENT_METRIC)) expect(count(before, name)).toBe(0);
  });

  it('counts each payment once, by final status and method, although every task replayed the history', () => {
    // Core's own metrics prove the premise: workflow tasks were replayed from the start on this task queue.
    const replays = after
      .filter((s) => s.name === 'temporal_workflow_task_replay_latency_count' && s.labels.task_queue === taskQueue)
      .reduce((sum, s) => sum + s.value, 0);
    expect(replays).toBeGreaterThan(3);
    expect(count(after, PAYMENT_METRIC.STARTED)).toBe(3);
    expect(count(after, PAYMENT_METRIC.STARTED, { method: 'card' })).toBe(3);
    expect(count(after, PAYMENT_METRIC.COMPLETED)).toBe(3);
    expect(count(after, PAYMENT_METRIC.COMPLETED, { status: 'PROCESSED', method: 'card' })).toBe(2);
    expect(count(after, PAYMENT_METRIC.COMPLETED, { status: 'CANCELLED', method: 'card' })).toBe(1);
    expect(count(after, PAYMENT_METRIC.COMPLETED, { status: 'FAILED' })).toBe(0);
  });

  it('counts OTP submissions by result: one wrong, two accepted', () => {
    expect(count(after, PAYMENT_METRIC.OTP_SUBMISSIONS, { result: 'incorrect' })).toBe(1);
    expect(count(after, PAYMENT_METRIC.OTP_SUBMISSIONS, { result: 'accepted' })).toBe(2);
    expect(count(after, PAYMENT_METRIC.OTP_SUBMISSIONS)).toBe(3);
    expect(count(after, PAYMENT_METRIC.OTP_RESENDS)).toBe(0);
  });

  it('counts every Get Order the workflows made, and the one that found the missing authorization', () => {
    const made = finals.reduce((sum, f) => sum + f.final.reconciliations, 0);
    const counted =
      count(after, PAYMENT_METRIC.RECONCILIATIONS, { outcome: 'changed' }) +
      count(after, PAYMENT_METRIC.RECONCILIATIONS, { outcome: 'unchanged' });
    // At least the one that found the missing authorization; the Get Order after an accepted OTP happens only when
    // no webhook confirmed the authorization first (a race), so the total varies from run to run.
    expect(made).toBeGreaterThanOrEqual(1);
    expect(counted).toBe(made);
    expect(count(after, PAYMENT_METRIC.RECONCILIATIONS, { outcome: 'error' })).toBe(0);
    expect(count(after, PAYMENT_METRIC.RECONCILIATIONS, { trigger: 'no_event', outcome: 'changed' })).toBe(1);
    expect(count(after, PAYMENT_METRIC.RECONCILIATIONS, { trigger: 'otp_accepted' })).toBeLessThanOrEqual(2);
  });

  it('counts the automatic cancel by reason, and captures by kind and outcome', () => {
    expect(count(after, PAYMENT_METRIC.AUTO_CANCELS, { reason: 'authorization_expiry' })).toBe(1);
    expect(count(after, PAYMENT_METRIC.AUTO_CANCELS)).toBe(1);
    expect(count(after, PAYMENT_METRIC.CAPTURES, { kind: 'partial', outcome: 'captured' })).toBe(1);
    // The capture above the authorized amount was refused by the Update's validator: never a capture, never counted.
    expect(count(after, PAYMENT_METRIC.CAPTURES, { outcome: 'rejected' })).toBe(0);
    expect(count(after, PAYMENT_METRIC.CAPTURES)).toBe(1);
    expect(count(after, PAYMENT_METRIC.PARKED)).toBe(0);
  });

  it('puts no order reference, workflow id or gateway id in any metric, and only the documented labels', () => {
    expect(afterText).not.toContain(REF_PREFIX);
    for (const f of finals) {
      expect(afterText).not.toContain(f.final.workflowId);
      expect(afterText).not.toContain(f.final.pluralOrderId!);
    }
    const ours = after.filter((s) => (Object.values(PAYMENT_METRIC) as string[]).includes(s.name));
    expect(ours.length).toBeGreaterThan(5);
    for (const s of ours) {
      const allowed = [
        ...PAYMENT_METRIC_LABELS[s.name as PaymentMetricName],
        PAYMENT_METRIC_MERCHANT_LABEL,
        ...SDK_LABELS,
      ];
      expect(Object.keys(s.labels).filter((k) => !allowed.includes(k))).toEqual([]);
      expect(s.labels.workflowType).toBe('paymentWorkflow');
      // These payments were started without a merchant: the default one's.
      expect(s.labels[PAYMENT_METRIC_MERCHANT_LABEL]).toBe(DEFAULT_MERCHANT_ID);
    }
  });

  it('does not count again when a finished payment is replayed', async () => {
    const history = await client.workflow.getHandle(paymentWorkflowId(finals[0]!.ref)).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: bundle, replayName: 'metrics-replay' }, history);
    const again = (await scrape()).series;
    for (const name of Object.values(PAYMENT_METRIC)) {
      const series = (s: Series[]) => s.filter((x) => x.name === name).reduce((sum, x) => sum + x.value, 0);
      expect(series(again)).toBe(series(after));
    }
  }, 60_000);
});
