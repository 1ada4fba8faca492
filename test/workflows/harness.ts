/**
 * Test harness for the payment workflow: the official time-skipping Temporal test server, the Plural sandbox on a
 * clock that follows the environment's virtual time, real activities over the real client, an in-test card vault, and a webhook receiver that turns the
 * sandbox's signed webhooks into `webhookReceived` signals (as the API will).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateStage } from '@temporalio/client';
import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { CardVault, PaymentActivities } from '../../activities';
import { InMemoryCardVault } from '../../card-vault';
import { webhookSignalOf } from '../../api/gateway-events';
import { START_FLAGS, startSearchAttributes, startSummary } from '../../api/payment-summary';
import type { PluralClient } from '../../plural-client';
import { parseWebhookBody, verifyWebhook } from '../../plural-client';
import { DEFAULT_CREDENTIALS, startSandbox } from '../../plural-sandbox';
import type { RunningSandbox, SandboxOptions } from '../../plural-sandbox';
import {
  cancelUpdate,
  captureUpdate,
  DEFAULT_MERCHANT_ID,
  FAILURE_TYPE,
  operatorGiveUpUpdate,
  operatorRetryUpdate,
  refundUpdate,
  resendOtpUpdate,
  submitOtpUpdate,
  getPaymentQuery,
  PAYMENT_MEMO_KEY,
  PAYMENT_TASK_QUEUE,
  paymentWorkflowId,
  webhookReceivedSignal,
} from '../../workflows/definitions';
import type {
  AuditEntry,
  CaptureAnswer,
  Money,
  PaymentState,
  SubmitOtpAnswer,
  PaymentStatus,
  PaymentWorkflowInput,
  RefundAnswer,
  ResendOtpAnswer,
  WebhookReceivedSignal,
} from '../../workflows/definitions';
import type { paymentWorkflow } from '../../workflows/payment';
import { createPaymentMetricsSinks } from '../../observability/payment-metrics';
import { workflowInterceptorModules } from '../../worker/worker';
import { CARDS } from '../support/cards';
import { waitForPaymentState } from '../support/payment-state';
import { waitFor } from '../support/wait';
import { createTimeSkippingEnv } from '../support/temporal-servers';
import { pluralClientFor } from '../support/plural';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const WORKFLOWS_PATH = path.join(REPO_ROOT, 'workflows', 'index.ts');

/** A CVV unlikely to occur by chance in ids or timestamps, so the history scan can look for it. */
export const CVV = '739';
/**
 * The OTP the sandbox accepts in these tests (set with its `otp.correctOtp` option) and the wrong ones the tests
 * submit: 8 distinctive digits each, so finding one anywhere in a history means an OTP leaked.
 */
export const CORRECT_OTP = '73914628';
export const WRONG_OTP = '52086417';
export const WRONG_OTPS = [WRONG_OTP, '60493725', '81736054'] as const;
/** Lifetime of a submitted OTP in the test vault (the API's default: the OTP window). */
export const OTP_TTL_MS = 10 * 60_000;

/**
 * The sandbox paths whose answers are lost (`errorAfterCommitRate`) for a refund Plural takes while the engine never
 * hears: the refund itself and its lookup by reference (a retried refund looks the reference up first).
 */
export const LOST_REFUND_PATHS = ['/api/pay/v1/refunds/', '/api/pay/v1/orders/reference/'];

/** Bundles the workflow code; once per test file. */
export async function bundle(): Promise<WorkflowBundle> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: workflowInterceptorModules(),
    logger: new DefaultLogger('ERROR'),
  });
  return { code };
}

/** The official time-skipping test server, one per test file. */
export const createEnv = createTimeSkippingEnv;

/** Real time for a timer the test server's pump has already fired to reach its workflow: milliseconds, more when busy. */
const FIRED_TIMER_LANDS_MS = 50;
/** A timer due this soon (server time, which a held clock moves at the wall clock's pace) fires before the signal. */
const IMMINENT_TIMER_MS = 2_000;
/** How long a signal waits at most for the workflow's due timers to show as fired. */
const DUE_TIMERS_WAIT_MS = 5_000;

const millisOf = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number => {
  const seconds = t?.seconds;
  const whole =
    typeof seconds === 'object' && seconds !== null
      ? (seconds as { toNumber(): number }).toNumber()
      : Number(seconds ?? 0);
  return whole * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
};

/** How many of the history's timers are still open though due by `byMs` (server time). */
export function openTimersDueBy(events: readonly temporal.api.history.v1.IHistoryEvent[], byMs: number): number {
  const closed = new Set<string>();
  for (const e of events) {
    const started = e.timerFiredEventAttributes?.startedEventId ?? e.timerCanceledEventAttributes?.startedEventId;
    if (started !== undefined && started !== null) closed.add(String(started));
  }
  return events.filter((e) => {
    const timer = e.timerStartedEventAttributes;
    if (!timer || closed.has(String(e.eventId))) return false;
    return millisOf(e.eventTime) + millisOf(timer.startToFireTimeout) <= byMs;
  }).length;
}

/**
 * Runs `send` (a signal to `workflowId` arriving on its own, as the sandbox's webhooks do) with the time-skipping
 * server's clock held, once none of the workflow's timers is due within {@link IMMINENT_TIMER_MS}. A signal that lands
 * while one of the workflow's timers fires can start a workflow task just before the fire: the fire is buffered, the
 * task's completion cancels that timer (the signal ended the wait), and the test server refuses it and never hands the
 * task out again (temporalio/sdk-java#2606 and #3088; the real server accepts it). Held, the clock moves only with the
 * wall clock; a timer that is due fires first (its TIMER_FIRED in the history), then the signal lands.
 */
export async function whileTimeHeld<T>(
  env: TestWorkflowEnvironment,
  send: () => Promise<T>,
  workflowId?: string,
): Promise<T> {
  if (!env.supportsTimeSkipping) return send();
  const testService = env.connection.testService!;
  await testService.lockTimeSkipping({});
  try {
    await new Promise((resolve) => setTimeout(resolve, FIRED_TIMER_LANDS_MS));
    if (workflowId !== undefined) {
      const handle = env.client.workflow.getHandle(workflowId);
      const deadline = Date.now() + DUE_TIMERS_WAIT_MS;
      for (;;) {
        const [now, history] = await Promise.all([env.currentTimeMs(), handle.fetchHistory().catch(() => undefined)]);
        if (history === undefined || openTimersDueBy(history.events ?? [], now + IMMINENT_TIMER_MS) === 0) break;
        if (Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    return await send();
  } finally {
    await testService.unlockTimeSkipping({});
  }
}

/** Receives the sandbox's signed webhooks; forwards them as signals when `forward` is on, records them always. */
export class WebhookReceiver {
  forward = true;
  readonly received: {
    webhookId: string;
    eventType: string;
    orderId: string;
    reference: string;
    signal: WebhookReceivedSignal;
  }[] = [];
  private server = createServer();
  /** Signals being forwarded now. */
  private readonly forwarding = new Set<Promise<unknown>>();
  url = '';

  constructor(
    private readonly env: TestWorkflowEnvironment,
    private readonly secret: string,
    /** The merchant order reference of a Plural order (a refund's events go to its parent order's payment). */
    private readonly referenceOfOrder: (orderId: string) => string | undefined = () => undefined,
  ) {}

  async start(): Promise<void> {
    this.server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void this.handle(req.headers, Buffer.concat(chunks).toString('utf8')).then(
          (status) => res.writeHead(status).end(),
          () => res.writeHead(500).end(),
        );
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks`;
  }

  private async handle(headers: Record<string, string | string[] | undefined>, body: string): Promise<number> {
    // The sandbox signs with its (virtual) clock, which runs ahead of the wall clock after time skips.
    // (The time-skipping server's clock can jump years ahead once nothing is pending, so the window is a century.)
    const verified = verifyWebhook({
      headers,
      rawBody: body,
      secret: this.secret,
      toleranceSeconds: 100 * 365 * 86_400,
    });
    if (!verified.ok) return 401;
    const parsed = parseWebhookBody(body);
    if (!parsed.ok) return 400;
    if (parsed.kind !== 'order') return 200;
    const webhookId = String(headers['webhook-id']);
    const order = parsed.order;
    // A refund's event carries the refund order: the payment is its parent order's (the API finds it by order id).
    const reference = String(
      (order.parent_order_id ? this.referenceOfOrder(order.parent_order_id) : undefined) ??
        order.merchant_order_reference ??
        '',
    );
    // The API's own mapping: what the workflow receives here is what it receives in production.
    const signal = webhookSignalOf(webhookId, parsed.eventType, order);
    this.received.push({ webhookId, eventType: parsed.eventType, orderId: order.order_id, reference, signal });
    if (this.forward) {
      const workflowId = paymentWorkflowId(reference);
      const sent = whileTimeHeld(
        this.env,
        () => this.env.client.workflow.getHandle(workflowId).signal(webhookReceivedSignal, signal),
        workflowId,
      );
      this.forwarding.add(sent);
      try {
        await sent;
      } catch (err) {
        // Workflow already closed: acknowledge, as the API does. Anything else (Temporal slow or busy under load) is a
        // 503, as the API answers, so that the sandbox delivers the event again rather than it being lost.
        return err instanceof WorkflowNotFoundError ? 200 : 503;
      } finally {
        this.forwarding.delete(sent);
      }
    }
    return 200;
  }

  /** Resolves once the signals being forwarded now have landed (or failed). */
  async landed(): Promise<void> {
    await Promise.allSettled([...this.forwarding]);
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface Fixture {
  env: TestWorkflowEnvironment;
  sandbox: RunningSandbox;
  vault: InMemoryCardVault;
  plural: PluralClient;
  webhooks: WebhookReceiver;
  taskQueue: string;
  /** Every workflow started through {@link startPayment}, for the history scan. */
  started: PaymentHandle[];
  /** Skips virtual time and moves the sandbox clock with it. */
  skip(ms: number): Promise<void>;
  /**
   * Runs `fn` with a worker on the fixture's task queue. Under vitest, a test that fails while `fn` still runs (it
   * timed out) is ended by {@link Fixture.abandon}, so one hung test does not fail the rest of its file.
   */
  withWorker<T>(fn: () => Promise<T>, activities?: Partial<PaymentActivities>): Promise<T>;
  /**
   * Ends a {@link Fixture.withWorker} whose `fn` has not returned: prints a summary of the histories of the workflows
   * it started ({@link historySummary}: event types and names, no payloads) for diagnosis, terminates those still
   * running while its worker runs, then stops the worker; its `withWorker` rejects. Nothing to do when none runs.
   */
  abandon(): Promise<void>;
  teardown(): Promise<void>;
}

/** Options of {@link createFixture}. */
export interface FixtureOptions {
  /**
   * The Temporal environment to run on (e.g. a dev server's, for recording histories in wall-clock time); the fixture
   * tears it down with the rest. @default a new time-skipping environment ({@link createEnv})
   */
  env?: TestWorkflowEnvironment;
  /** Where {@link Fixture.abandon} prints its summary. @default console.error */
  log?: (text: string) => void;
}

/** Environment + sandbox + webhook receiver for one test file. */
export async function createFixture(
  workflowBundle: WorkflowBundle,
  sandboxOptions: SandboxOptions = {},
  options: FixtureOptions = {},
): Promise<Fixture> {
  const env = options.env ?? (await createEnv());
  let offsetMs = 0;
  const sandbox = await startSandbox({
    seed: 7,
    ...sandboxOptions,
    otp: { correctOtp: CORRECT_OTP, ...sandboxOptions.otp },
    now: () => Date.now() + offsetMs,
  });
  const webhooks = new WebhookReceiver(
    env,
    sandbox.credentials.webhookSecret,
    (orderId) => sandbox.order(orderId)?.merchantOrderReference,
  );
  await webhooks.start();
  sandbox.setWebhookUrl(webhooks.url);
  const plural = pluralClientFor(sandbox, 5_000);
  const vault = new InMemoryCardVault();
  const taskQueue = `${PAYMENT_TASK_QUEUE}-${randomUUID()}`;
  const syncClock = async (): Promise<void> => {
    offsetMs = Math.max(offsetMs, (await env.currentTimeMs()) - Date.now());
  };
  const log = options.log ?? ((text: string) => console.error(text));
  /** The withWorker whose `fn` has not returned yet: its worker, and the workflows it started (from `before`). */
  let running: { worker: Worker; before: number; done: Promise<unknown> } | undefined;
  const fixture: Fixture = {
    env,
    sandbox,
    vault,
    plural,
    webhooks,
    taskQueue,
    started: [],
    async skip(ms) {
      await env.sleep(ms);
      await syncClock();
    },
    async withWorker(fn, overrides = {}) {
      // Each gateway call first brings the sandbox's clock to the workflow's virtual time, however that time moved
      // (env.sleep, or the skipping while a test awaits a result): Plural's own deadlines (a pending payment timing out,
      // an order expiring) then happen in the same time as the workflow's.
      const activities = Object.fromEntries(
        Object.entries({ ...createActivities({ plural, vault }), ...overrides }).map(([name, fn]) => [
          name,
          async (...args: unknown[]) => {
            await syncClock();
            return (fn as (...a: unknown[]) => unknown)(...args);
          },
        ]),
      );
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle,
        activities,
        sinks: createPaymentMetricsSinks(),
        shutdownGraceTime: '1 second',
      });
      const before = fixture.started.length;
      let fnReturned = false;
      const run = async (): Promise<Awaited<ReturnType<typeof fn>>> => {
        try {
          return await fn();
        } finally {
          fnReturned = true;
          // A workflow left running (a processed payment lives on in its refund window) would wake up later, when
          // another test skips time, on the sticky queue of this stopped worker: the time-skipping server locks time
          // while that task waits, and its sticky timeout is itself a timer in (locked) virtual time, so the other
          // test would hang. Each test ends its own workflows while this worker still runs: one terminated with a
          // workflow task still waiting for a worker leaves the server's clock locked for the rest of the file.
          await endRunning(fixture, fixture.started.slice(before));
        }
      };
      const done = worker.runUntil(run());
      const entry = { worker, before, done: done.catch(() => undefined) };
      running = entry;
      // A test that times out leaves `fn` waiting and this worker holding the task queue (the file's next worker could
      // not register): end both when the test fails before `fn` returned.
      if (process.env.VITEST) {
        const { onTestFailed } = await import('vitest');
        try {
          onTestFailed(async () => {
            if (!fnReturned) await fixture.abandon();
          });
        } catch {
          // Not inside a test (a beforeAll): the hook's timeout ends it, and its error fails the file.
        }
      }
      try {
        return await done;
      } finally {
        if (running === entry) running = undefined;
      }
    },
    async abandon() {
      const current = running;
      if (!current) return;
      running = undefined;
      const handles = fixture.started.slice(current.before);
      const summaries = await Promise.all(
        handles.map((h) => historySummary(h).catch((e: unknown) => `${h.workflowId}: ${String(e)}`)),
      );
      log(`withWorker abandoned (its test failed while it ran); the workflows it started:\n${summaries.join('\n')}`);
      await endRunning(fixture, handles).catch((e: unknown) => log(`terminating them failed: ${String(e)}`));
      current.worker.shutdown();
      await current.done;
    },
    async teardown() {
      await fixture.abandon();
      await webhooks.stop();
      await sandbox.stop();
      await plural.close();
      vault.close();
      await env.teardown();
    },
  };
  return fixture;
}

/**
 * Terminates those of `handles` still running (a test's leftovers), each once it is idle (no workflow or activity task
 * outstanding), with webhook forwarding paused so that no signal schedules a new task meanwhile.
 */
async function endRunning(fx: Fixture, handles: readonly PaymentHandle[]): Promise<void> {
  const forwarding = fx.webhooks.forward;
  fx.webhooks.forward = false;
  try {
    // A webhook already being forwarded lands first.
    await fx.webhooks.landed();
    await Promise.all(
      handles.map(async (handle) => {
        const deadline = Date.now() + 5_000;
        for (;;) {
          const [d, history] = await Promise.all([handle.describe(), handle.fetchHistory()]);
          if (d.status.name !== 'RUNNING') return;
          const idle = !workflowTaskOpen(d, history.events ?? []) && (d.raw.pendingActivities ?? []).length === 0;
          if (idle || Date.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        await handle.terminate('test over');
      }),
    );
  } finally {
    fx.webhooks.forward = forwarding;
  }
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const eventTypeName = (e: HistoryEvent): string =>
  typeof e.eventType === 'number' ? temporal.api.enums.v1.EventType[e.eventType] : String(e.eventType);

/**
 * Whether a workflow task is scheduled or running. The time-skipping test server never fills `pendingWorkflowTask`
 * in a description, so its history says: a task scheduled, and not yet completed, failed or timed out.
 */
function workflowTaskOpen(
  description: Awaited<ReturnType<PaymentHandle['describe']>>,
  events: HistoryEvent[],
): boolean {
  if (description.raw.pendingWorkflowTask) return true;
  for (let i = events.length - 1; i >= 0; i--) {
    const type = eventTypeName(events[i]!);
    if (type === 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED' || type === 'EVENT_TYPE_WORKFLOW_TASK_STARTED') return true;
    if (/^EVENT_TYPE_WORKFLOW_TASK_(COMPLETED|FAILED|TIMED_OUT)$/.test(type)) return false;
  }
  return false;
}

/** Events of a workflow's history shown by {@link historySummary}: the last ones, where a hang shows. */
const SUMMARY_EVENTS = 40;

/**
 * A workflow's status, its pending tasks and the last {@link SUMMARY_EVENTS} events of its history, one line each:
 * id, type and the name it carries (activity type, signal, update, timer id), never a payload.
 */
export async function historySummary(handle: PaymentHandle): Promise<string> {
  const [description, history] = await Promise.all([handle.describe(), handle.fetchHistory()]);
  const events = history.events ?? [];
  const pending = [
    workflowTaskOpen(description, events) ? 'a workflow task' : undefined,
    ...(description.raw.pendingActivities ?? []).map(
      (a) => `activity ${a.activityType?.name ?? '?'} (attempt ${a.attempt ?? 1})`,
    ),
  ].filter((p) => p !== undefined);
  const lines = events.slice(-SUMMARY_EVENTS).map((e) => {
    const name =
      e.activityTaskScheduledEventAttributes?.activityType?.name ??
      e.workflowExecutionSignaledEventAttributes?.signalName ??
      e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ??
      e.timerStartedEventAttributes?.timerId ??
      e.workflowExecutionTerminatedEventAttributes?.reason ??
      '';
    const type = eventTypeName(e);
    return `  ${String(e.eventId)} ${type}${name ? ` ${name}` : ''}`;
  });
  return [
    `${handle.workflowId}: ${description.status.name}, ${events.length} events, pending: ${pending.join(', ') || 'nothing'}`,
    ...(events.length > SUMMARY_EVENTS ? [`  … ${events.length - SUMMARY_EVENTS} earlier events`] : []),
    ...lines,
  ].join('\n');
}

let refSeq = 0;
/** A merchant order reference unique to this process. */
export function newReference(prefix = 'ord'): string {
  refSeq += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${refSeq}`;
}

/** Puts a test card in the vault; returns the handle. */
export function putCard(vault: CardVault, number: string, cvv = CVV): Promise<string> {
  // Year 9999: the time-skipping server's clock can jump decades ahead between tests (the sandbox follows it).
  return vault.put({ number, cvv, name: 'Test Holder', expiryMonth: '12', expiryYear: '9999' }, 15 * 60_000);
}

export type PaymentHandle = WorkflowHandle<typeof paymentWorkflow>;

/**
 * Starts the payment workflow for `input`; `asTheApiStartsIt`: with its search attributes, memo and input flags
 * (`START_FLAGS`) as api/temporal-engine.ts starts every payment (without: as payments started before those flags
 * existed).
 */
export async function startPayment(
  fx: Fixture,
  input: PaymentWorkflowInput,
  asTheApiStartsIt = false,
): Promise<PaymentHandle> {
  const merchantId = input.merchantId ?? DEFAULT_MERCHANT_ID;
  const handle = await fx.env.client.workflow.start<typeof paymentWorkflow>('paymentWorkflow', {
    taskQueue: fx.taskQueue,
    workflowId: paymentWorkflowId(input.merchantOrderReference),
    ...(asTheApiStartsIt
      ? {
          args: [{ ...input, ...START_FLAGS }],
          memo: { [PAYMENT_MEMO_KEY]: startSummary(input) },
          typedSearchAttributes: startSearchAttributes(input.merchantOrderReference, merchantId),
        }
      : { args: [input] }),
  });
  fx.started.push(handle);
  return handle;
}

/** All text of a history, with every binary field (payload data, etc.) decoded as UTF-8. */
export function historyText(history: unknown): string {
  // Protobuf messages serialize bytes as base64 strings; plain objects keep Uint8Arrays: decode both.
  return JSON.stringify(history, (key, value: unknown) => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
    // Event and task ids and timestamps are int64s serialized as digit strings; they are not card data.
    if (typeof value === 'string' && /^\d+$/.test(value) && /(Id|seconds)$/.test(key)) return undefined;
    return value;
  });
}

/**
 * Secrets that must never appear in a history: every test PAN (plain and grouped), the test CVV, every test OTP
 * (right or wrong; anywhere in the text, since they are distinctive), the sandbox's credentials, and any bearer token
 * or JWT (Plural's access token).
 */
export function secretsFound(text: string): string[] {
  const found: string[] = [];
  for (const pan of Object.values(CARDS)) {
    const grouped = pan.replace(/(\d{4})(?=\d)/g, '$1 ');
    if (text.includes(pan) || text.includes(grouped)) found.push(`PAN ending ${pan.slice(-4)}`);
  }
  if (text.includes(`"${CVV}"`) || text.includes(`\\"${CVV}\\"`)) found.push('CVV');
  for (const otp of [CORRECT_OTP, ...WRONG_OTPS]) {
    if (text.includes(otp)) found.push(otp === CORRECT_OTP ? 'correct OTP' : 'wrong OTP');
  }
  // Any OTP-shaped value under an `otp` key, whatever its digits (payload JSON is escaped inside the history text).
  if (/\\?"otp\\?"\s*:\s*\\?"\d{4,8}\\?"/.test(text)) found.push('an otp value');
  for (const [name, secret] of Object.entries(DEFAULT_CREDENTIALS)) {
    if (name !== 'clientId' && text.includes(secret)) found.push(`the sandbox's ${name}`);
  }
  if (/Bearer\s+[\w.~+/-]{8,}/i.test(text)) found.push('a bearer token');
  if (/eyJ[\w-]{8,}\.eyJ[\w-]{8,}\./.test(text)) found.push('a JWT');
  return found;
}

/**
 * Polls the `getPayment` query until `check` passes (real time; time skipping is locked meanwhile), then waits for the
 * history to catch up: see {@link historyCaughtUp}.
 */
export async function waitForState(
  handle: PaymentHandle,
  check: (s: PaymentState) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<PaymentState> {
  const state = await waitForPaymentState(handle, check, what, { timeoutMs, intervalMs: 50 });
  await historyCaughtUp(handle);
  return state;
}

/**
 * The query answers from the worker's state, which runs ahead of the history: the workflow task that made the state
 * may not have reached the server yet, with the timer it started. A test that skips virtual time right after would
 * skip past it before the timer exists (seen in CI under load: a refund window's next look never came). Waits, up to
 * 5 s, until the history shows no workflow task open.
 */
async function historyCaughtUp(handle: PaymentHandle): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const [description, history] = await Promise.all([handle.describe(), handle.fetchHistory()]);
    if (!workflowTaskOpen(description, history.events ?? [])) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const waitForStatus = (handle: PaymentHandle, status: PaymentStatus): Promise<PaymentState> =>
  waitForState(handle, (s) => s.status === status, `status ${status}`);

/** Approves (or declines) the current payment attempt at the sandbox's simulated ACS; returns the signed callback. */
export async function authenticateAtSandbox(
  sandbox: RunningSandbox,
  paymentId: string,
  result: 'approve' | 'decline' = 'approve',
): Promise<{ order_id: string; status: string; callback: { fields: Record<string, string> } }> {
  const res = await fetch(`${sandbox.baseUrl}/__sandbox/payments/${encodeURIComponent(paymentId)}/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${sandbox.controlToken}` },
    body: JSON.stringify({ result }),
  });
  if (!res.ok) throw new Error(`sandbox authenticate failed: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as { order_id: string; status: string; callback: { fields: Record<string, string> } };
}

/** Windows seconds long, waited out in real time: the authentication window closes, then the closing reads follow. */
export const REAL_TIME_WINDOWS = {
  challengeWindowMs: 2_000,
  reconcileInitialDelayMs: 500,
  reconcileMaxDelayMs: 1_000,
  closingReconcileMaxDelayMs: 1_000,
};

/**
 * The customer approves on Plural's challenge page after the engine's authentication window has closed: `start` starts
 * a challenge payment with {@link REAL_TIME_WINDOWS}; once it is CLOSING the sandbox approves it. Resolves with its
 * result once FAILED, and the state `start` answered. The sandbox's webhooks are dropped: the payment's reads find the
 * approval, and no signal lands under its second-long timers, which a held clock still fires ({@link whileTimeHeld}).
 */
export async function approvedAfterWindowClosed(
  fx: Fixture,
  start: (
    durations: typeof REAL_TIME_WINDOWS,
  ) => Promise<{ handle: PaymentHandle; paymentId: string; state: PaymentState }>,
): Promise<{ result: PaymentState; state: PaymentState }> {
  fx.sandbox.setFaults({ webhookDropRate: 1 });
  try {
    return await fx.withWorker(async () => {
      const { handle, paymentId, state } = await start(REAL_TIME_WINDOWS);
      await waitForStatus(handle, 'CLOSING');
      await authenticateAtSandbox(fx.sandbox, paymentId);
      await waitForStatus(handle, 'FAILED');
      return { result: await handle.result(), state };
    });
  } finally {
    fx.sandbox.setFaults({ webhookDropRate: 0 });
  }
}

/** The callback signal the API sends for the sandbox's signed callback fields. */
export function callbackSignal(fields: Record<string, string>) {
  return {
    orderId: fields.order_id ?? '',
    status: fields.payment_status ?? fields.status ?? '',
    errorCode: fields.error_code,
    errorMessage: fields.error_message,
  };
}

/** Short durations for tests (virtual time anyway). */
export const TEST_DURATIONS = {
  otpWindowMs: 10 * 60_000,
  challengeWindowMs: 15 * 60_000,
  checkoutWindowMs: 30 * 60_000,
  reconcileInitialDelayMs: 30_000,
  reconcileMaxDelayMs: 5 * 60_000,
  closingReconcileMaxDelayMs: 60 * 60_000,
};

/** Base input for a card payment. */
export function cardInput(
  ref: string,
  cardHandle: string,
  overrides: Partial<PaymentWorkflowInput> = {},
): PaymentWorkflowInput {
  return {
    merchantOrderReference: ref,
    amount: { value: 5000, currency: 'INR' },
    preAuth: true,
    method: { kind: 'card', cardHandle, last4: '0000' },
    callbackUrl: 'https://merchant.example/callback',
    ...overrides,
  };
}

/**
 * Submits an OTP as the API does: the OTP goes into the vault, the Update carries only its handle (and, as the API
 * sends it, `otpDigest`: the same digest for the same OTP); returns the Update's answer (the OTP's outcome) and the
 * handle.
 */
export async function submitOtp(
  fx: Fixture,
  handle: PaymentHandle,
  updateId: string,
  otp: string,
  otpDigest?: string,
): Promise<SubmitOtpAnswer & { otpHandle: string }> {
  const otpHandle = await fx.vault.put({ otp }, OTP_TTL_MS);
  const request = otpDigest === undefined ? { otpHandle } : { otpHandle, otpDigest };
  const answer = await handle.executeUpdate(submitOtpUpdate, { args: [request], updateId });
  return { ...answer, otpHandle };
}

/**
 * Runs `first`, then `second` 400 ms later, while Plural takes 1.5 s to answer an OTP submission: the second arrives
 * while the first is with Plural (margins for a busy machine). Resolves with both answers.
 */
export async function whileOtpIsWithPlural<T>(
  fx: Fixture,
  first: () => Promise<T>,
  second: () => Promise<T>,
): Promise<[T, T]> {
  fx.sandbox.setFaults({ latencyMs: 1_500, paths: ['/otp/submit'] });
  try {
    return await Promise.all([first(), new Promise((r) => setTimeout(r, 400)).then(second)]);
  } finally {
    fx.sandbox.setFaults({ latencyMs: 0, paths: [] });
  }
}

/** Plural's refusal of an expired OTP: it offers only a resend. */
export const EXPIRED_OTP = {
  outcome: 'INCORRECT' as const,
  next: ['RESEND_OTP'],
  resendAfterSeconds: undefined,
  message: 'the OTP has expired',
  counted: true,
};

/**
 * A `submitOtp` activity whose first OTP reaches Plural (the sandbox) and is then refused as expired
 * ({@link EXPIRED_OTP}); the next ones are Plural's answers. `sent()` counts the submissions.
 */
export function firstOtpExpires(fx: Fixture): {
  activities: Pick<PaymentActivities, 'submitOtp'>;
  sent: () => number;
} {
  const real = createActivities({ plural: fx.plural, vault: fx.vault });
  let sent = 0;
  const submitOtp: PaymentActivities['submitOtp'] = async (input) => {
    sent += 1;
    const answer = await real.submitOtp(input);
    return sent === 1 ? EXPIRED_OTP : answer;
  };
  return { activities: { submitOtp }, sent: () => sent };
}

/**
 * A `submitOtp` activity whose first submission is held before it reaches Plural until `release()` (`holding`
 * resolves once it is); every submission then goes to Plural (the sandbox). `sent()` counts the submissions,
 * `resent()` the resends that reached the activity.
 */
export function heldFirstOtp(fx: Fixture): {
  activities: Pick<PaymentActivities, 'submitOtp' | 'resendOtp'>;
  holding: Promise<void>;
  release: () => void;
  sent: () => number;
  resent: () => number;
} {
  const real = createActivities({ plural: fx.plural, vault: fx.vault });
  const held = gate();
  let sent = 0;
  let resent = 0;
  const submitOtp: PaymentActivities['submitOtp'] = async (input) => {
    sent += 1;
    if (sent === 1) await held.arrive();
    return real.submitOtp(input);
  };
  const resendOtp: PaymentActivities['resendOtp'] = (input) => {
    resent += 1;
    return real.resendOtp(input);
  };
  return {
    activities: { submitOtp, resendOtp },
    holding: held.holding,
    release: held.release,
    sent: () => sent,
    resent: () => resent,
  };
}

/** A `getOrder` activity whose first call is held before it reads Plural until `release()`. */
export function heldFirstRead(fx: Fixture): Pick<PaymentActivities, 'getOrder'> & Gate {
  const real = createActivities({ plural: fx.plural, vault: fx.vault });
  const held = gate();
  let reads = 0;
  const getOrder: PaymentActivities['getOrder'] = async (input) => {
    reads += 1;
    if (reads === 1) await held.arrive();
    return real.getOrder(input);
  };
  return { ...held, getOrder };
}

/**
 * An OTP payment's authentication window (`windowMs`, counted from AWAITING_OTP, which `h` has reached) ends while its
 * first OTP (a wrong one) is with Plural, held by {@link heldFirstOtp}; a resend (once Plural allows one) and, with
 * `thenRightOtp`, the right OTP were queued behind it in time. Resolves with the answers.
 */
export async function queuedPastTheWindow(
  fx: Fixture,
  h: PaymentHandle,
  held: ReturnType<typeof heldFirstOtp>,
  windowMs: number,
  thenRightOtp: boolean,
): Promise<{ first: SubmitOtpAnswer; resend: ResendOtpAnswer; right: SubmitOtpAnswer | undefined }> {
  // The server's clock, which the workflow's window counts in (ahead of the wall clock once a test skipped time).
  const serverNow = () => fx.env.currentTimeMs();
  const windowStart = await serverNow();
  const first = submitOtp(fx, h, 'first', WRONG_OTP);
  await held.holding;
  const { otp } = await h.query(getPaymentQuery);
  const resendFrom = otp?.resendAvailableAt === undefined ? 0 : Date.parse(otp.resendAvailableAt);
  await sleep(resendFrom + 200 - (await serverNow()));
  const resend = await h.startUpdate(resendOtpUpdate, {
    updateId: 'resend',
    waitForStage: WorkflowUpdateStage.ACCEPTED,
  });
  const right = thenRightOtp
    ? await h.startUpdate(submitOtpUpdate, {
        args: [{ otpHandle: await fx.vault.put({ otp: CORRECT_OTP }, OTP_TTL_MS) }],
        updateId: 'right',
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      })
    : undefined;
  await sleep(windowStart + windowMs + 500 - (await serverNow()));
  held.release();
  return { first: await first, resend: await resend.result(), right: await right?.result() };
}

/** Waits `ms` of wall-clock time (none when it is not positive). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Captures (all, or `amount`) as the API does; returns the Update's answer. */
export function capture(handle: PaymentHandle, updateId: string, amount?: Money): Promise<CaptureAnswer> {
  return handle.executeUpdate(captureUpdate, { args: [amount ? { amount } : {}], updateId });
}

/** Refunds as the API does (omit `amount` for the rest); returns the Update's answer. */
export function refund(
  handle: PaymentHandle,
  merchantRefundReference: string,
  amount?: Money,
  options: { updateId?: string; reason?: string } = {},
): Promise<RefundAnswer> {
  return handle.executeUpdate(refundUpdate, {
    args: [
      {
        merchantRefundReference,
        ...(amount ? { amount } : {}),
        ...(options.reason !== undefined ? { reason: options.reason } : {}),
      },
    ],
    ...(options.updateId !== undefined ? { updateId: options.updateId } : {}),
  });
}

/** Cancels as the API does; returns the payment after the cancel (CANCELLED, or CLOSING before authorization). */
export async function cancel(handle: PaymentHandle, updateId: string, reason?: string): Promise<PaymentState> {
  return (await handle.executeUpdate(cancelUpdate, { args: [reason ? { reason } : {}], updateId })).state;
}

/** An operator's retry of the parked step; answers once the step has run again. */
export async function operatorRetry(handle: PaymentHandle, operator: string): Promise<PaymentState> {
  return (await handle.executeUpdate(operatorRetryUpdate, { args: [{ operator }] })).state;
}

/** An operator gives up on the parked step. */
export async function operatorGiveUp(handle: PaymentHandle, operator: string, reason: string): Promise<PaymentState> {
  return (await handle.executeUpdate(operatorGiveUpUpdate, { args: [{ operator, reason }] })).state;
}

/**
 * The audit trail with each note counted on one entry (`repeats`) written out once per time it came, so a test can
 * count occurrences (repeats follow their first entry: notes A, B, A come out A, A, B).
 */
export function auditOccurrences(audit: readonly AuditEntry[]): AuditEntry[] {
  return audit.flatMap((e) => Array.from({ length: 1 + (e.repeats ?? 0) }, () => e));
}

/** The refusal of an Update's validator: its `type` (UPDATE_REJECTION) and message; fails if the Update succeeded. */
export async function rejection(update: Promise<unknown>): Promise<{ type: string | undefined; message: string }> {
  try {
    await update;
  } catch (err) {
    const cause = (err as { cause?: { type?: string; message?: string } }).cause;
    return { type: cause?.type, message: cause?.message ?? (err as Error).message };
  }
  throw new Error('expected the Update to be refused, but it was accepted');
}

/** Fetches every started workflow's history and returns the secrets (card data, OTPs) found in each. */
export async function scanHistories(
  fx: Fixture,
): Promise<{ workflowId: string; found: string[]; decodedInput: boolean }[]> {
  const results = [];
  for (const handle of fx.started) {
    const text = historyText(await handle.fetchHistory());
    // Proof that payloads were decoded: the workflow input's field names are visible.
    results.push({
      workflowId: handle.workflowId,
      found: secretsFound(text),
      decodedInput: text.includes('merchantOrderReference'),
    });
  }
  return results;
}

/** Runs `fn` while Plural fails every call to `paths` (the sandbox's fault injection); Plural answers again after. */
export async function whilePluralFails<T>(fx: Fixture, paths: string[], fn: () => Promise<T>): Promise<T> {
  fx.sandbox.setFaults({ errorRate: 1, paths });
  try {
    return await fn();
  } finally {
    fx.sandbox.setFaults({ errorRate: 0, paths: [] });
  }
}

/** `fn` with its calls counted (an activity a test wants to see called, or not). */
export function counting<A extends unknown[], R>(
  fn: (...args: A) => R,
): { fn: (...args: A) => R; calls: () => number } {
  let calls = 0;
  return {
    fn: (...args) => {
      calls += 1;
      return fn(...args);
    },
    calls: () => calls,
  };
}

/** Where a stand-in activity waits for the test: `holding` resolves once it waits (`arrive`), `release` lets it go. */
export interface Gate {
  holding: Promise<void>;
  /** Called by the activity: resolves `holding`, then waits until `release()`. */
  arrive: () => Promise<void>;
  release: () => void;
}

export function gate(): Gate {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held!: () => void;
  const holding = new Promise<void>((resolve) => (held = resolve));
  return {
    holding,
    arrive: () => {
      held();
      return released;
    },
    release,
  };
}

/** A `createOrder` activity held before it calls Plural until `release()`; `holding` resolves once it is. */
export interface HeldCreateOrder {
  activities: Pick<PaymentActivities, 'createOrder'>;
  holding: Promise<void>;
  release(): void;
}

/**
 * Create Order held until released (with `failFirst`, Plural unreachable for the first call, so that the step parks
 * and an operator's retry is the call held).
 */
export function heldCreateOrder(fx: Fixture, failFirst = false): HeldCreateOrder {
  const real = createActivities({ plural: fx.plural, vault: fx.vault });
  let calls = 0;
  const held = gate();
  const createOrder: PaymentActivities['createOrder'] = async (input) => {
    calls += 1;
    if (failFirst && calls === 1) {
      throw ApplicationFailure.create({ message: 'Plural unreachable', type: FAILURE_TYPE.GATEWAY_UNAVAILABLE });
    }
    await held.arrive();
    return real.createOrder(input);
  };
  return { activities: { createOrder }, holding: held.holding, release: held.release };
}

/**
 * A `cancelOrder` activity that Plural answers `times` times with its order as it was (still AUTHORIZED: its order
 * trailing its payment), then for real (`Infinity`: never). `seen` hears each cancel's input first, with the workflow
 * time (the server's, skipped time included) its attempt was scheduled at.
 */
export function cancelsWithoutEffect(
  fx: Fixture,
  times: number,
  seen?: (input: Parameters<PaymentActivities['cancelOrder']>[0], scheduledAtMs: number) => void,
): Pick<PaymentActivities, 'cancelOrder'> {
  const real = createActivities({ plural: fx.plural, vault: fx.vault });
  let left = times;
  return {
    cancelOrder: async (input) => {
      seen?.(input, activityInfo().currentAttemptScheduledTimestampMs);
      if (left-- > 0) return real.getOrder({ orderId: input.orderId });
      return real.cancelOrder(input);
    },
  };
}

/** The failure of a capture Plural refuses for good (its order stays AUTHORIZED), as the activity raises it. */
export function captureRefusal(message = 'refused'): ApplicationFailure {
  return ApplicationFailure.create({ message, type: FAILURE_TYPE.CAPTURE_REJECTED, nonRetryable: true });
}

/**
 * A `captureOrder` activity Plural refuses (its order staying AUTHORIZED) the first `times` times, then the real one;
 * `inputs` holds every call's input.
 */
export function capturesRefused(
  fx: Fixture,
  times: number,
): Pick<PaymentActivities, 'captureOrder'> & {
  inputs: Parameters<PaymentActivities['captureOrder']>[0][];
} {
  const real = createActivities({ plural: fx.plural, vault: fx.vault });
  const inputs: Parameters<PaymentActivities['captureOrder']>[0][] = [];
  return {
    inputs,
    captureOrder: (input) => {
      inputs.push(input);
      return inputs.length <= times ? Promise.reject(captureRefusal()) : real.captureOrder(input);
    },
  };
}

/**
 * Plural captures `orderId` outside the engine (its dashboard, say) and its ORDER_PROCESSED webhook reaches the payment
 * (sent here, not by the sandbox, whose clock the time-skipping server's may have left behind); resolves once the
 * payment is PROCESSED.
 */
export async function capturedAtPlural(
  fx: Fixture,
  handle: PaymentHandle,
  orderId: string,
  webhookId: string,
): Promise<PaymentState> {
  await fx.plural.captureOrder(orderId, { merchant_capture_reference: 'dashboard-capture' });
  await handle.signal(webhookReceivedSignal, {
    webhookId,
    eventType: 'ORDER_PROCESSED',
    orderId,
    orderStatus: 'PROCESSED',
  });
  return waitForState(handle, (x) => x.status === 'PROCESSED', 'PROCESSED, as Plural says');
}

/**
 * Plural cancels `orderId` outside the engine (its dashboard, say, or releasing the hold) and its ORDER_CANCELLED
 * webhook reaches the payment (sent here, not by the sandbox, whose clock the time-skipping server's may have left
 * behind); resolves with the payment's result.
 */
export async function cancelledAtPlural(
  fx: Fixture,
  handle: PaymentHandle,
  orderId: string,
  webhookId: string,
): Promise<PaymentState> {
  await fx.plural.cancelOrder(orderId);
  await handle.signal(webhookReceivedSignal, {
    webhookId,
    eventType: 'ORDER_CANCELLED',
    orderId,
    orderStatus: 'CANCELLED',
  });
  return handle.result();
}

/** Resolves once the payment's cancel is parked for an operator past its authorization's expiry. */
export function cancelParkedPastExpiry(handle: PaymentHandle): Promise<PaymentState> {
  return waitForState(
    handle,
    (x) => x.parked?.operation === 'cancel' && Date.parse(x.parked.since) >= Date.parse(x.authorizationExpiresAt ?? ''),
    'the cancel parked past the expiry',
  );
}

/**
 * Get Order as Plural's order lagging its events: an AUTHORIZED order reads PENDING (its payments too) for the next
 * `reads.lagging` reads; with `reads.down` every read fails as Plural unreachable.
 */
export function laggingOrderReads(fx: Fixture) {
  const real = createActivities({ plural: fx.plural, vault: fx.vault });
  const reads = { lagging: 0, down: false };
  const getOrder: PaymentActivities['getOrder'] = async (input) => {
    if (reads.down)
      throw ApplicationFailure.create({ message: 'Plural unreachable (test)', type: 'GatewayUnavailable' });
    const order = await real.getOrder(input);
    if (reads.lagging <= 0 || order.status !== 'AUTHORIZED') return order;
    reads.lagging -= 1;
    return { ...order, status: 'PENDING', payments: order.payments.map((p) => ({ ...p, status: 'PENDING' })) };
  };
  return { reads, getOrder };
}

/** Refunds `value` of `orderId` by hand on Plural's dashboard; resolves with it once its webhook has come. */
export async function refundOnDashboard(fx: Fixture, orderId: string, value: number) {
  const hand = await fx.plural.refundOrder(orderId, {
    merchant_order_reference: `dash-${orderId}`,
    order_amount: { value, currency: 'INR' },
  });
  await waitFor('the hand refund’s webhook', () => fx.webhooks.received.some((w) => w.orderId === hand.order_id));
  return hand;
}
