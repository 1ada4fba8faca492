/**
 * Temporal is not a side door: with payload encryption on, a Signal sent to Temporal in plain text — as anyone who
 * reaches its port can, with the Temporal CLI and no codec — fails the workflow task loudly instead of reaching the
 * payment. The real worker (createPaymentWorker with the codec), the official dev server and the Plural sandbox.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryCardVault } from '../../card-vault';
import { createLogger } from '../../observability';
import { createDataConverter, EncryptionCodec } from '../../payload-codec';
import { PluralClient } from '../../plural-client';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import { createPaymentWorker } from '../../worker/worker';
import { installRuntime } from '../../worker/runtime';
import { getPaymentQuery, PAYMENT_TASK_QUEUE, paymentWorkflowId, SEARCH_ATTRIBUTE } from '../../workflows/definitions';
import type { PaymentState, PaymentWorkflowInput } from '../../workflows/definitions';
import { CARDS } from '../support/cards';
import { sharedTemporalAddress } from '../support/temporal';
import { waitFor } from '../support/wait';

const KEYS = [{ id: 'side-door-test', key: randomBytes(32) }];
const OTP_CARD = CARDS.nativeOtp;
/** How long each wait of this file may take (a real dev server and worker). */
const WAIT_MS = 30_000;
const taskQueue = `${PAYMENT_TASK_QUEUE}-side-door-${randomUUID()}`;

const logLines: { level: number; msg: string; [k: string]: unknown }[] = [];
let sandbox: RunningSandbox;
let plural: PluralClient;
let vault: InMemoryCardVault;
let connection: Connection;
let nativeConnection: NativeConnection;
let encrypted: Client;
let plain: Client;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        logLines.push(JSON.parse(line) as (typeof logLines)[number]);
      }
      cb();
    },
  });
  const logger = createLogger({ level: 'warn', destination });
  installRuntime({ logger, logLevel: 'warn', metrics: { host: '127.0.0.1', port: 0 } });
  sandbox = await startSandbox({ seed: 23 });
  plural = new PluralClient({ baseUrl: sandbox.baseUrl, ...sandbox.credentials, timeoutMs: 5_000 });
  vault = new InMemoryCardVault();
  connection = await Connection.connect({ address: sharedTemporalAddress() });
  nativeConnection = await NativeConnection.connect({ address: sharedTemporalAddress() });
  const dataConverter = createDataConverter({ mode: 'on', keys: KEYS });
  encrypted = new Client({ connection, dataConverter });
  // What someone who reaches Temporal's port has: a client, and no codec.
  plain = new Client({ connection });
  worker = await createPaymentWorker({ connection: nativeConnection, taskQueue, plural, vault, logger, dataConverter });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running?.catch(() => undefined);
  await nativeConnection?.close();
  await connection?.close();
  await plural?.close();
  vault?.close();
  await sandbox?.stop();
});

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

async function startPayment(): Promise<{ handle: WorkflowHandle; state: PaymentState }> {
  const ref = `side-door-${randomUUID()}`;
  const cardHandle = await vault.put(
    { number: OTP_CARD, cvv: '739', name: 'Test Holder', expiryMonth: '12', expiryYear: '2035' },
    15 * 60_000,
  );
  const input: PaymentWorkflowInput = {
    merchantOrderReference: ref,
    amount: { value: 5000, currency: 'INR' },
    preAuth: false,
    method: { kind: 'card', cardHandle, last4: OTP_CARD.slice(-4) },
    callbackUrl: 'https://merchant.example/callback',
  };
  const handle = await encrypted.workflow.start('paymentWorkflow', {
    taskQueue,
    workflowId: paymentWorkflowId(ref),
    args: [input],
  });
  let last: string | undefined;
  const state = await waitFor(
    'AWAITING_OTP',
    async () => {
      // A query before the workflow's first task is refused: that is "not yet".
      const s = await handle.query(getPaymentQuery).catch(() => undefined);
      last = s?.status;
      return s?.status === 'AWAITING_OTP' ? s : undefined;
    },
    { timeoutMs: WAIT_MS, describeLast: () => `last status ${last ?? 'unknown'}` },
  );
  return { handle, state };
}

describe('a plain-text signal sent to Temporal without the codec', () => {
  it('fails the workflow task loudly, naming the refusal, and moves nothing', async () => {
    const { handle, state } = await startPayment();
    const events = async (): Promise<HistoryEvent[]> => (await handle.fetchHistory()).events ?? [];
    const eventsBefore = (await events()).length;

    // `temporal workflow signal --name callbackReceived --input '{"orderId":…,"status":"PROCESSED"}'`, in effect.
    await plain.workflow
      .getHandle(handle.workflowId)
      .signal<[unknown]>('callbackReceived', { orderId: state.pluralOrderId, status: 'PROCESSED' });

    const failed = await waitFor(
      'a failed workflow task after the signal',
      async () => {
        const all = await events();
        const signalAt = all.findIndex((e) => e.workflowExecutionSignaledEventAttributes);
        const failure = all.slice(signalAt).find((e) => e.workflowTaskFailedEventAttributes);
        return signalAt >= 0 && failure ? { all, signalAt, failure } : undefined;
      },
      { timeoutMs: WAIT_MS },
    );

    // The failure names the refusal (its message is itself encrypted by the failure converter: decode it).
    const attributes = failed.failure.workflowTaskFailedEventAttributes!.failure!.encodedAttributes!;
    const [decoded] = await new EncryptionCodec({ keys: KEYS }).decode([attributes]);
    const { message } = JSON.parse(Buffer.from(decoded!.data!).toString('utf8')) as { message: string };
    expect(message).toMatch(/^refused a payload that is not encrypted \(encoding json\/plain\)/);
    // Loudly: the worker logs it as an error, naming the code.
    const logged = await waitFor(
      'the worker to log the failed activation',
      () => Promise.resolve(logLines.find((l) => l.level >= 50 && l.msg === 'Failed to process Workflow Activation')),
      { timeoutMs: WAIT_MS },
    );
    expect((logged.error as { code?: string }).code).toBe('unencrypted_payload');

    // Nothing moved: no activity (no Get Order, no capture) after the signal, and the payment is where it was.
    const afterSignal = failed.all.slice(failed.signalAt);
    expect(afterSignal.filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
    expect(failed.signalAt).toBeGreaterThanOrEqual(eventsBefore - 1);
    const described = await handle.describe();
    expect(described.status.name).toBe('RUNNING');
    expect(described.typedSearchAttributes.get(SEARCH_ATTRIBUTE.PAYMENT_STATUS)).toBe('AWAITING_OTP');
    await handle.terminate('test over');
  });

  it('still leaves the same signal sent through the codec to the workflow (which confirms it with Plural)', async () => {
    const { handle, state } = await startPayment();
    await encrypted.workflow
      .getHandle(handle.workflowId)
      .signal<[unknown]>('callbackReceived', { orderId: state.pluralOrderId, status: 'PROCESSED' });
    const s = await waitFor(
      'the callback confirmed with Get Order',
      async () => {
        const x = await handle.query(getPaymentQuery);
        return x.audit.some((e) => /^callback PROCESSED: Plural's order is PENDING/.test(e.cause)) ? x : undefined;
      },
      { timeoutMs: WAIT_MS },
    );
    // Plural's order says otherwise: the payment stays where it was.
    expect(s.status).toBe('AWAITING_OTP');
    const history = await handle.fetchHistory();
    expect(history.events?.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
    await handle.terminate('test over');
  });
});
