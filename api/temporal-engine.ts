/**
 * {@link PaymentEngine} over `@temporalio/client`: one workflow per merchant order reference. Thin on purpose: it
 * maps each port method to one or two Temporal calls and Temporal's failures to the port's errors.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import {
  callbackReceivedSignal,
  cancelRequestedSignal,
  captureRequestedSignal,
  getPaymentQuery,
  otpResendRequestedSignal,
  otpSubmittedSignal,
  PAYMENT_TASK_QUEUE,
  PAYMENT_WORKFLOW_TYPE,
  paymentWorkflowId,
  webhookReceivedSignal,
} from '../workflows/definitions';
import type { PaymentState, PaymentWorkflowInput } from '../workflows/definitions';
import { EngineUnavailableError, PaymentNotFoundError } from './engine';
import { gatewayRetryStatus } from './gateway-status';
import type { DeliveryOutcome, PaymentEngine, PaymentRecord, StartOutcome } from './engine';

/** Memo key holding the creating request's fingerprint. */
export const FINGERPRINT_MEMO_KEY = 'requestFingerprint';

/** Options of {@link createTemporalEngine}. */
export interface TemporalEngineOptions {
  client: Client;
  /** @default PAYMENT_TASK_QUEUE */
  taskQueue?: string;
  /** Deadline of each Temporal call, ms. @default 10000 */
  callTimeoutMs?: number;
}

/** Temporal errors are matched by name (they cross process boundaries), never by `instanceof`. */
const isNamed = (err: unknown, name: string): boolean =>
  err !== null && typeof err === 'object' && (err as { name?: unknown }).name === name;

/** Plural order ids go into a visibility query: accept only characters that need no escaping. */
const SAFE_ORDER_ID = /^[A-Za-z0-9_-]{1,100}$/;

export function createTemporalEngine(options: TemporalEngineOptions): PaymentEngine {
  const { client } = options;
  const taskQueue = options.taskQueue ?? PAYMENT_TASK_QUEUE;
  const callTimeoutMs = options.callTimeoutMs ?? 10_000;
  const handleOf = (ref: string): WorkflowHandle => client.workflow.getHandle(paymentWorkflowId(ref));

  /** Run a Temporal call with a deadline; anything but "not found" becomes EngineUnavailableError. */
  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await client.withDeadline(Date.now() + callTimeoutMs, fn);
    } catch (err) {
      if (isNamed(err, 'WorkflowNotFoundError') || err instanceof PaymentNotFoundError) throw err;
      throw new EngineUnavailableError(`Temporal call failed: ${what}`, err);
    }
  }

  async function signalRef(ref: string, fn: (h: WorkflowHandle) => Promise<void>): Promise<void> {
    try {
      await call('signal', () => fn(handleOf(ref)));
    } catch (err) {
      if (isNamed(err, 'WorkflowNotFoundError')) throw new PaymentNotFoundError(ref);
      throw err;
    }
  }

  /** Signal a workflow by id; false when it does not exist or has closed (so the signal is moot). */
  async function signalIfRunning(workflowId: string, fn: (h: WorkflowHandle) => Promise<void>): Promise<boolean> {
    try {
      await call('signal', () => fn(client.workflow.getHandle(workflowId)));
      return true;
    } catch (err) {
      if (isNamed(err, 'WorkflowNotFoundError')) return false;
      throw err;
    }
  }

  /** The running payment workflow whose Plural order is `orderId` (found by the PluralOrderId search attribute). */
  async function workflowIdForOrder(orderId: string): Promise<string | undefined> {
    if (!SAFE_ORDER_ID.test(orderId)) return undefined;
    return call('list', async () => {
      const query = `WorkflowType = '${PAYMENT_WORKFLOW_TYPE}' AND PluralOrderId = '${orderId}' AND ExecutionStatus = 'Running'`;
      for await (const info of client.workflow.list({ query, pageSize: 2 })) return info.workflowId;
      return undefined;
    });
  }

  async function get(ref: string): Promise<PaymentRecord | undefined> {
    const handle = handleOf(ref);
    try {
      const description = await call('describe', () => handle.describe());
      // A completed workflow returns its final state; no worker is needed to read it.
      const state: PaymentState =
        description.status.name === 'COMPLETED'
          ? await call('result', () => handle.result() as Promise<PaymentState>)
          : await call('query', () => handle.query(getPaymentQuery));
      const fingerprint = description.memo?.[FINGERPRINT_MEMO_KEY];
      const gateway =
        description.status.name === 'RUNNING'
          ? await gatewayRetryStatus(description.raw.pendingActivities, client.options.loadedDataConverter)
          : undefined;
      return {
        state,
        createdAt: description.startTime.toISOString(),
        requestFingerprint: typeof fingerprint === 'string' ? fingerprint : undefined,
        ...(gateway ? { gateway } : {}),
      };
    } catch (err) {
      if (isNamed(err, 'WorkflowNotFoundError')) return undefined;
      throw err;
    }
  }

  const referenceOf = (workflowId: string): string => workflowId.replace(/^payment:/, '');

  return {
    async start(input: PaymentWorkflowInput, requestFingerprint: string): Promise<StartOutcome> {
      try {
        await call('start', () =>
          client.workflow.start(PAYMENT_WORKFLOW_TYPE, {
            taskQueue,
            workflowId: paymentWorkflowId(input.merchantOrderReference),
            args: [input],
            memo: { [FINGERPRINT_MEMO_KEY]: requestFingerprint },
            // The reference is the payment's identity for good: never start a second payment with it.
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
          }),
        );
        return { started: true };
      } catch (err) {
        const cause = err instanceof EngineUnavailableError ? err.cause : err;
        if (!isNamed(cause, 'WorkflowExecutionAlreadyStartedError')) throw err;
        const existing = await get(input.merchantOrderReference);
        return { started: false, existingFingerprint: existing?.requestFingerprint };
      }
    },

    get,

    submitOtp: (ref, signal) => signalRef(ref, (h) => h.signal(otpSubmittedSignal, signal)),
    resendOtp: (ref, signal) => signalRef(ref, (h) => h.signal(otpResendRequestedSignal, signal)),
    capture: (ref, signal) => signalRef(ref, (h) => h.signal(captureRequestedSignal, signal)),
    cancel: (ref, signal) => signalRef(ref, (h) => h.signal(cancelRequestedSignal, signal)),

    async deliverCallback(signal): Promise<DeliveryOutcome> {
      const workflowId = await workflowIdForOrder(signal.orderId);
      if (workflowId === undefined) return { delivered: false };
      const ok = await signalIfRunning(workflowId, (h) => h.signal(callbackReceivedSignal, signal));
      return ok ? { delivered: true, merchantOrderReference: referenceOf(workflowId) } : { delivered: false };
    },

    async deliverWebhook(ref, signal): Promise<DeliveryOutcome> {
      if (ref !== undefined) {
        const ok = await signalIfRunning(paymentWorkflowId(ref), (h) => h.signal(webhookReceivedSignal, signal));
        if (ok) return { delivered: true, merchantOrderReference: ref };
      }
      const workflowId = await workflowIdForOrder(signal.orderId);
      if (workflowId === undefined) return { delivered: false };
      const ok = await signalIfRunning(workflowId, (h) => h.signal(webhookReceivedSignal, signal));
      return ok ? { delivered: true, merchantOrderReference: referenceOf(workflowId) } : { delivered: false };
    },

    async ping(): Promise<void> {
      await call('getSystemInfo', () => client.workflowService.getSystemInfo({}));
    },
  };
}
