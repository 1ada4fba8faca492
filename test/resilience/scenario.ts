/**
 * The resilience scenario: N concurrent payments of every kind driven over HTTP against the API while the sandbox
 * injects HTTP and webhook faults and the worker process and the Temporal server are SIGKILLed and restarted; then the
 * storm stops, every workflow is left to close (parked ones get an operator retry, as an operator would), and the
 * invariants are checked against the sandbox's own record. Every wait is bounded: a payment that does not close is
 * reported (workflow id, last known state, history length) instead of being waited for.
 */
import { Agent, request } from 'undici';
import { WorkflowUpdateStage } from '@temporalio/client';
import {
  getPaymentQuery,
  operatorRetryUpdate,
  PAYMENT_WORKFLOW_TYPE,
  paymentWorkflowId,
} from '../../workflows/definitions';
import type { PaymentState } from '../../workflows/definitions';
import type { FaultConfig } from '../../plural-sandbox';
import { CARDS } from '../support/cards';
import { checkInvariants, summaryLine } from './invariants';
import type { EngineOutcome, InvariantReport, PaymentUnderTest } from './invariants';
import { API_KEY } from './harness';
import type { Harness } from './harness';
import { diagnoseUnsettled, formatUnsettled, withinDeadline } from './temporal-calls';
import type { UnsettledPayment } from './temporal-calls';

/** The sandbox's default OTP (plural-sandbox/README.md). */
export const CORRECT_OTP = '123456';
const WRONG_OTP = '000000';

export const SCENARIOS = [
  'otp_capture',
  'otp_partial_capture',
  'otp_cancel',
  'otp_cancel_before_auth',
  'otp_sale',
  'otp_sale_refunds',
  'otp_wrong_then_capture',
  'otp_capture_declined',
  'challenge_capture_replayed',
  'challenge_sale_replayed',
  'challenge_decline',
  'challenge_no_callback',
  'abandoned_otp',
  'authorized_never_captured',
] as const;
export type ScenarioKind = (typeof SCENARIOS)[number];

/** Share of each kind, in twentieths (sums to 20). */
const MIX: readonly (readonly [ScenarioKind, number])[] = [
  ['otp_capture', 3],
  ['otp_partial_capture', 1],
  ['otp_cancel', 2],
  ['otp_cancel_before_auth', 1],
  ['otp_sale', 1],
  ['otp_sale_refunds', 1],
  ['otp_wrong_then_capture', 1],
  ['challenge_capture_replayed', 2],
  ['challenge_sale_replayed', 1],
  ['challenge_decline', 1],
  ['challenge_no_callback', 1],
  ['abandoned_otp', 1],
  ['authorized_never_captured', 3],
  ['otp_capture_declined', 1],
];

/** The kind of payment number `i` (deterministic, so a failing run can be repeated). */
export function scenarioOf(i: number): ScenarioKind {
  let slot = i % 20;
  for (const [kind, share] of MIX) {
    if (slot < share) return kind;
    slot -= share;
  }
  return 'otp_capture';
}

/** The storm while payments run. */
export const CHAOS_FAULTS: Partial<FaultConfig> = {
  errorRate: 0.05,
  errorAfterCommitRate: 0.03,
  rateLimitRate: 0.05,
  timeoutRate: 0.02,
  timeoutAfterCommitRate: 0.02,
  latencyMs: 5,
  latencyJitterMs: 60,
  webhookDropRate: 0.2,
  webhookDuplicateRate: 0.2,
  webhookReorderRate: 0.2,
  webhookReorderHoldMs: 800,
  webhookDelayRate: 0.2,
  webhookDelayMs: 1_500,
};

export interface ScenarioOptions {
  payments: number;
  /** How often a driver polls its payment, ms (plus jitter up to the same again); each poll is a workflow query. */
  pollMs: number;
  /** Payments are started over this window (all of them are in flight together well after it). */
  startWindowMs: number;
  /** When to SIGKILL the worker, ms after the first payment started; it is started again after `restartDelayMs`. */
  killAtMs: readonly number[];
  restartDelayMs: number;
  /**
   * When to SIGKILL the Temporal server, ms after the first payment started; it is started again on the same SQLite
   * file and port after `temporalRestartDelayMs`, and the API and the worker reconnect on their own.
   */
  temporalKillAtMs: readonly number[];
  temporalRestartDelayMs: number;
  faults: Partial<FaultConfig>;
  /** Longest wait for every workflow to close once the storm is over. */
  settleTimeoutMs: number;
  /** Deadline of each Temporal call the suite makes itself (describe, query, result, count, list, signal). */
  callTimeoutMs: number;
  /** Prefix of the merchant order references (unique per run). */
  runId: string;
}

export interface ScenarioResult {
  report: InvariantReport;
  summary: string;
  byScenario: Record<string, Record<string, number>>;
  /** Driver-side problems (an API answer no customer flow should ever get). */
  driverErrors: string[];
  /** Payment workflows still open when the settle deadline passed, with what Temporal knows about each. */
  unsettled: UnsettledPayment[];
  workerKills: number;
  /** Worker exits nobody asked for (a crash, or the worker giving up while the Temporal server was down). */
  workerUnexpectedExits: number;
  temporalKills: number;
  faultsInjected: Readonly<Record<string, number>>;
  durationMs: number;
}

export interface Resource {
  status: string;
  parked: unknown;
  order_id: string | null;
  payment_id: string | null;
}

export interface Answer {
  status: number;
  body: unknown;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function asResource(body: unknown): Resource | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  return typeof b.status === 'string' ? (b as unknown as Resource) : undefined;
}

/** Everything one run shares: the HTTP agent, the harness, counters. */
export class Driver {
  readonly agent = new Agent({ connections: 256, keepAliveTimeout: 10_000 });
  readonly errors: string[] = [];
  /** Calls that still answered 503 engine_unavailable (a retryable answer) when the driver gave up retrying. */
  unavailableGiveUps = 0;
  /** 503 answers the driver retried (the worker or the Temporal server was down or behind). */
  unavailableRetried = 0;
  /** Creates answered 202 (started, not actionable within the API's wait): the driver read on until it was. */
  createsAccepted = 0;
  /**
   * Flows that stopped after the create because the payment never became actionable for the customer (a create the
   * engine parked, or a payment still CREATED after two minutes): the workflow still settles, but the flow's own
   * ending (capture, cancel…) was not exercised.
   */
  flowsCutShort = 0;
  readonly callbacks: { url: string; fields: Record<string, string> }[] = [];
  callbacksDelivered = 0;
  /** Refund answers by HTTP status (201 taken, 200 repeat, 202 pending or parked, 400 refused as too large…). */
  readonly refundAnswers = new Map<number, number>();
  /** Challenges the customer reached only after the sandbox had expired the payment (the run was held up). */
  challengesExpired = 0;
  /** What each payment's driver is doing now, for the progress line. */
  readonly steps = new Map<string, string>();
  /** The status each payment last answered through the API, for the report on a payment that does not settle. */
  readonly lastSeen = new Map<string, string>();

  constructor(
    readonly h: Harness,
    readonly pollMs: number,
  ) {}

  /** One HTTP call to the API, not retried, and how long it took to answer. */
  async once(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer & { ms: number }> {
    const t0 = performance.now();
    const res = await request(`${this.h.apiUrl}${path}`, {
      method,
      dispatcher: this.agent,
      headers: {
        authorization: `Bearer ${API_KEY}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
    const text = await res.body.text();
    const parsed: unknown = text === '' ? undefined : JSON.parse(text);
    return { status: res.statusCode, body: parsed, ms: performance.now() - t0 };
  }

  /** One HTTP call to the API; network errors and 5xx are retried (the customer's browser or the merchant would). */
  async api(method: 'GET' | 'POST', path: string, body?: unknown, deadlineMs = 60_000): Promise<Answer> {
    const deadline = Date.now() + deadlineMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await request(`${this.h.apiUrl}${path}`, {
          method,
          dispatcher: this.agent,
          headers: {
            authorization: `Bearer ${API_KEY}`,
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          headersTimeout: 30_000,
          bodyTimeout: 30_000,
        });
        const text = await res.body.text();
        const parsed: unknown = text === '' ? undefined : JSON.parse(text);
        if (res.statusCode < 500 || Date.now() > deadline) return { status: res.statusCode, body: parsed };
        if (res.statusCode === 503) this.unavailableRetried += 1;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      // Backs off like a client should on 503 engine_unavailable, so retries do not add to the overload.
      await sleep(Math.min(5_000, 500 * attempt) + Math.floor(Math.random() * 500));
    }
  }

  /**
   * An answer no flow should get: any 5xx but 503 (the engine is unavailable, retry later: a legitimate answer while
   * the worker is dead or behind, counted apart), or a create refused with a 4xx.
   */
  problem(ref: string, what: string, status: number): void {
    if (status === 503) this.unavailableGiveUps += 1;
    else if (status >= 500 || (what === 'create' && status >= 400))
      this.errors.push(`${ref}: ${what} answered ${status}`);
  }

  async get(ref: string): Promise<Resource | undefined> {
    const a = await this.api('GET', `/v1/payments/${ref}`);
    const r = a.status === 200 ? asResource(a.body) : undefined;
    this.lastSeen.set(ref, r ? `${r.status}${r.parked !== null ? ' (parked)' : ''}` : `GET answered ${a.status}`);
    return r;
  }

  /** Polls the payment until `done` holds (or the time is up); returns the last resource seen. */
  async until(ref: string, done: (r: Resource) => boolean, timeoutMs: number): Promise<Resource | undefined> {
    const deadline = Date.now() + timeoutMs;
    let last: Resource | undefined;
    for (;;) {
      last = (await this.get(ref)) ?? last;
      if ((last && done(last)) || Date.now() > deadline) return last;
      await sleep(this.pollMs + Math.floor(Math.random() * this.pollMs));
    }
  }

  async create(ref: string, card: string, amount: number, preAuth: boolean): Promise<Resource | undefined> {
    this.steps.set(ref, 'create');
    const body = {
      merchant_order_reference: ref,
      amount: { value: amount, currency: 'INR' },
      pre_auth: preAuth,
      card: { number: card, name: 'Resilience Test', expiry_month: '12', expiry_year: '2031', cvv: '123' },
    };
    const a = await this.api('POST', '/v1/payments', body, 120_000);
    // 202: started, not actionable within the API's wait (a slow or restarting worker); read it until it is.
    if (a.status !== 201 && a.status !== 200 && a.status !== 202) {
      this.problem(ref, 'create', a.status);
      this.flowsCutShort += 1;
      return undefined;
    }
    if (a.status === 202) this.createsAccepted += 1;
    const r = await this.until(ref, (x) => x.status !== 'CREATED' || x.parked !== null, 120_000);
    if (r?.status !== 'AWAITING_OTP' && r?.status !== 'AWAITING_CHALLENGE') this.flowsCutShort += 1;
    return r;
  }

  /** Submits OTPs until the payment leaves AWAITING_OTP (a lost submission is submitted again, as a customer would). */
  async submitOtp(ref: string, otp: string): Promise<Resource | undefined> {
    this.steps.set(ref, 'otp');
    let r: Resource | undefined;
    for (let attempt = 0; attempt < 8; attempt++) {
      const a = await this.api('POST', `/v1/payments/${ref}/otp`, { otp });
      this.problem(ref, 'OTP', a.status);
      if (otp === WRONG_OTP) return asResource(a.body);
      r = await this.until(ref, (x) => x.status !== 'AWAITING_OTP', 12_000 + 4 * this.pollMs);
      if (r?.status !== 'AWAITING_OTP') return r;
    }
    return r;
  }

  async waitAuthorized(ref: string): Promise<Resource | undefined> {
    return this.until(ref, (r) => r.status !== 'AWAITING_OTP' && r.status !== 'AWAITING_CHALLENGE', 90_000);
  }

  async capture(ref: string, amount?: number): Promise<void> {
    this.steps.set(ref, 'capture');
    const r = await this.waitAuthorized(ref);
    if (r?.status !== 'AUTHORIZED') return;
    const body = amount === undefined ? {} : { amount: { value: amount, currency: 'INR' } };
    const a = await this.api('POST', `/v1/payments/${ref}/capture`, body);
    this.problem(ref, 'capture', a.status);
  }

  /**
   * One refund request; returns its final HTTP status (any 5xx but 503 is a problem). A 202 leaves the outcome open
   * (not answered within the API's wait, or parked): the request is sent again, as a merchant would, until the payment
   * says what became of it (200 with the refund, or the refusal).
   */
  async refund(ref: string, merchantRefundReference: string, amount?: number): Promise<number> {
    this.steps.set(ref, 'refund');
    const body = {
      merchant_refund_reference: merchantRefundReference,
      ...(amount !== undefined ? { amount: { value: amount, currency: 'INR' } } : {}),
    };
    let status = 0;
    for (let attempt = 1; attempt <= 20; attempt++) {
      const a = await this.api('POST', `/v1/payments/${ref}/refunds`, body);
      status = a.status;
      this.problem(ref, 'refund', status);
      this.refundAnswers.set(status, (this.refundAnswers.get(status) ?? 0) + 1);
      if (status !== 202) break;
      await sleep(1_000 + Math.floor(Math.random() * 1_000));
    }
    return status;
  }

  /**
   * A merchant's refunds of a processed sale: a quarter, then two halves at once (together more than is left, so at
   * most one is taken), then the first again (the same refund: 200, or 202 while it is parked).
   */
  async refundSale(ref: string, amount: number): Promise<void> {
    const r = await this.until(ref, (x) => x.status !== 'AWAITING_OTP', 60_000);
    if (r?.status !== 'PROCESSED') return;
    const quarter = Math.floor(amount / 4);
    const half = Math.floor(amount / 2);
    const taken = (s: number): boolean => s === 201 || s === 200;
    const first = await this.refund(ref, 'q1', quarter);
    const both = await Promise.all([this.refund(ref, 'h1', half), this.refund(ref, 'h2', half)]);
    if (taken(first) && both.filter(taken).length > 1) {
      this.errors.push(`${ref}: two refunds of ${half} taken after one of ${quarter}, of ${amount} captured`);
    }
    if (taken(first)) {
      const again = await this.refund(ref, 'q1', quarter);
      // 200, or 202 while the refund is still parked for an operator (the settle phase retries parked steps).
      if (again !== 200 && again !== 202) this.errors.push(`${ref}: a repeat of refund q1 answered ${again}`);
    }
  }

  async cancel(ref: string): Promise<void> {
    this.steps.set(ref, 'cancel');
    const a = await this.api('POST', `/v1/payments/${ref}/cancel`, {});
    this.problem(ref, 'cancel', a.status);
  }

  /**
   * The bank's challenge page, answered through the sandbox's control API; returns the signed callback, or undefined
   * when the sandbox's payment is no longer pending (it expired while a kill held the payment up: the engine must
   * still learn that, from a webhook or reconciliation, and the invariants check it did).
   */
  async completeChallenge(
    ref: string,
    approve: boolean,
  ): Promise<{ url: string; fields: Record<string, string> } | undefined> {
    const order = this.h.sandbox.orderByReference(ref);
    if (!order) throw new Error(`${ref}: no order at the sandbox for a payment awaiting its challenge`);
    const payment = order.payments.findLast((p) => p.status === 'PENDING');
    if (!payment) {
      this.challengesExpired += 1;
      return undefined;
    }
    const res = await request(`${this.h.sandbox.baseUrl}/__sandbox/payments/${payment.id}/authenticate`, {
      method: 'POST',
      dispatcher: this.agent,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.h.sandbox.controlToken}` },
      body: JSON.stringify({ result: approve ? 'approve' : 'decline' }),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const answer = (await res.body.json()) as { callback?: { url?: string; fields?: Record<string, string> } };
    if (res.statusCode !== 200 || !answer.callback?.url || !answer.callback.fields) {
      throw new Error(`${ref}: the sandbox's challenge answered ${res.statusCode}`);
    }
    return { url: answer.callback.url, fields: answer.callback.fields };
  }

  /** The browser's return to the API's callback, as a form POST (or the redirect's GET); 303 when delivered. */
  async deliverCallback(
    cb: { url: string; fields: Record<string, string> },
    asGet = false,
    maxAttempts = 10,
  ): Promise<number> {
    const form = new URLSearchParams(cb.fields).toString();
    for (let attempt = 1; ; attempt++) {
      const res = await request(asGet ? `${cb.url}?${form}` : cb.url, {
        method: asGet ? 'GET' : 'POST',
        dispatcher: this.agent,
        ...(asGet ? {} : { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form }),
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
      await res.body.dump();
      if (res.statusCode === 303) this.callbacksDelivered += 1;
      if (res.statusCode < 500 || attempt >= maxAttempts) return res.statusCode;
      await sleep(300 * attempt);
    }
  }

  async challenge(ref: string, approve: boolean, replays: number, deliver = true): Promise<void> {
    this.steps.set(ref, 'challenge');
    const r = await this.until(ref, (x) => x.status !== 'CREATED', 60_000);
    if (r?.status !== 'AWAITING_CHALLENGE') return;
    const cb = await this.completeChallenge(ref, approve);
    if (!cb || !deliver) return;
    this.callbacks.push(cb);
    const status = await this.deliverCallback(cb);
    if (status >= 500) this.errors.push(`${ref}: callback answered ${status}`);
    for (let i = 0; i < replays; i++) {
      await sleep(Math.floor(Math.random() * 1_500));
      const replay = await this.deliverCallback(cb, i % 2 === 1);
      if (replay >= 500) this.errors.push(`${ref}: replayed callback answered ${replay}`);
    }
  }

  async run(kind: ScenarioKind, ref: string, amount: number): Promise<void> {
    switch (kind) {
      case 'otp_capture':
      case 'otp_partial_capture':
      case 'otp_capture_declined': {
        const card = kind === 'otp_capture_declined' ? CARDS.captureDeclined : CARDS.nativeOtp;
        if ((await this.create(ref, card, amount, true))?.status !== 'AWAITING_OTP') return;
        await this.submitOtp(ref, CORRECT_OTP);
        await this.capture(ref, kind === 'otp_partial_capture' ? amount - 1_000 : undefined);
        return;
      }
      case 'otp_wrong_then_capture':
        if ((await this.create(ref, CARDS.nativeOtp, amount, true))?.status !== 'AWAITING_OTP') return;
        await this.submitOtp(ref, WRONG_OTP);
        await this.submitOtp(ref, CORRECT_OTP);
        await this.capture(ref);
        return;
      case 'otp_cancel':
        if ((await this.create(ref, CARDS.nativeOtp, amount, true))?.status !== 'AWAITING_OTP') return;
        await this.submitOtp(ref, CORRECT_OTP);
        if ((await this.waitAuthorized(ref))?.status === 'AUTHORIZED') await this.cancel(ref);
        return;
      case 'otp_cancel_before_auth':
        if ((await this.create(ref, CARDS.nativeOtp, amount, true))?.status !== 'AWAITING_OTP') return;
        await this.cancel(ref);
        return;
      case 'otp_sale':
        if ((await this.create(ref, CARDS.nativeOtp, amount, false))?.status !== 'AWAITING_OTP') return;
        await this.submitOtp(ref, CORRECT_OTP);
        return;
      case 'otp_sale_refunds':
        if ((await this.create(ref, CARDS.nativeOtp, amount, false))?.status !== 'AWAITING_OTP') return;
        await this.submitOtp(ref, CORRECT_OTP);
        await this.refundSale(ref, amount);
        return;
      case 'challenge_capture_replayed':
        await this.create(ref, CARDS.challenge, amount, true);
        await this.challenge(ref, true, 2);
        await this.capture(ref);
        return;
      case 'challenge_sale_replayed':
        await this.create(ref, CARDS.challenge, amount, false);
        await this.challenge(ref, true, 3);
        return;
      case 'challenge_decline':
        await this.create(ref, CARDS.challenge, amount, true);
        await this.challenge(ref, false, 1);
        return;
      case 'challenge_no_callback':
        // The customer approves, the browser never comes back: only a webhook or reconciliation can tell.
        await this.create(ref, CARDS.challenge, amount, true);
        await this.challenge(ref, true, 0, false);
        await this.capture(ref);
        return;
      case 'abandoned_otp':
        await this.create(ref, CARDS.nativeOtp, amount, true);
        return;
      case 'authorized_never_captured':
        if ((await this.create(ref, CARDS.nativeOtp, amount, true))?.status !== 'AWAITING_OTP') return;
        await this.submitOtp(ref, CORRECT_OTP);
        return;
    }
  }
}

/** Temporal errors are matched by name (they cross process boundaries), never by `instanceof`. */
const isNamed = (err: unknown, name: string): boolean =>
  err !== null && typeof err === 'object' && (err as { name?: unknown }).name === name;

const reason = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/** The engine's own view of a payment, read from Temporal (not through the API); every call has a deadline. */
export async function engineOutcome(h: Harness, ref: string, callTimeoutMs: number): Promise<EngineOutcome> {
  const id = paymentWorkflowId(ref);
  const handle = h.client.workflow.getHandle(id);
  const none: EngineOutcome = {
    found: false,
    closed: false,
    status: undefined,
    pluralOrderId: undefined,
    amount: undefined,
    amountCaptured: undefined,
    amountRefunded: undefined,
    parked: undefined,
  };
  let closed: boolean;
  let execution: string;
  try {
    execution = (await withinDeadline(h.client, `describe ${id}`, callTimeoutMs, () => handle.describe())).status.name;
    closed = execution !== 'RUNNING';
  } catch (err) {
    if (isNamed(err, 'WorkflowNotFoundError')) return none;
    // Not known to be missing: count it as open, with the reason.
    return { ...none, found: true, problem: `describe failed: ${reason(err)}` };
  }
  let state: PaymentState;
  try {
    state = await withinDeadline(h.client, `${closed ? 'result' : 'query'} ${id}`, callTimeoutMs, () =>
      closed ? (handle.result() as Promise<PaymentState>) : handle.query(getPaymentQuery),
    );
  } catch (err) {
    return { ...none, found: true, closed, problem: `workflow ${execution}: ${reason(err)}` };
  }
  return {
    found: true,
    closed,
    status: state.status,
    pluralOrderId: state.pluralOrderId,
    amount: state.amount,
    amountCaptured: state.amountCaptured,
    amountRefunded: state.amountRefunded,
    refundOrderIds: state.refunds.map((r) => r.refundOrderId),
    parked: state.parked?.operation,
    detail: [
      state.failure ? `failure ${state.failure.code}: ${state.failure.message}` : '',
      ...state.audit.slice(-6).map((a) => `${a.from}->${a.to} ${a.cause}`),
    ]
      .filter((x) => x !== '')
      .join(' | '),
  };
}

export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T);
    }),
  );
  return out;
}

/** Options of {@link settle}. */
export interface SettleOptions {
  /** Longest wait for every payment workflow to close. */
  timeoutMs: number;
  /** Deadline of each Temporal call. */
  callTimeoutMs: number;
  /** What the API last answered for a workflow id, for the report on those that do not close. */
  lastSeen?: (workflowId: string) => string | undefined;
}

/** Outcome of {@link settle}. */
export interface Settled {
  operatorRetries: number;
  /** Payment workflows still open at the deadline (empty when every one closed). */
  unsettled: UnsettledPayment[];
}

/**
 * Waits until no payment workflow runs; parked ones get one operator retry per park (the storm is over). At the
 * deadline, returns every payment still open with what Temporal knows about it, instead of waiting for it.
 * @throws {Error} when, at the deadline, the open payment workflows cannot even be listed
 */
export async function settle(h: Harness, o: SettleOptions): Promise<Settled> {
  const deadline = Date.now() + o.timeoutMs;
  const retried = new Map<string, string>();
  let operatorRetries = 0;
  const running = `WorkflowType = '${PAYMENT_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
  const listIds = (query: string, what: string): Promise<string[]> =>
    withinDeadline(h.client, what, o.callTimeoutMs, async () => {
      const ids: string[] = [];
      for await (const info of h.client.workflow.list({ query })) ids.push(info.workflowId);
      return ids;
    });
  for (;;) {
    let count: number | undefined;
    try {
      count = (await withinDeadline(h.client, 'count', o.callTimeoutMs, () => h.client.workflow.count(running))).count;
    } catch (err) {
      process.stderr.write(`resilience settling: could not count the open workflows (${reason(err)})\n`);
    }
    if (count === 0) return { operatorRetries, unsettled: [] };
    if (Date.now() > deadline) break;
    if (count !== undefined) process.stderr.write(`resilience settling: ${count} workflows still open\n`);
    // Parked payments are found by their search attribute, not by querying every open workflow (queries need the
    // worker, which is busiest exactly now).
    const parkedIds = await listIds(`${running} AND PaymentParkedOperation != 'none'`, 'list parked').catch(
      (): string[] => [],
    );
    for (const id of parkedIds) {
      const handle = h.client.workflow.getHandle(id);
      const parked = await withinDeadline(h.client, `query ${id}`, o.callTimeoutMs, () =>
        handle.query(getPaymentQuery),
      ).then(
        (s) => s.parked,
        () => undefined,
      );
      if (parked && retried.get(id) !== `${parked.since}#${parked.retries}`) {
        retried.set(id, `${parked.since}#${parked.retries}`);
        // Accepted is enough: the step runs again in the workflow; the loop sees the result on its next pass.
        await withinDeadline(h.client, `operator retry ${id}`, o.callTimeoutMs, () =>
          handle.startUpdate(operatorRetryUpdate, {
            args: [{ operator: 'resilience-suite' }],
            waitForStage: WorkflowUpdateStage.ACCEPTED,
          }),
        ).catch(() => undefined);
        operatorRetries += 1;
      }
    }
    await sleep(1_000);
  }
  let open: string[];
  try {
    open = await listIds(running, 'list running');
  } catch (err) {
    throw new Error(`payment workflows are still open after ${o.timeoutMs} ms and cannot be listed: ${reason(err)}`, {
      cause: err,
    });
  }
  // A short query deadline: the worker may be what is stuck, and the report must not take as long as the run.
  const unsettled = await mapLimit(open, 16, (id) =>
    diagnoseUnsettled(h.client, id, o.lastSeen?.(id), Math.min(o.callTimeoutMs, 5_000)),
  );
  return { operatorRetries, unsettled };
}

/** The storm is over: no more faults. */
const CALM: Partial<FaultConfig> = {
  errorRate: 0,
  errorAfterCommitRate: 0,
  rateLimitRate: 0,
  timeoutRate: 0,
  timeoutAfterCommitRate: 0,
  latencyMs: 0,
  latencyJitterMs: 0,
  webhookDropRate: 0,
  webhookDuplicateRate: 0,
  webhookReorderRate: 0,
  webhookDelayRate: 0,
};

/** Runs the scenario and checks the invariants. */
export async function runScenario(h: Harness, o: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(0)}s`;
  const driver = new Driver(h, o.pollMs);
  const refs = Array.from({ length: o.payments }, (_, i) => `${o.runId}-${i}`);
  const amountOf = (i: number): number => 10_000 + i * 7;
  h.sandbox.setFaults(o.faults);

  // The worker and the Temporal server die mid-flight (SIGKILL) and come back, one at a time, in time order.
  const kills = [
    ...o.killAtMs.map((at) => ({ at, what: 'worker' as const })),
    ...o.temporalKillAtMs.map((at) => ({ at, what: 'temporal' as const })),
  ].sort((a, b) => a.at - b.at);
  /** From each server SIGKILL until the restarted server serves again. */
  let temporalDownMs = 0;
  const chaos = (async () => {
    for (const { at, what } of kills) {
      await sleep(Math.max(0, started + at - Date.now()));
      const target = what === 'worker' ? h.worker : h.temporal;
      const killedAt = Date.now();
      await target.kill();
      process.stderr.write(`resilience t=${elapsed()} ${what} SIGKILLed\n`);
      await sleep(what === 'worker' ? o.restartDelayMs : o.temporalRestartDelayMs);
      await target.start();
      if (what === 'temporal') temporalDownMs += Date.now() - killedAt;
      process.stderr.write(`resilience t=${elapsed()} ${what} restarted\n`);
    }
  })().then(
    () => undefined,
    (err: unknown) => err,
  );

  // A progress line every 10 s on stderr, so a slow or stuck run shows where it is.
  const progress = setInterval(() => {
    const counts: Record<string, number> = {};
    for (const step of driver.steps.values()) counts[step] = (counts[step] ?? 0) + 1;
    process.stderr.write(
      `resilience t=${elapsed()} drivers=${JSON.stringify(counts)} worker_kills=${h.worker.kills} temporal_kills=${h.temporal.kills}\n`,
    );
  }, 10_000);
  progress.unref();

  const gap = o.payments > 1 ? o.startWindowMs / (o.payments - 1) : 0;
  await Promise.all(
    refs.map(async (ref, i) => {
      await sleep(Math.floor(i * gap));
      const kind = scenarioOf(i);
      try {
        await driver.run(kind, ref, amountOf(i));
      } catch (err) {
        driver.errors.push(`${ref} (${kind}): ${err instanceof Error ? err.message : String(err)}`);
      }
      driver.steps.set(ref, 'done');
    }),
  );
  const chaosError = await chaos;
  if (chaosError !== undefined) {
    clearInterval(progress);
    await driver.agent.close();
    throw new Error(`a kill or restart failed: ${reason(chaosError)}`, { cause: chaosError });
  }

  // Replay every browser callback once more (the payments have moved on).
  h.sandbox.setFaults(CALM);
  await mapLimit(driver.callbacks, 16, async (cb) => {
    const status = await driver.deliverCallback(cb, false, 1);
    driver.problem(cb.fields.order_id ?? '?', 'late callback replay', status);
  });
  const workflowRef = new Map(refs.map((ref) => [paymentWorkflowId(ref), ref]));
  const settled = await settle(h, {
    timeoutMs: o.settleTimeoutMs,
    callTimeoutMs: o.callTimeoutMs,
    lastSeen: (id) => {
      const ref = workflowRef.get(id);
      return ref === undefined
        ? undefined
        : `${driver.lastSeen.get(ref) ?? 'nothing'} (driver step ${driver.steps.get(ref) ?? '?'})`;
    },
  });
  clearInterval(progress);
  for (const u of settled.unsettled) process.stderr.write(`resilience unsettled: ${formatUnsettled(u)}\n`);

  const outcomes = await mapLimit(refs, 16, (ref) => engineOutcome(h, ref, o.callTimeoutMs));
  const payments: PaymentUnderTest[] = refs.map((ref, i) => ({
    merchantOrderReference: ref,
    amount: { value: amountOf(i), currency: 'INR' },
    engine: outcomes[i] as EngineOutcome,
  }));
  const report = checkInvariants(
    payments,
    h.sandbox.orders().filter((x) => x.merchantOrderReference.startsWith(`${o.runId}-`)),
    Date.now(),
  );

  const byScenario: Record<string, Record<string, number>> = {};
  payments.forEach((p, i) => {
    const kind = scenarioOf(i);
    const status = p.engine.status ?? 'MISSING';
    const row = (byScenario[kind] ??= {});
    row[status] = (row[status] ?? 0) + 1;
  });
  const faultsInjected = { ...h.sandbox.injectedFaults() } as Record<string, number>;
  const totalFaults = Object.entries(faultsInjected)
    .filter(([k]) => k !== 'latency')
    .reduce((sum, [, n]) => sum + n, 0);
  const deliveries = h.sandbox.webhookDeliveries();
  const durationMs = Date.now() - started;
  const summary = summaryLine(report, {
    unsettled: settled.unsettled.length,
    worker_kills: h.worker.kills,
    temporal_kills: h.temporal.kills,
    temporal_down_s: (temporalDownMs / 1000).toFixed(1),
    worker_unexpected_exits: h.worker.unexpectedExits,
    faults_injected: totalFaults,
    faults: Object.entries(faultsInjected)
      .map(([k, v]) => `${k}:${v}`)
      .join(','),
    webhooks_delivered: deliveries.filter((d) => d.outcome === 'delivered').length,
    callbacks_delivered: driver.callbacksDelivered,
    challenges_expired: driver.challengesExpired,
    operator_retries: settled.operatorRetries,
    driver_errors: driver.errors.length,
    retried_503: driver.unavailableRetried,
    creates_202: driver.createsAccepted,
    flows_cut_short: driver.flowsCutShort,
    gave_up_on_503: driver.unavailableGiveUps,
    refunds: [...driver.refundAnswers.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, n]) => `${status}:${n}`)
      .join(','),
    duration_s: (durationMs / 1000).toFixed(1),
  });
  await driver.agent.close();
  return {
    report,
    summary,
    byScenario,
    driverErrors: driver.errors,
    unsettled: settled.unsettled,
    workerKills: h.worker.kills,
    workerUnexpectedExits: h.worker.unexpectedExits,
    temporalKills: h.temporal.kills,
    faultsInjected,
    durationMs,
  };
}
