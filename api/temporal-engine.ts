/**
 * {@link PaymentEngine} over `@temporalio/client`: one workflow per merchant order reference. Thin on purpose: a
 * create is one update-with-start, each merchant action one Update (its validator is the workflow's rule, its answer
 * that request's outcome), each gateway event one Signal, a read one query — or the memo when no worker answers — and
 * a search one visibility list (search attributes to filter, the memo for each payment's summary).
 */
import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { Client, WorkflowHandle, WorkflowUpdateHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import type { temporal } from '@temporalio/proto';
import {
  callbackReceivedSignal,
  cancelUpdate,
  DEFAULT_MERCHANT_ID,
  MERCHANT_ID_PATTERN,
  parsePaymentWorkflowId,
  captureUpdate,
  FINGERPRINT_MEMO_KEY,
  getPaymentQuery,
  openPaymentUpdate,
  PAYMENT_MEMO_KEY,
  PAYMENT_TASK_QUEUE,
  PAYMENT_WORKFLOW_TYPE,
  paymentWorkflowId,
  refundUpdate,
  resendOtpUpdate,
  SEARCH_ATTRIBUTE,
  submitOtpUpdate,
  UPDATE_REJECTION,
  webhookReceivedSignal,
} from '../workflows/definitions';
import type {
  PaymentState,
  PaymentSummary,
  PaymentWorkflowInput,
  RefundRecord,
  RefundRequest,
  UpdateRejection,
} from '../workflows/definitions';
import {
  repeatedRefund,
  validateCancel,
  validateCapture,
  validateRefund,
  validateResendOtp,
  validateSubmitOtp,
} from '../workflows/validators';
import { ActionNotAcceptedError, EngineUnavailableError, PaymentNotFoundError, UpdateRejectedError } from './engine';
import { gatewayRetryStatus } from './gateway-status';
import {
  currentSummary,
  isSummary,
  START_FLAGS,
  startSearchAttributes,
  startSummary,
  stateFromSummary,
} from './payment-summary';
import type {
  Answer,
  CallbackDeliveryOutcome,
  CreateOutcome,
  DeliveryOutcome,
  GatewayRetryStatus,
  PaymentEngine,
  PaymentListPage,
  PaymentListRequest,
  PaymentRecord,
} from './engine';
import { merchantClause, paymentListQuery } from './visibility-query';

/** Options of {@link createTemporalEngine}. */
export interface TemporalEngineOptions {
  client: Client;
  /** @default PAYMENT_TASK_QUEUE */
  taskQueue?: string;
  /** Deadline of each Temporal call that waits for nothing but the server, ms. @default 10000 */
  callTimeoutMs?: number;
  /** How long a read waits for a worker to answer the query before answering from the memo, ms. @default 3000 */
  queryTimeoutMs?: number;
  /**
   * The merchant whose payments this engine reaches: workflow ids name it (`paymentWorkflowId(ref, merchantId)`), its
   * starts set the `MerchantId` search attribute, its searches and deliveries match that attribute. Another merchant's
   * payment is, to this engine, a payment that does not exist. @default DEFAULT_MERCHANT_ID
   */
  merchantId?: string;
}

/** Temporal errors are matched by name (they cross process boundaries), never by `instanceof`. */
const isNamed = (err: unknown, name: string): boolean =>
  err !== null && typeof err === 'object' && (err as { name?: unknown }).name === name;

/** Plural order ids go into a visibility query: accept only characters that need no escaping. */
const SAFE_ORDER_ID = /^[A-Za-z0-9_-]{1,100}$/;

/** gRPC `INVALID_ARGUMENT`: how the server refuses a list filter it cannot run. */
const GRPC_INVALID_ARGUMENT = 3;

/** The visibility store refused `ORDER BY` (SQL stores and Temporal Cloud do; only Elasticsearch takes it). */
const refusedOrderBy = (err: unknown): boolean =>
  err !== null &&
  typeof err === 'object' &&
  (err as { code?: unknown }).code === GRPC_INVALID_ARGUMENT &&
  /ORDER BY/i.test(String((err as { details?: unknown }).details ?? (err as { message?: unknown }).message));

/**
 * First byte of the engine's page tokens: which order the first page was asked in, so every later page of that
 * listing asks the same way (a server page token is only valid for the query that returned it).
 */
const ORDER = { STORE_DEFAULT: 0, START_TIME_DESC: 1 } as const;

/** The refusal of an action on a payment whose workflow has completed (and whose validator found nothing else). */
const PAYMENT_ENDED = 'payment_ended';

const REJECTIONS: ReadonlySet<string> = new Set(Object.values(UPDATE_REJECTION));

/** A validator's refusal (an `ApplicationFailure` of an `UPDATE_REJECTION` type) as the port's error, else undefined. */
export function rejectionOf(failure: unknown): UpdateRejectedError | undefined {
  if (!isNamed(failure, 'ApplicationFailure')) return undefined;
  const f = failure as { type?: unknown; message: string; details?: unknown };
  if (typeof f.type !== 'string' || !REJECTIONS.has(f.type)) return undefined;
  const detail = (Array.isArray(f.details) ? f.details[0] : undefined) as
    { code?: unknown; availableAt?: unknown } | undefined;
  return new UpdateRejectedError(
    f.type as UpdateRejection,
    typeof detail?.code === 'string' ? detail.code : 'request_refused',
    f.message,
    typeof detail?.availableAt === 'string' ? detail.availableAt : undefined,
  );
}

/** How long a read waits before asking again a worker that refused its query, ms. */
const QUERY_RETRY_MS = 100;

/** The refund `request` repeats on a payment's final state, without throwing a conflict (that refusal is kept). */
function repeatedRefundOf(state: PaymentState, request: RefundRequest): RefundRecord | undefined {
  try {
    return repeatedRefund(state, request);
  } catch {
    return undefined;
  }
}

/**
 * How long an Update the route's wait ran out on is given to reach acceptance, ms: a payment that has a worker accepts
 * a waiting Update within one workflow task, so only one that no worker is running misses it.
 */
const ACCEPTANCE_CHECK_MS = 1_000;

/** One merchant action's Update, sent under a given id: run to its answer, or only to the payment's acceptance. */
interface UpdateMessage<Ret> {
  name: string;
  execute(handle: WorkflowHandle, updateId: string): Promise<Ret>;
  accept(handle: WorkflowHandle, updateId: string): Promise<WorkflowUpdateHandle<Ret>>;
}

/** The Update `def` with its argument, if it takes one (the same id sent twice is one Update: Temporal dedupes it). */
function updateMessage<Ret, Arg>(def: UpdateDefinition<Ret, [Arg]> | UpdateDefinition<Ret, []>, ...arg: [Arg] | []) {
  // The SDK types a call with arguments and one without as two overloads; one update of either kind is sent here.
  const typed = def as UpdateDefinition<Ret, [unknown]>;
  const args = arg as [unknown];
  const message: UpdateMessage<Ret> = {
    name: def.name,
    execute: (handle, updateId) => handle.executeUpdate(typed, { args, updateId }),
    accept: (handle, updateId) => handle.startUpdate(typed, { args, updateId, waitForStage: 'ACCEPTED' }),
  };
  return message;
}

export function createTemporalEngine(options: TemporalEngineOptions): PaymentEngine {
  const { client } = options;
  const taskQueue = options.taskQueue ?? PAYMENT_TASK_QUEUE;
  const callTimeoutMs = options.callTimeoutMs ?? 10_000;
  const queryTimeoutMs = options.queryTimeoutMs ?? 3_000;
  const merchantId = options.merchantId ?? DEFAULT_MERCHANT_ID;
  if (!MERCHANT_ID_PATTERN.test(merchantId))
    throw new TypeError('createTemporalEngine: merchantId is not a merchant id');
  const handleOf = (ref: string): WorkflowHandle => client.workflow.getHandle(paymentWorkflowId(ref, merchantId));
  /** Whether a workflow id is one of this merchant's payments (a found workflow is checked before any signal). */
  const ownWorkflow = (workflowId: string): boolean => parsePaymentWorkflowId(workflowId)?.merchantId === merchantId;

  /** Run a Temporal call with a deadline; anything but "not found" becomes EngineUnavailableError. */
  async function call<T>(what: string, fn: () => Promise<T>, timeoutMs = callTimeoutMs): Promise<T> {
    try {
      return await client.withDeadline(Date.now() + timeoutMs, fn);
    } catch (err) {
      if (isNamed(err, 'WorkflowNotFoundError')) throw err;
      throw new EngineUnavailableError(`Temporal call failed: ${what}`, err);
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

  /** Whether the workflow `workflowId` has a running run (its current one). */
  async function isRunning(workflowId: string): Promise<boolean> {
    try {
      const description = await call('describe', () => client.workflow.getHandle(workflowId).describe());
      return description.status.name === 'RUNNING';
    } catch (err) {
      if (isNamed(err, 'WorkflowNotFoundError')) return false;
      throw err;
    }
  }

  /**
   * The payment workflow whose Plural order is `orderId` (found by the PluralOrderId search attribute), and when the
   * payment was created (`PaymentCreatedAt`, which a continue-as-new carries on; else its run's start, the same
   * instant for a first run): any run of it, running or closed, for a signal sent by workflow id, which reaches the
   * current run — a payment that has just continued as new is listed under its order by its closed run until search has
   * the new run's order too — or tells that the payment has ended.
   */
  async function paymentForOrder(orderId: string): Promise<{ workflowId: string; createdAt: Date } | undefined> {
    if (!SAFE_ORDER_ID.test(orderId)) return undefined;
    return call('list', async () => {
      const query = `WorkflowType = '${PAYMENT_WORKFLOW_TYPE}' AND PluralOrderId = '${orderId}' AND ${merchantClause(merchantId)}`;
      for await (const info of client.workflow.list({ query, pageSize: 2 })) {
        if (!ownWorkflow(info.workflowId)) continue;
        const createdAt = info.typedSearchAttributes.get(SEARCH_ATTRIBUTE.CREATED_AT);
        return { workflowId: info.workflowId, createdAt: createdAt ?? info.startTime };
      }
      return undefined;
    });
  }

  /**
   * The gateway step being retried now, if any. `description` was taken before the state was queried, so a step it
   * shows retrying may have succeeded since, with the state already past it (PROCESSED beside "retrying
   * captureOrder"): only then is the payment described again, and the answer read from that later description (none
   * when it cannot be had: the field is advice, the state is the answer).
   */
  async function retryingNow(
    handle: WorkflowHandle,
    description: Awaited<ReturnType<WorkflowHandle['describe']>>,
  ): Promise<GatewayRetryStatus | undefined> {
    const converter = client.options.loadedDataConverter;
    if ((await gatewayRetryStatus(description.raw.pendingActivities, converter)) === undefined) return undefined;
    try {
      const later = await call('describe', () => handle.describe());
      return await gatewayRetryStatus(later.raw.pendingActivities, converter);
    } catch {
      return undefined;
    }
  }

  async function get(ref: string): Promise<PaymentRecord | undefined> {
    const handle = handleOf(ref);
    let description: Awaited<ReturnType<WorkflowHandle['describe']>>;
    try {
      description = await call('describe', () => handle.describe());
    } catch (err) {
      if (isNamed(err, 'WorkflowNotFoundError')) return undefined;
      throw err;
    }
    const memo = description.memo ?? {};
    const fingerprint = memo[FINGERPRINT_MEMO_KEY];
    const base = { requestFingerprint: typeof fingerprint === 'string' ? fingerprint : undefined };
    const summary = memo[PAYMENT_MEMO_KEY];
    const fromMemo = (cause: unknown): PaymentRecord => {
      if (!isSummary(summary))
        throw new EngineUnavailableError('no worker answered and the payment has no memo', cause);
      const current = currentSummary(summary, description.typedSearchAttributes);
      return { ...base, state: stateFromSummary(description.workflowId, current), stale: true };
    };
    const status = description.status.name;
    // A completed workflow returns its final state: no worker is needed to read it.
    if (status === 'COMPLETED')
      return { ...base, state: await call('result', () => handle.result() as Promise<PaymentState>) };
    if (status !== 'RUNNING') return fromMemo(undefined);
    let state: PaymentState;
    const deadline = Date.now() + queryTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        state = await call('query', () => handle.query(getPaymentQuery), Math.max(deadline - Date.now(), 1));
        break;
      } catch (err) {
        // No worker answered in time (all down, or busy): the memo still knows the status, ids and amounts. A worker
        // that refused (it would have had to run the payment outside a workflow task: workflows/task-boundary.ts) is
        // asked once more when time allows: by then the task has usually run.
        if (attempt > 1 || deadline - Date.now() < 2 * QUERY_RETRY_MS) return fromMemo(err);
        await new Promise((resolve) => setTimeout(resolve, QUERY_RETRY_MS));
      }
    }
    const gateway = await retryingNow(handle, description);
    return { ...base, state, ...(gateway ? { gateway } : {}) };
  }

  /** A failed Update: the validator's refusal as the port's error, else the engine failed. */
  function failedUpdate(err: unknown, name: string): Error {
    return (
      rejectionOf((err as { cause?: unknown }).cause) ??
      new EngineUnavailableError(`the payment failed to handle ${name}`, err)
    );
  }

  /**
   * An Update the wait ran out on: accepted (it goes on), answered meanwhile, or not taken up by any worker (thrown);
   * undefined when the payment has ended meanwhile.
   */
  async function notAnsweredYet<Ret>(
    ref: string,
    message: UpdateMessage<Ret>,
    updateId: string,
  ): Promise<Answer<Ret> | undefined> {
    let accepted: WorkflowUpdateHandle<Ret>;
    try {
      accepted = await client.withDeadline(Date.now() + ACCEPTANCE_CHECK_MS, () =>
        message.accept(handleOf(ref), updateId),
      );
    } catch (err) {
      if (isNamed(err, 'WorkflowUpdateRPCTimeoutOrCancelledError')) throw new ActionNotAcceptedError(ref, message.name);
      if (isNamed(err, 'WorkflowUpdateFailedError')) throw failedUpdate(err, message.name);
      if (isNamed(err, 'WorkflowNotFoundError')) return undefined;
      throw new EngineUnavailableError(`Temporal call failed: ${message.name}`, err);
    }
    // Accepted, and perhaps finished since: a handle whose answer came with it gives it at once; one still running
    // would poll, which a deadline already past ends at once (no waiting beyond the route's wait).
    try {
      return { answered: true, answer: await client.withDeadline(Date.now(), () => accepted.result()) };
    } catch (err) {
      if (isNamed(err, 'WorkflowUpdateFailedError')) throw failedUpdate(err, message.name);
      return { answered: false };
    }
  }

  /**
   * Send an Update and wait up to `waitMs` for its answer. A refusal by the validator becomes
   * {@link UpdateRejectedError}; a payment that has ended is refused by the same validator run on its final state.
   *
   * Not answered in time, the answer depends on whether the payment has accepted the Update (its validator passed and
   * the acceptance is in history: the action goes on in the workflow, and the route says 202). An Update no worker has
   * taken up yet is only admitted: Temporal holds it in memory until a worker runs the payment, its validator may still
   * refuse it, and a restarted Temporal server drops it. So the same Update (by its id) is asked once more, briefly,
   * to reach acceptance; not accepted then, it is {@link ActionNotAcceptedError} (503: send the request again), never
   * a 202 promising an action that may never run.
   */
  async function update<Ret>(
    ref: string,
    message: UpdateMessage<Ret>,
    waitMs: number,
    requestId: string | undefined,
    validate: (state: PaymentState) => void,
  ): Promise<Answer<Ret>> {
    const { name } = message;
    // The route's id (a keyed request's: the Update an earlier try left unanswered, resent under its id so that Temporal
    // answers it with that Update's own outcome; or a fresh one), else a fresh one.
    const updateId = requestId !== undefined ? `${name}:${requestId}` : randomUUID();
    try {
      const answer = await client.withDeadline(Date.now() + waitMs, () => message.execute(handleOf(ref), updateId));
      return { answered: true, answer };
    } catch (err) {
      if (isNamed(err, 'WorkflowUpdateFailedError')) throw failedUpdate(err, name);
      if (isNamed(err, 'WorkflowUpdateRPCTimeoutOrCancelledError')) {
        const later = await notAnsweredYet(ref, message, updateId);
        if (later) return later;
      } else if (!isNamed(err, 'WorkflowNotFoundError')) {
        throw new EngineUnavailableError(`Temporal call failed: ${name}`, err);
      }
    }
    // Not running: gone, or ended (a terminal payment refuses every action, by the workflow's own rules).
    const record = await get(ref);
    if (!record) throw new PaymentNotFoundError(ref);
    try {
      validate(record.state);
    } catch (failure) {
      throw rejectionOf(failure) ?? failure;
    }
    throw new UpdateRejectedError(
      UPDATE_REJECTION.INVALID_STATE,
      PAYMENT_ENDED,
      `payment ${ref} is ${record.state.status} and has ended`,
    );
  }

  const referenceOf = (workflowId: string): string =>
    parsePaymentWorkflowId(workflowId)?.merchantOrderReference ?? workflowId.replace(/^payment:/, '');

  /**
   * Whether the visibility store takes `ORDER BY StartTime DESC`: unknown until the first list asks; a refusal
   * (SQL stores, Temporal Cloud) is remembered, and those stores' own order is used: running workflows first, newest
   * started first, then ended ones, most recently ended first.
   */
  let orderBySupported: boolean | undefined;

  async function list(request: PaymentListRequest): Promise<PaymentListPage> {
    const { namespace } = client.options;
    const given = request.pageToken;
    if (
      given !== undefined &&
      (given.length < 2 || (given[0] !== ORDER.STORE_DEFAULT && given[0] !== ORDER.START_TIME_DESC))
    )
      throw new TypeError('not a page token of this engine');
    let ordered = given === undefined ? orderBySupported !== false : given[0] === ORDER.START_TIME_DESC;
    /** One page of the query in the given order (built first: a filter it refuses is a bug, not an outage). */
    const pageOf = (orderByStartTime: boolean) => {
      const query = paymentListQuery(request, { orderByStartTime, merchantId });
      return (): Promise<temporal.api.workflowservice.v1.ListWorkflowExecutionsResponse> =>
        client.withDeadline(Date.now() + callTimeoutMs, () =>
          client.workflowService.listWorkflowExecutions({
            namespace,
            query,
            pageSize: request.limit,
            nextPageToken: given?.subarray(1),
          }),
        );
    };
    let response: temporal.api.workflowservice.v1.ListWorkflowExecutionsResponse;
    const first = pageOf(ordered);
    try {
      response = await first();
    } catch (err) {
      if (!(ordered && given === undefined && refusedOrderBy(err)))
        throw new EngineUnavailableError('Temporal call failed: list', err);
      orderBySupported = false;
      ordered = false;
      response = await call('list', pageOf(false));
    }
    if (ordered) orderBySupported = true;
    const payments: PaymentSummary[] = [];
    for (const raw of response.executions) {
      // Decoded as the SDK's own list() decodes it, through the client's data converter (and payload codec).
      const info = await call('decode memo', () =>
        executionInfoFromRaw(raw, client.options.loadedDataConverter, raw, namespace),
      );
      const summary = info.memo?.[PAYMENT_MEMO_KEY];
      // Without a summary it is not a payment this engine started; another merchant's is not this engine's to show.
      if (!isSummary(summary) || !ownWorkflow(info.workflowId)) continue;
      // STARTS_WITH is case-insensitive on SQLite: the reference is case-sensitive, so check it again here.
      if (request.referencePrefix !== undefined && !summary.merchantOrderReference.startsWith(request.referencePrefix))
        continue;
      payments.push(currentSummary(summary, info.typedSearchAttributes));
    }
    const next = response.nextPageToken;
    const nextPageToken =
      next && next.length > 0
        ? Uint8Array.from([ordered ? ORDER.START_TIME_DESC : ORDER.STORE_DEFAULT, ...next])
        : undefined;
    return { payments, nextPageToken };
  }

  return {
    async create(input: PaymentWorkflowInput, request, waitMs): Promise<CreateOutcome> {
      const ref = input.merchantOrderReference;
      const startWorkflowOperation = new WithStartWorkflowOperation(PAYMENT_WORKFLOW_TYPE, {
        taskQueue,
        workflowId: paymentWorkflowId(ref, merchantId),
        // The merchant is this engine's, whatever the caller put in the input. The search attributes below are the
        // workflow's first: it upserts only those that change from them.
        args: [{ ...input, merchantId, ...START_FLAGS }],
        // The memo answers reads before a worker first runs the payment; with the search attributes the workflow keeps
        // current, it answers them when no worker does.
        memo: { [FINGERPRINT_MEMO_KEY]: request.requestFingerprint, [PAYMENT_MEMO_KEY]: startSummary(input) },
        // Searchable from the start, before a worker first runs it (the workflow upserts those that change).
        typedSearchAttributes: startSearchAttributes(ref, merchantId),
        // A running payment takes the Update (its validator compares the requests); an ended one is never restarted.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      try {
        const answer = await client.withDeadline(Date.now() + waitMs, () =>
          client.workflow.executeUpdateWithStart(openPaymentUpdate, { args: [request], startWorkflowOperation }),
        );
        return { answered: true, created: answer.created, state: answer.state };
      } catch (err) {
        if (isNamed(err, 'WorkflowUpdateFailedError')) {
          const rejection = rejectionOf((err as { cause?: unknown }).cause);
          if (rejection) throw rejection;
          throw new EngineUnavailableError('the payment failed to open', err);
        }
        if (isNamed(err, 'WorkflowUpdateRPCTimeoutOrCancelledError')) return { answered: false };
        if (!isNamed(err, 'WorkflowExecutionAlreadyStartedError')) {
          throw new EngineUnavailableError('Temporal call failed: update-with-start', err);
        }
      }
      const closed = await get(ref);
      if (!closed) throw new EngineUnavailableError(`payment ${ref} exists but cannot be read`);
      return { answered: false, closed };
    },

    get,

    submitOtp: (ref, request, waitMs, requestId) =>
      update(ref, updateMessage(submitOtpUpdate, request), waitMs, requestId, (s) => validateSubmitOtp(s, Date.now())),
    resendOtp: (ref, waitMs, requestId) =>
      update(ref, updateMessage(resendOtpUpdate), waitMs, requestId, (s) => validateResendOtp(s, Date.now())),
    capture: (ref, request, waitMs, requestId) =>
      update(ref, updateMessage(captureUpdate, request), waitMs, requestId, (s) => validateCapture(s, request)),
    cancel: (ref, request, waitMs, requestId) =>
      update(ref, updateMessage(cancelUpdate, request), waitMs, requestId, validateCancel),
    async refund(ref, request, waitMs, requestId) {
      try {
        return await update(ref, updateMessage(refundUpdate, request), waitMs, requestId, (s) =>
          validateRefund(s, request, Date.now()),
        );
      } catch (err) {
        // The payment's workflow has completed (its refund window is over, or everything was refunded): a repeat of
        // one of its refunds is still answered with that refund, as the workflow would have.
        if (!(err instanceof UpdateRejectedError) || err.code !== PAYMENT_ENDED) throw err;
        const record = await get(ref);
        const earlier = record ? repeatedRefundOf(record.state, request) : undefined;
        if (!record || !earlier) throw err;
        return { answered: true, answer: { outcome: 'REPEATED', refund: earlier, state: record.state } };
      }
    },

    async deliverCallback(signal, deliveryOptions = {}): Promise<CallbackDeliveryOutcome> {
      // Any run of the payment: one that has just continued as new is listed under its order by its closed run only
      // until search has the new run's too, and the signal, sent by workflow id, reaches the run now going.
      const found = await paymentForOrder(signal.orderId);
      if (found === undefined) return { delivered: false };
      const { workflowId, createdAt } = found;
      // The customer's browser may come back after the payment has ended (a webhook settled a declined payment
      // first, a slow or reloaded return): nothing to signal, but the payment is known, so the customer still lands
      // on the merchant's page with its status.
      const reference = referenceOf(workflowId);
      const ended: CallbackDeliveryOutcome = { delivered: false, ended: true, merchantOrderReference: reference };
      const after = deliveryOptions.startedAfterMs;
      if (after !== undefined && createdAt.getTime() < after) {
        // Stale for a payment still running (nothing is sent to it); an ended one's is the reload of a return page.
        return (await isRunning(workflowId))
          ? { delivered: false, tooOld: true, merchantOrderReference: reference }
          : ended;
      }
      const ok = await signalIfRunning(workflowId, (h) => h.signal(callbackReceivedSignal, signal));
      return ok ? { delivered: true, merchantOrderReference: reference } : ended;
    },

    async deliverWebhook(ref, signal): Promise<DeliveryOutcome> {
      if (signal.parentOrderId !== undefined) {
        // A refund's event: its reference and order id are the refund's own; the payment is the parent order's.
        const workflowId = (await paymentForOrder(signal.parentOrderId))?.workflowId;
        if (workflowId === undefined) return { delivered: false };
        const ok = await signalIfRunning(workflowId, (h) => h.signal(webhookReceivedSignal, signal));
        return ok ? { delivered: true, merchantOrderReference: referenceOf(workflowId) } : { delivered: false };
      }
      if (ref !== undefined) {
        const ok = await signalIfRunning(paymentWorkflowId(ref, merchantId), (h) =>
          h.signal(webhookReceivedSignal, signal),
        );
        if (ok) return { delivered: true, merchantOrderReference: ref };
      }
      const workflowId = (await paymentForOrder(signal.orderId))?.workflowId;
      if (workflowId === undefined) return { delivered: false };
      const ok = await signalIfRunning(workflowId, (h) => h.signal(webhookReceivedSignal, signal));
      return ok ? { delivered: true, merchantOrderReference: referenceOf(workflowId) } : { delivered: false };
    },

    list,

    async ping(): Promise<void> {
      await call('getSystemInfo', () => client.workflowService.getSystemInfo({}));
    },
  };
}
