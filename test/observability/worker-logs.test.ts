/**
 * The worker's log lines, through a real Temporal runtime and worker: activity lines carry the payment's workflow
 * id, run id and activity type; the workflow's own lines (the SDK's workflow logger) carry its workflow id and run
 * id; and an activity failure whose message holds a PAN and a CVV is logged by the SDK with both removed.
 */
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { Writable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { InMemoryCardVault } from '../../card-vault';
import { CARDS } from '../support/cards';
import { waitForPaymentStatus } from '../support/payment-state';
import { sharedTemporalAddress } from '../support/temporal';
import { createLogger } from '../../observability';
import type { PluralClient } from '../../plural-client';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import { createPaymentMetricsSinks } from '../../observability/payment-metrics';
import { installRuntime } from '../../worker/runtime';
import { defaultWorkflowsPath } from '../../worker/worker';
import {
  cancelUpdate,
  FAILURE_TYPE,
  FREE_TEXT_MAX_LENGTH,
  paymentWorkflowId,
  submitOtpUpdate,
} from '../../workflows/definitions';
import type { PaymentState, PaymentWorkflowInput } from '../../workflows/definitions';
import { pluralClientFor } from '../support/plural';

const PAN = CARDS.nativeOtp; // approves after the native OTP
const PAN_GROUPED = PAN.replace(/(\d{4})(?=\d)/g, '$1 ');
const CVV = '739';
const OTP = '73914628';
const RUN_ID = /^[0-9a-f-]{36}$/;
// References and task queues avoid long digit runs: the logger masks any Luhn-valid 13+ digit run as a PAN.

type Line = Record<string, unknown>;
const lines: Line[] = [];
const raw: string[] = [];

let sandbox: RunningSandbox;
let connection: Connection;
let nativeConnection: NativeConnection;
let client: Client;
let plural: PluralClient;
let vault: InMemoryCardVault;
let bundle: WorkflowBundle;

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const logger = createLogger({
  level: 'info',
  base: {},
  destination: new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Line);
      }
      cb();
    },
  }),
});

beforeAll(async () => {
  // The runtime (process-wide) logs through the same redacting logger as the worker, as worker/main.ts does.
  installRuntime({ logger, logLevel: 'info', metrics: { host: '127.0.0.1', port: await freePort() } });
  sandbox = await startSandbox({ seed: 9, otp: { correctOtp: OTP } });
  connection = await Connection.connect({ address: sharedTemporalAddress() });
  client = new Client({ connection });
  nativeConnection = await NativeConnection.connect({ address: sharedTemporalAddress() });
  plural = pluralClientFor(sandbox, 5_000);
  vault = new InMemoryCardVault();
  bundle = {
    code: (await bundleWorkflowCode({ workflowsPath: defaultWorkflowsPath(), logger: new DefaultLogger('WARN') })).code,
  };
}, 180_000);

afterAll(async () => {
  vault?.close();
  await plural?.close();
  await nativeConnection?.close();
  await connection?.close();
  await Promise.all([sandbox?.stop()]);
});

async function run<T>(
  taskQueue: string,
  overrides: Partial<ReturnType<typeof createActivities>>,
  fn: () => Promise<T>,
): Promise<T> {
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: {
      ...createActivities({ plural, vault, logger: logger.child({ component: 'activities' }) }),
      ...overrides,
    },
    sinks: createPaymentMetricsSinks(),
    shutdownGraceTime: '1 second',
  });
  return worker.runUntil(fn());
}

async function start(taskQueue: string, ref: string, preAuth = false): Promise<WorkflowHandle> {
  const cardHandle = await vault.put(
    { number: PAN, cvv: CVV, name: 'Test Holder', expiryMonth: '12', expiryYear: '2035' },
    15 * 60_000,
  );
  const input: PaymentWorkflowInput = {
    merchantOrderReference: ref,
    amount: { value: 5000, currency: 'INR' },
    preAuth,
    method: { kind: 'card', cardHandle, last4: PAN.slice(-4) },
    callbackUrl: 'https://merchant.example/callback',
    // A processed payment's workflow completes after its refund window (180 days by default).
    durations: { refundWindowMs: 1_000 },
  };
  return client.workflow.start('paymentWorkflow', { taskQueue, workflowId: paymentWorkflowId(ref), args: [input] });
}

const linesOf = (workflowId: string): Line[] => lines.filter((l) => l.workflowId === workflowId);

describe('worker logs', () => {
  it('tags activity lines and workflow lines with the workflow id and run id', async () => {
    const ref = `logs-ok-${Date.now().toString(36)}`;
    const taskQueue = `logs-ok-${Date.now().toString(36)}`;
    const final = await run(taskQueue, {}, async () => {
      const handle = await start(taskQueue, ref);
      await waitForPaymentStatus(handle, 'AWAITING_OTP');
      const otpHandle = await vault.put({ otp: OTP }, 60_000);
      await handle.executeUpdate(submitOtpUpdate, { args: [{ otpHandle }], updateId: 'otp-1' });
      return (await handle.result()) as PaymentState;
    });
    expect(final.status).toBe('PROCESSED');
    const workflowId = paymentWorkflowId(ref);
    const mine = linesOf(workflowId);

    const created = mine.find((l) => l.msg === 'Plural order created');
    expect(created).toMatchObject({ component: 'activities', activityType: 'createOrder', attempt: 1 });
    expect(created?.runId).toMatch(RUN_ID);

    const changes = mine.filter((l) => l.msg === 'payment status changed');
    expect(changes.map((l) => l.to)).toEqual(['AWAITING_OTP', 'PROCESSED']);
    for (const l of changes) {
      expect(l).toMatchObject({ sdkComponent: 'workflow', workflowType: 'paymentWorkflow', taskQueue });
      expect(l.runId).toBe(created?.runId);
    }
    const text = raw.join('\n');
    for (const secret of [PAN, PAN_GROUPED, OTP]) expect(text).not.toContain(secret);
  }, 60_000);

  it('logs a cancel reason sent straight to Temporal (10 kB, a PAN, an OTP) cut short and scrubbed', async () => {
    const ref = `logs-reason-${Date.now().toString(36)}`;
    const taskQueue = `logs-reason-${Date.now().toString(36)}`;
    // The API refuses such a reason; an operator's `temporal workflow update execute` does not go through it.
    const reason = `customer says card ${PAN_GROUPED} and OTP is ${OTP} ${'x'.repeat(10 * 1024)}`;
    const final = await run(taskQueue, {}, async () => {
      const handle = await start(taskQueue, ref, true);
      await waitForPaymentStatus(handle, 'AWAITING_OTP');
      const otpHandle = await vault.put({ otp: OTP }, 60_000);
      await handle.executeUpdate(submitOtpUpdate, { args: [{ otpHandle }], updateId: 'otp-1' });
      await waitForPaymentStatus(handle, 'AUTHORIZED');
      return (await handle.executeUpdate(cancelUpdate, { args: [{ reason }], updateId: 'cancel-1' })).state;
    });
    expect(final.status).toBe('CANCELLED');
    // The workflow keeps at most FREE_TEXT_MAX_LENGTH characters of it (its audit trail, history and log lines).
    const audit = final.audit.find((e) => e.to === 'CANCELLED');
    expect(audit?.cause.startsWith('cancelled: customer says card')).toBe(true);
    expect(audit!.cause.length).toBeLessThanOrEqual(FREE_TEXT_MAX_LENGTH + 50);

    const mine = linesOf(paymentWorkflowId(ref));
    const cancelled = mine.find((l) => l.msg === 'payment status changed' && l.to === 'CANCELLED');
    expect(cancelled?.cause).toMatch(
      /^cancelled: customer says card \[REDACTED\] and OTP is \[REDACTED\] x+…: Plural order CANCELLED$/,
    );
    const text = raw.filter((l) => l.includes(ref)).join('\n');
    for (const secret of [PAN, PAN_GROUPED, OTP, 'x'.repeat(600)]) expect(text).not.toContain(secret);
  }, 60_000);

  it('logs an activity failure carrying a PAN and a CVV with both redacted', async () => {
    const ref = `logs-fail-${Date.now().toString(36)}`;
    const taskQueue = `logs-fail-${Date.now().toString(36)}`;
    const leaky = (): Promise<never> =>
      Promise.reject(
        ApplicationFailure.create({
          message: `issuer refused card ${PAN} (grouped ${PAN_GROUPED}) with cvv=${CVV}`,
          type: FAILURE_TYPE.ORDER_REJECTED,
          nonRetryable: true,
          details: [{ code: 'CARD_REFUSED' }],
        }),
      );
    const final = await run(taskQueue, { createOrder: leaky }, async () => {
      const handle = await start(taskQueue, ref);
      return (await handle.result()) as PaymentState;
    });
    expect(final.status).toBe('FAILED');

    const failed = linesOf(paymentWorkflowId(ref)).find((l) => l.msg === 'Activity failed');
    expect(failed).toMatchObject({ activityType: 'createOrder', sdkComponent: 'worker' });
    expect(failed?.workflowRunId).toMatch(RUN_ID);
    expect((failed?.error as { message?: unknown } | undefined)?.message).toBe(
      'issuer refused card [REDACTED] (grouped [REDACTED]) with cvv=[REDACTED]',
    );
    const text = raw.join('\n');
    for (const secret of [PAN, PAN_GROUPED, `cvv=${CVV}`]) expect(text).not.toContain(secret);
  }, 60_000);
});
