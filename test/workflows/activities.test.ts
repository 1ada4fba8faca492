import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createActivities, referenceFor, snapshotOf } from '../../activities';
import { FOLLOW_UP_TIMEOUT_MS, followUpBudgetMs } from '../../activities/context';
import { CardVaultError, InMemoryCardVault } from '../../card-vault';
import type { CardVault } from '../../card-vault';
import { errorFromResponse, PluralAbortedError, PluralResponseValidationError } from '../../plural-client';
import type { Order, PluralClient } from '../../plural-client';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import { CARDS } from '../support/cards';
import { CORRECT_OTP, CVV, newReference, OTP_TTL_MS, putCard, WRONG_OTPS } from './harness';
import { pluralClientFor } from '../support/plural';

let sandbox: RunningSandbox;
let plural: PluralClient;
let vault: InMemoryCardVault;
let acts: ReturnType<typeof createActivities>;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 3, otp: { correctOtp: CORRECT_OTP } });
  plural = pluralClientFor(sandbox, 2_000);
  vault = new InMemoryCardVault();
  acts = createActivities({ plural, vault });
});
afterAll(async () => {
  await sandbox?.stop();
  await plural?.close();
  vault?.close();
});

/** Runs an activity as attempt `n` of its retry policy. */
function run<A extends unknown[], R>(n: number, fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return new MockActivityEnvironment({ attempt: n }).run<A, R, typeof fn>(fn, ...args);
}
const money = { value: 5000, currency: 'INR' };

/** The sandbox's Plural client with some of its calls replaced (what the real Plural can do that the sandbox does not). */
function pluralWith(calls: Partial<Record<keyof PluralClient, (...args: never[]) => unknown>>): PluralClient {
  return new Proxy(plural, {
    get: (target, prop, receiver) =>
      Object.hasOwn(calls, prop) ? calls[prop as keyof PluralClient] : (Reflect.get(target, prop, receiver) as unknown),
  });
}

/** A Plural call answered with HTTP `status` and the error `body`, as the client reads Plural's error answers. */
const answered =
  (status: number, body: Record<string, unknown>, operation = 'test') =>
  (): Promise<never> =>
    Promise.reject(errorFromResponse(status, body, { operation, requestId: 'test' }));

/** The vault's calls as a plain object, to replace one of them. */
const vaultCalls = (v: CardVault): CardVault => ({
  put: (secret, ttlMs) => v.put(secret, ttlMs),
  get: (handle) => v.get(handle),
  destroy: (handle) => v.destroy(handle),
});

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected the activity to fail');
}

async function newOrder(preAuth = true) {
  const ref = newReference('act');
  const order = await run(1, acts.createOrder, {
    workflowId: `payment:${ref}`,
    merchantOrderReference: ref,
    amount: money,
    preAuth,
  });
  return { ref, order };
}

/** A new pre-auth order and the Create Payment input for `card`, put in the vault. */
async function cardPaymentInput(card: string) {
  const { ref, order } = await newOrder();
  const handle = await putCard(vault, card);
  const input = {
    workflowId: `payment:${ref}`,
    orderId: order.orderId,
    amount: money,
    preAuth: true,
    instrument: { kind: 'card' as const, cardHandle: handle, save: false },
  };
  return { ref, order, handle, input };
}

describe('payment activities', () => {
  it('returns the existing order when a retried create-order finds it, never creating a second one', async () => {
    const { ref, order } = await newOrder();
    const again = await run(2, acts.createOrder, {
      workflowId: `payment:${ref}`,
      merchantOrderReference: ref,
      amount: money,
      preAuth: true,
    });
    expect(again.orderId).toBe(order.orderId);
    // Even a first attempt that meets DUPLICATE_REQUEST resolves to the existing order.
    const dup = await run(1, acts.createOrder, {
      workflowId: `payment:${ref}`,
      merchantOrderReference: ref,
      amount: money,
      preAuth: true,
    });
    expect(dup.orderId).toBe(order.orderId);
    expect(sandbox.orders().filter((o) => o.merchantOrderReference === ref)).toHaveLength(1);
  });

  it("never adopts another payment's order under a reused reference: DUPLICATE_REFERENCE", async () => {
    // An order under the reference from long ago (a payment Temporal no longer remembers, or one made outside the
    // engine on the same Plural account), captured: adopting it would report this payment PROCESSED for its money.
    const ref = newReference('act');
    const earlier = await plural.createOrder(
      { merchant_order_reference: ref, order_amount: money, pre_auth: true },
      { idempotencyKey: `elsewhere:${ref}` },
    );
    const createdAt = Date.parse(earlier.created_at!);
    const input = (overrides: object = {}) => ({
      workflowId: `payment:${ref}`,
      merchantOrderReference: ref,
      amount: money,
      preAuth: true,
      notBefore: new Date(createdAt + 24 * 3_600_000).toISOString(),
      ...overrides,
    });
    for (const [attempt, overrides] of [
      [1, {}], // DUPLICATE_REQUEST, then the lookup
      [2, {}], // a retry's lookup first
      [1, { amount: { value: 4999, currency: 'INR' }, notBefore: earlier.created_at }],
      [1, { preAuth: false, notBefore: earlier.created_at }],
    ] as const) {
      const f = await failureOf(run(attempt, acts.createOrder, input(overrides)));
      expect(f.nonRetryable).toBe(true);
      expect(f.details?.[0]).toMatchObject({ code: 'DUPLICATE_REFERENCE' });
      expect(f.message).toContain(`Plural already has order ${earlier.order_id}`);
    }
    // Its own order, created a moment after the payment began (Plural's clock a little behind), is adopted.
    const own = await run(2, acts.createOrder, input({ notBefore: new Date(createdAt + 60_000).toISOString() }));
    expect(own.orderId).toBe(earlier.order_id);
    expect(sandbox.orders().filter((o) => o.merchantOrderReference === ref)).toHaveLength(1);
  });

  it('classifies Plural 5xx as a retryable GatewayUnavailable failure', async () => {
    sandbox.setFaults({ errorRate: 1, paths: ['/api/pay/v1/orders'] });
    try {
      const ref = newReference('act');
      const f = await failureOf(
        run(1, acts.createOrder, {
          workflowId: `payment:${ref}`,
          merchantOrderReference: ref,
          amount: money,
          preAuth: true,
        }),
      );
      expect(f.type).toBe('GatewayUnavailable');
      expect(f.nonRetryable).toBe(false);
      // What the API shows while the step is retried: the HTTP status and Plural's code, not the message.
      expect(f.details?.[0]).toMatchObject({ httpStatus: expect.any(Number), errorType: 'PluralApiError' });
      expect((f.details?.[0] as { httpStatus: number }).httpStatus).toBeGreaterThanOrEqual(500);
    } finally {
      sandbox.setFaults({ errorRate: 0, paths: [] });
    }
  });

  it('a card-vault outage is an outage, never a rejection: retried, then parked, and no reason to fail a created payment', async () => {
    const { order, handle, input } = await cardPaymentInput(CARDS.challenge);
    const outage = () => Promise.reject(new CardVaultError('VAULT_UNAVAILABLE', 'card vault unreachable (test)'));
    // The vault unreachable when the card is read: before any Plural call, a retryable outage with the vault's code.
    const unreadable = createActivities({ plural, vault: { ...vaultCalls(vault), get: outage } });
    const read = await failureOf(run(1, unreadable.createPayment, input));
    expect(read).toMatchObject({ type: 'GatewayUnavailable', nonRetryable: false });
    expect(read.details?.[0]).toMatchObject({ code: 'VAULT_UNAVAILABLE' });
    expect(sandbox.order(order.orderId)?.payments ?? []).toHaveLength(0);
    // The vault unreachable when the hand-off is destroyed after Plural created the payment: the payment is created.
    const undestroyable = createActivities({ plural, vault: { ...vaultCalls(vault), destroy: outage } });
    const created = await run(1, undestroyable.createPayment, input);
    expect(created.order.payments).toHaveLength(1);
    expect(sandbox.order(order.orderId)?.payments).toHaveLength(1);
    expect(await vault.get(handle)).toBeDefined(); // left to its TTL
  });

  it('discards unused hand-offs at once, and never fails for a vault that cannot be reached', async () => {
    const card = await putCard(vault, CARDS.challenge);
    const cvv = await vault.put({ cvv: '123' }, 60_000);
    await run(1, createActivities({ plural, vault }).discardHandOff, { handles: [card, cvv] });
    expect([await vault.get(card).then(Boolean), await vault.get(cvv).then(Boolean)]).toEqual([false, false]);
    // Already gone (the API destroyed it), or the vault down: the entries are left to their TTL, nothing fails.
    const kept = await putCard(vault, CARDS.challenge);
    const outage = () => Promise.reject(new CardVaultError('VAULT_UNAVAILABLE', 'card vault unreachable (test)'));
    const down = createActivities({ plural, vault: { ...vaultCalls(vault), destroy: outage } });
    await expect(run(1, down.discardHandOff, { handles: [card, kept] })).resolves.toBeUndefined();
    expect(await vault.get(kept).then(Boolean)).toBe(true);
  });

  it('an unrecognised failure (a proxy the HTTP parser cannot read, an aborted attempt) is an outage, never a rejection', async () => {
    const { input } = await cardPaymentInput(CARDS.challenge);
    const parserError = Object.assign(new Error('Parse Error: Invalid header value char 4111111111111111'), {
      name: 'HTTPParserError',
      code: 'HPE_INVALID_HEADER_TOKEN',
    });
    const broken = createActivities({
      plural: Object.assign(Object.create(plural) as typeof plural, {
        createPayment: () => Promise.reject(parserError),
      }),
      vault,
    });
    const f = await failureOf(run(1, broken.createPayment, input));
    expect(f).toMatchObject({ type: 'GatewayUnavailable', nonRetryable: false });
    expect(f.details?.[0]).toMatchObject({ code: 'UNEXPECTED_FAILURE' });
    expect(f.message).toBe('unexpected HTTPParserError (HPE_INVALID_HEADER_TOKEN): retried as an outage');
    const aborted = createActivities({
      plural: Object.assign(Object.create(plural) as typeof plural, {
        createPayment: () =>
          Promise.reject(
            new PluralAbortedError('the call was aborted', { operation: 'create payment', retryable: false }),
          ),
      }),
      vault,
    });
    expect(await failureOf(run(2, aborted.createPayment, input))).toMatchObject({
      type: 'GatewayUnavailable',
      nonRetryable: false,
    });
  });

  it("a retried Create Payment that adopts the payment keeps the challenge URL when Plural's Get Order carries it", async () => {
    const { order, input } = await cardPaymentInput(CARDS.challenge);
    const first = await run(1, acts.createPayment, input); // its answer, with the challenge URL, is lost
    expect(first.challengeUrl).toBeDefined();
    const url = 'https://pluraluat.v2.pinepg.in/web/auth/landing/?token=from-get-order';
    const withUrl = pluralWith({
      getOrder: async (...args: Parameters<PluralClient['getOrder']>) => ({
        ...(await plural.getOrder(...args)),
        challenge_url: url,
      }),
    });
    const adopted = await run(2, createActivities({ plural: withUrl, vault }).createPayment, input);
    expect(adopted).toMatchObject({ challengeUrl: url, cardPaymentId: first.cardPaymentId });
    // The sandbox's Get Order, like the guides' examples, has none: the payment is adopted without one.
    expect((await run(2, acts.createPayment, input)).challengeUrl).toBeUndefined();
    expect(sandbox.order(order.orderId)?.paymentAttempts).toBe(1);
  });

  it('an answer from Plural that breaks its documented shape is retried and then parked, never a rejection', async () => {
    const { ref, order } = await newOrder();
    const unreadable = pluralWith({
      captureOrder: () =>
        Promise.reject(
          new PluralResponseValidationError('capture: unexpected response from Plural (HTTP 200): status', {
            operation: 'capture',
            requestId: 'test',
            statusCode: 200,
            retryable: false,
            issues: [{ path: 'status', message: 'invalid option' }],
          }),
        ),
    });
    const f = await failureOf(
      run(1, createActivities({ plural: unreadable, vault }).captureOrder, {
        workflowId: `payment:${ref}`,
        orderId: order.orderId,
      }),
    );
    expect(f).toMatchObject({ type: 'GatewayUnavailable', nonRetryable: false });
    expect(f.details?.[0]).toMatchObject({ code: 'UNREADABLE_ANSWER', httpStatus: 200 });
  });

  it('keeps the card hand-off after a transient failure and destroys it after a definitive rejection', async () => {
    const { handle, input } = await cardPaymentInput(CARDS.expired);
    sandbox.setFaults({ errorRate: 1, paths: ['/payments'] });
    try {
      expect((await failureOf(run(1, acts.createPayment, input))).nonRetryable).toBe(false);
    } finally {
      sandbox.setFaults({ errorRate: 0, paths: [] });
    }
    expect(await vault.get(handle)).toBeDefined();
    // The retry's refusal, with no payment on the order, may be of this request only because that attempt's payment
    // exists (Plural's order can lag it): an outage too, the hand-off kept.
    const retried = await failureOf(run(2, acts.createPayment, input));
    expect(retried).toMatchObject({ type: 'GatewayUnavailable', nonRetryable: false });
    expect(await vault.get(handle)).toBeDefined();
    // A first attempt's refusal is definitive: the hand-off is destroyed.
    const rejected = await failureOf(run(1, acts.createPayment, input));
    expect(rejected).toMatchObject({ type: 'PaymentRejected', nonRetryable: true });
    expect(rejected.details?.[0]).toEqual({ code: 'CARD_EXPIRED', httpStatus: 422, errorType: 'PluralApiError' });
    expect(await vault.get(handle)).toBeUndefined();
  });

  it('fails non-retryably with CardDataUnavailable for a missing hand-off', async () => {
    const { ref, order } = await newOrder();
    const f = await failureOf(
      run(1, acts.createPayment, {
        workflowId: `payment:${ref}`,
        orderId: order.orderId,
        amount: money,
        preAuth: true,
        instrument: { kind: 'card_token', tokenId: 'token-x', cvvHandle: 'cvm1.AAAAAAAAAAAAAAAAAAAAAA' },
      }),
    );
    expect(f).toMatchObject({ type: 'CardDataUnavailable', nonRetryable: true });
  });

  it('a retry whose hand-off an overlapping attempt used adopts that payment, or waits for it as an outage, never FAILED', async () => {
    const { order, handle, input } = await cardPaymentInput(CARDS.challenge);
    await vault.destroy(handle);
    // A retry (the first attempt timed out while Plural worked): the hand-off is gone, and Plural lists no payment yet.
    const waiting = await failureOf(run(2, acts.createPayment, input));
    expect(waiting).toMatchObject({ type: 'GatewayUnavailable', nonRetryable: false });
    expect(waiting.details?.[0]).toMatchObject({ code: 'CARD_DATA_UNAVAILABLE' });
    expect(sandbox.order(order.orderId)?.payments ?? []).toHaveLength(0);

    // The overlapping attempt made the payment (and destroyed its hand-off); the retry's first read lags behind it.
    const other = await cardPaymentInput(CARDS.challenge);
    const made = await run(1, acts.createPayment, other.input);
    let reads = 0;
    const lagging = pluralWith({
      getOrder: async (orderId: string, options?: { signal?: AbortSignal }) => {
        const read = await plural.getOrder(orderId, options);
        return reads++ === 0 ? { ...read, payments: [] } : read;
      },
    });
    const adopted = await run(2, createActivities({ plural: lagging, vault }).createPayment, other.input);
    expect(adopted.order.payments.map((p) => p.id)).toEqual(made.order.payments.map((p) => p.id));
    expect(reads).toBe(2);
    expect(sandbox.order(other.order.orderId)?.payments).toHaveLength(1);

    // An operator's retry long after (the hand-off expired, nothing at Plural), or an order whose attempt failed for
    // good (ATTEMPTED): the card data is gone for good, and the payment fails as on a first attempt.
    const expired = await cardPaymentInput(CARDS.challenge);
    await vault.destroy(expired.handle);
    const operator = await failureOf(run(1, acts.createPayment, { ...expired.input, retried: true }));
    expect(operator).toMatchObject({ type: 'CardDataUnavailable', nonRetryable: true });
    const attempted = pluralWith({
      getOrder: async (orderId: string, options?: { signal?: AbortSignal }) => ({
        ...(await plural.getOrder(orderId, options)),
        status: 'ATTEMPTED',
      }),
    });
    const failed = await failureOf(run(2, createActivities({ plural: attempted, vault }).createPayment, expired.input));
    expect(failed).toMatchObject({ type: 'CardDataUnavailable', nonRetryable: true });
  });

  it("names the order's live card payment, not an earlier attempt's failed one listed before it", async () => {
    const { ref, order } = await newOrder();
    const listingAFailedOne = pluralWith({
      createPayment: async (...args: Parameters<PluralClient['createPayment']>) => {
        const made = await plural.createPayment(...args);
        const failed = { ...made.payments[0]!, id: 'v1-earlier-attempt', status: 'FAILED' };
        return { ...made, payments: [failed, ...made.payments] };
      },
    });
    const result = await run(1, createActivities({ plural: listingAFailedOne, vault }).createPayment, {
      workflowId: `payment:${ref}`,
      orderId: order.orderId,
      amount: money,
      preAuth: true,
      instrument: { kind: 'card', cardHandle: await putCard(vault, CARDS.challenge), save: false },
    });
    expect(result.cardPaymentId).not.toBe('v1-earlier-attempt');
    expect(result.cardPaymentId).toBe(result.order.payments[1]!.id);
  });

  it('does not create a second payment when a retry finds the first one', async () => {
    const { ref, order } = await newOrder();
    const input = {
      workflowId: `payment:${ref}`,
      orderId: order.orderId,
      amount: money,
      preAuth: true,
      instrument: { kind: 'card' as const, cardHandle: await putCard(vault, CARDS.challenge), save: false },
    };
    const first = await run(1, acts.createPayment, input);
    const retried = await run(2, acts.createPayment, input);
    expect(retried.order.payments.map((p) => p.id)).toEqual(first.order.payments.map((p) => p.id));
    expect(sandbox.order(order.orderId)?.paymentAttempts).toBe(1);
  });

  describe('a retried Create Payment whose first attempt is still under way at Plural (Get Order lags behind it)', () => {
    /**
     * The first attempt made the payment; Plural's order shows it only from the `showAfter`-th read on (before, as
     * `before` makes the read: no payments listed).
     */
    async function laggingPlural(
      showAfter: number,
      before = (read: Order): Order => ({ ...read, payments: [] }),
      refusal = { code: 'DUPLICATE_REQUEST', message: 'a payment for this order is in progress' },
    ) {
      const { order, input } = await cardPaymentInput(CARDS.challenge);
      const first = await run(1, acts.createPayment, input);
      // That attempt's answer was lost (its deadline fired while Plural worked): it never destroyed the card data.
      const handle = await putCard(vault, CARDS.challenge);
      const retryInput = { ...input, instrument: { ...input.instrument, cardHandle: handle } };
      let reads = 0;
      const lagging = pluralWith({
        getOrder: async (...args: Parameters<PluralClient['getOrder']>) => {
          const read = await plural.getOrder(...args);
          reads += 1;
          return reads < showAfter ? before(read) : read;
        },
        createPayment: answered(422, refusal, 'create payment'),
      });
      return { order, handle, input: retryInput, first, lagging: createActivities({ plural: lagging, vault }) };
    }

    it('adopts the payment once Plural lists it, never failing the payment Plural is making', async () => {
      const { order, input, first, lagging } = await laggingPlural(2);
      const adopted = await run(2, lagging.createPayment, input);
      expect(adopted.order.payments.map((p) => p.id)).toEqual(first.order.payments.map((p) => p.id));
      expect(sandbox.order(order.orderId)?.paymentAttempts).toBe(1);
    });

    it('is retried (then parked), never PaymentRejected, while Plural calls it a duplicate and lists nothing', async () => {
      const { handle, input, lagging } = await laggingPlural(Number.POSITIVE_INFINITY);
      const f = await failureOf(run(2, lagging.createPayment, input));
      expect(f).toMatchObject({ type: 'GatewayUnavailable', nonRetryable: false });
      expect(f.details?.[0]).toMatchObject({ code: 'DUPLICATE_REQUEST', httpStatus: 422 });
      // Kept for the next attempt (destroyed only once the outcome is definitive).
      expect(await vault.get(handle)).toBeDefined();
    });

    it('is retried (then parked), never PaymentRejected, on any refusal while the order reads as paid and lists nothing', async () => {
      const movedOn = {
        code: 'INVALID_ORDER_STATUS',
        message: 'cannot create a payment for this order: it is PENDING',
      };
      const { order, handle, input, lagging } = await laggingPlural(Number.POSITIVE_INFINITY, undefined, movedOn);
      expect(sandbox.order(order.orderId)?.status).toBe('PENDING');
      const f = await failureOf(run(2, lagging.createPayment, input));
      expect(f).toMatchObject({ type: 'GatewayUnavailable', nonRetryable: false });
      expect(f.details?.[0]).toMatchObject({ code: 'INVALID_ORDER_STATUS', httpStatus: 422 });
      expect(await vault.get(handle)).toBeDefined();
      // Once the read lists it, the payment is adopted.
      const adopted = await run(3, createActivities({ plural, vault }).createPayment, input);
      expect(adopted.order.payments).toHaveLength(1);
    });

    it('is retried (then parked) on a refusal while the order reads CREATED and lists nothing: Plural answers a new payment so', async () => {
      const { order, handle, input, lagging } = await laggingPlural(
        Number.POSITIVE_INFINITY,
        (read) => ({ ...read, status: 'CREATED', payments: [] }),
        { code: 'CARD_EXPIRED', message: 'card expired' },
      );
      const f = await failureOf(run(2, lagging.createPayment, input));
      expect(f).toMatchObject({ type: 'GatewayUnavailable', nonRetryable: false });
      expect(f.details?.[0]).toMatchObject({ code: 'CARD_EXPIRED', httpStatus: 422 });
      expect(await vault.get(handle)).toBeDefined();
      // The first attempt's payment, once a read lists it, is adopted: never a second payment, never a failed one.
      const adopted = await run(3, createActivities({ plural, vault }).createPayment, input);
      expect(adopted.order.payments).toHaveLength(1);
      expect(sandbox.order(order.orderId)?.paymentAttempts).toBe(1);
    });

    it("stays a rejection on a first attempt's refusal, whatever the order reads", async () => {
      const { order, input } = await cardPaymentInput(CARDS.challenge);
      const refusing = pluralWith({
        createPayment: answered(422, { code: 'CARD_EXPIRED', message: 'card expired' }, 'create payment'),
      });
      const f = await failureOf(run(1, createActivities({ plural: refusing, vault }).createPayment, input));
      expect(f).toMatchObject({ type: 'PaymentRejected', nonRetryable: true });
      expect(sandbox.order(order.orderId)?.paymentAttempts ?? 0).toBe(0);
    });

    it('stays a rejection when the order shows that attempt failed for good (ATTEMPTED)', async () => {
      const { input, lagging } = await laggingPlural(Number.POSITIVE_INFINITY, (read) => ({
        ...read,
        status: 'ATTEMPTED',
      }));
      const f = await failureOf(run(2, lagging.createPayment, input));
      expect(f).toMatchObject({ type: 'PaymentRejected', nonRetryable: true });
    });
  });

  /** An order whose card payment the customer approved on the challenge page: authorized, or processed for a sale. */
  async function approvedPayment(preAuth: boolean) {
    const { ref, order } = await newOrder(preAuth);
    const pay = await run(1, acts.createPayment, {
      workflowId: `payment:${ref}`,
      orderId: order.orderId,
      amount: money,
      preAuth,
      instrument: { kind: 'card', cardHandle: await putCard(vault, CARDS.challenge), save: false },
    });
    await fetch(`${sandbox.baseUrl}/__sandbox/payments/${pay.order.payments[0]!.id}/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sandbox.controlToken}` },
      body: JSON.stringify({ result: 'approve' }),
    });
    return { ref, order };
  }

  it('never captures twice: a retried capture returns the captured order', async () => {
    const { ref, order } = await approvedPayment(true);
    const input = { workflowId: `payment:${ref}`, orderId: order.orderId, amount: { value: 2000, currency: 'INR' } };
    const captured = await run(1, acts.captureOrder, input);
    expect(captured).toMatchObject({ status: 'PARTIALLY_CAPTURED', capturedValue: 2000 });
    const retried = await run(3, acts.captureOrder, input);
    expect(retried.status).toBe('PARTIALLY_CAPTURED');
    const duplicate = await run(1, acts.captureOrder, input);
    expect(duplicate.capturedValue).toBe(2000);
    expect(sandbox.order(order.orderId)).toMatchObject({ captureCount: 1, capturedAmount: 2000 });
    // After an operator's retry (a first attempt again), Plural's order is read before any capture: one Plural refuses
    // other than as a duplicate (the order no longer AUTHORIZED) is never asked.
    const captures: string[] = [];
    const refusing = createActivities({
      plural: pluralWith({
        captureOrder: (id: string) => {
          captures.push(id);
          return answered(400, { code: 'INVALID_REQUEST', message: 'order is not AUTHORIZED' })();
        },
      }),
      vault,
    }).captureOrder;
    expect(await run(1, refusing, { ...input, retried: true })).toMatchObject({ capturedValue: 2000 });
    expect(captures).toEqual([]);
  });

  it("an operator's retry of a refused capture goes under a key and capture reference of its own; an outage's retry does not", async () => {
    const { ref, order } = await approvedPayment(true);
    const input = { workflowId: `payment:${ref}`, orderId: order.orderId };
    const sent: { key: string | undefined; reference: string | undefined }[] = [];
    const seeing = createActivities({
      plural: pluralWith({
        captureOrder: (
          id: string,
          body: { merchant_capture_reference?: string },
          options: { idempotencyKey?: string; signal?: AbortSignal },
        ) => {
          sent.push({ key: options.idempotencyKey, reference: body.merchant_capture_reference });
          return answered(422, { code: 'PAYMENT_DECLINED', message: `capture of ${id} declined` })();
        },
      }),
      vault,
    }).captureOrder;
    for (const more of [{}, { retried: true as const }, { retried: true as const, afterRefusals: 1 }]) {
      await failureOf(run(1, seeing, { ...input, ...more }));
    }
    expect(sent.map((s) => s.key)).toEqual([
      `payment:${ref}:capture`,
      `payment:${ref}:capture`,
      `payment:${ref}:capture-1`,
    ]);
    expect(sent[2]!.reference).not.toBe(sent[0]!.reference);
    expect(sent[1]!.reference).toBe(sent[0]!.reference);
  });

  it('a DUPLICATE_REQUEST to a capture whose order does not show it yet is an outage (retried, then parked), never a refusal', async () => {
    const { ref, order } = await approvedPayment(true);
    const input = { workflowId: `payment:${ref}`, orderId: order.orderId };
    // Plural has the capture's key (an earlier attempt still under way); its order still reads AUTHORIZED.
    const duplicate = createActivities({
      plural: pluralWith({
        captureOrder: answered(422, { code: 'DUPLICATE_REQUEST', message: 'a capture for this order is in progress' }),
      }),
      vault,
    }).captureOrder;
    const f = await failureOf(run(2, duplicate, input));
    expect(f).toMatchObject({ type: 'GatewayUnavailable', nonRetryable: false });
    expect(f.details?.[0]).toMatchObject({ code: 'DUPLICATE_REQUEST' });
    expect(sandbox.order(order.orderId)).toMatchObject({ status: 'AUTHORIZED', captureCount: 0 });
    // Once the order shows the capture, the next attempt returns it.
    const taken = await run(1, acts.captureOrder, input);
    expect(await run(3, duplicate, input)).toEqual(taken);
  });

  it('a capture Plural answers with its order still AUTHORIZED is an outage until a read shows it taken, never a refusal', async () => {
    const { ref, order } = await approvedPayment(true);
    const input = { workflowId: `payment:${ref}`, orderId: order.orderId };
    const before = await plural.getOrder(order.orderId);
    expect(snapshotOf(before).status).toBe('AUTHORIZED');
    // Plural answers 200 with the order as it read a moment before the capture, and Get Order lags the same way.
    let lag = true;
    let reads = 0;
    const lagging = createActivities({
      plural: pluralWith({
        captureOrder: () => Promise.resolve(before),
        getOrder: (id: string, ...rest: never[]) => {
          reads += 1;
          return lag ? Promise.resolve(before) : plural.getOrder(id, ...rest);
        },
      }),
      vault,
    }).captureOrder;
    const f = await failureOf(run(1, lagging, input));
    expect(f).toMatchObject({ type: 'GatewayUnavailable', nonRetryable: false });
    expect(f.details?.[0]).toMatchObject({ code: 'CAPTURE_NOT_SHOWN' });
    expect(reads).toBe(1);
    // The capture was taken (here: by the sandbox) and Get Order catches up: the second read answers it.
    await run(1, acts.captureOrder, input);
    lag = false;
    expect(await run(1, lagging, input)).toMatchObject({ status: 'PROCESSED', capturedValue: 5000 });
    expect(sandbox.order(order.orderId)).toMatchObject({ captureCount: 1 });
  });

  it('a partial capture whose answer lists no capture took the amount asked for, never the whole authorization', async () => {
    const { ref, order } = await approvedPayment(true);
    const input = { workflowId: `payment:${ref}`, orderId: order.orderId, amount: { value: 1500, currency: 'INR' } };
    const unlisted = (o: Order): Order => ({
      ...o,
      payments: o.payments.map((p) => ({ ...p, capture_data: undefined })),
    });
    const bare = createActivities({
      plural: pluralWith({
        captureOrder: async (id: string, ...rest: never[]) => unlisted(await plural.captureOrder(id, ...rest)),
        getOrder: async (id: string, ...rest: never[]) => unlisted(await plural.getOrder(id, ...rest)),
      }),
      vault,
    }).captureOrder;
    expect(await run(1, bare, input)).toMatchObject({ status: 'PARTIALLY_CAPTURED', capturedValue: 1500 });
    expect(await run(2, bare, input)).toMatchObject({ status: 'PARTIALLY_CAPTURED', capturedValue: 1500 });
    expect(sandbox.order(order.orderId)).toMatchObject({ captureCount: 1, capturedAmount: 1500 });
  });

  it('a cancel Plural answers with its order still AUTHORIZED returns what a second read of the order says', async () => {
    const { ref, order } = await approvedPayment(true);
    const before = await plural.getOrder(order.orderId);
    const stale = createActivities({
      plural: pluralWith({
        cancelOrder: async (id: string, ...rest: never[]) => {
          await plural.cancelOrder(id, ...rest);
          return before;
        },
      }),
      vault,
    }).cancelOrder;
    const cancelled = await run(1, stale, { workflowId: `payment:${ref}`, orderId: order.orderId, step: 'cancel' });
    expect(cancelled.status).toBe('CANCELLED');
  });

  it('a retried refund looks its reference up first, and any refusal of a retry with nothing under it is an outage', async () => {
    const { ref, order } = await approvedPayment(false);
    const input = { workflowId: `payment:${ref}`, orderId: order.orderId, step: 'refund-1', amount: money };
    // The first attempt refunded in full; its answer was lost. A retry finds it before asking Plural again.
    const first = await run(1, acts.refundOrder, input);
    let asked = 0;
    const counting = createActivities({
      plural: pluralWith({
        refundOrder: () => {
          asked += 1;
          return answered(422, { code: 'AMOUNT_LIMIT_EXCEEDED', message: 'more than is refundable' })();
        },
      }),
      vault,
    }).refundOrder;
    expect(await run(2, counting, input)).toEqual(first);
    expect(await run(1, counting, { ...input, retried: true })).toEqual(first);
    expect(asked).toBe(0);
    // The earlier attempt's refund not readable yet (its reference lags) and the retry refused for the order's sake:
    // unknown, so retried and then parked — never REJECTED, which would free an amount Plural may have refunded.
    const lagging = createActivities({
      plural: pluralWith({
        refundOrder: answered(422, { code: 'AMOUNT_LIMIT_EXCEEDED', message: 'more than is refundable' }),
        getOrderByReference: answered(404, { code: 'ORDER_NOT_FOUND', message: 'no such order' }),
      }),
      vault,
    }).refundOrder;
    const f = await failureOf(run(2, lagging, { ...input, step: 'refund-2' }));
    expect(f).toMatchObject({ type: 'GatewayUnavailable', nonRetryable: false });
    const g = await failureOf(run(1, lagging, { ...input, step: 'refund-2', retried: true }));
    expect(g).toMatchObject({ type: 'GatewayUnavailable', nonRetryable: false });
    // A first attempt's refusal stays final.
    const h = await failureOf(run(1, lagging, { ...input, step: 'refund-2' }));
    expect(h).toMatchObject({ type: 'RefundRejected', nonRetryable: true });
  });

  it('a refund made by an attempt whose answer was lost is returned when Plural refuses its retry, never REJECTED', async () => {
    const { ref, order } = await approvedPayment(false);
    const input = { workflowId: `payment:${ref}`, orderId: order.orderId, step: 'refund-1', amount: money };
    // The first attempt refunds the order in full; its answer is lost. Plural (unlike the sandbox, which answers the
    // same reference with the same refund) refuses the retry: the order is fully refunded, so no longer refundable.
    const first = await run(1, acts.refundOrder, input);
    expect(sandbox.order(order.orderId)).toMatchObject({ status: 'FULLY_REFUNDED', refundedAmount: 5000 });
    const refusing = pluralWith({
      refundOrder: answered(
        422,
        { code: 'INVALID_REQUEST', message: `order ${order.orderId} is FULLY_REFUNDED, not refundable` },
        `refund of order ${order.orderId}`,
      ),
    });
    const withRefusal = createActivities({ plural: refusing, vault });
    const retried = await run(2, withRefusal.refundOrder, input);
    expect(retried).toEqual(first);
    // A refusal with no refund under the reference stays a refusal.
    const other = await failureOf(run(1, withRefusal.refundOrder, { ...input, step: 'refund-2' }));
    expect(other).toMatchObject({ type: 'RefundRejected', nonRetryable: true });
    expect(sandbox.order(order.orderId)).toMatchObject({ refundedAmount: 5000 });
  });

  it('a refund Plural calls a DUPLICATE_REQUEST that cannot be read under its reference yet is an outage, never REJECTED', async () => {
    const { ref, order } = await approvedPayment(false);
    const input = { workflowId: `payment:${ref}`, orderId: order.orderId, step: 'refund-1', amount: money };
    // The first attempt's refund is under way at Plural (its answer lost); the retry's reference cannot be read yet.
    const duplicate = pluralWith({
      refundOrder: answered(
        422,
        { code: 'DUPLICATE_REQUEST', message: 'a request with this reference exists' },
        `refund of order ${order.orderId}`,
      ),
      getOrderByReference: answered(404, { code: 'ORDER_NOT_FOUND', message: 'no such order' }),
    });
    const f = await failureOf(run(2, createActivities({ plural: duplicate, vault }).refundOrder, input));
    expect(f).toMatchObject({ type: 'GatewayUnavailable', nonRetryable: false });
    expect(f.details?.[0]).toMatchObject({ code: 'DUPLICATE_REQUEST' });
  });

  it("Plural refusing the engine's credentials is an outage (retried, then parked), never a refusal of the refund", async () => {
    const { ref, order } = await approvedPayment(false);
    const input = { workflowId: `payment:${ref}`, orderId: order.orderId, step: 'refund-1', amount: money };
    // The first attempt refunds the order; its answer is lost. The retry meets a rotated secret: every call is 401.
    await run(1, acts.refundOrder, input);
    const unauthorized = answered(401, { status: 401, type: 'UNAUTHORIZED', message: 'invalid token' }, 'refund');
    const locked = pluralWith({ refundOrder: unauthorized, getOrderByReference: unauthorized, getOrder: unauthorized });
    const f = await failureOf(run(2, createActivities({ plural: locked, vault }).refundOrder, input));
    expect(f).toMatchObject({ type: 'GatewayUnavailable', nonRetryable: false });
    expect(f.details?.[0]).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401 });
    expect(sandbox.order(order.orderId)).toMatchObject({ refundedAmount: 5000 });
  });

  it('a refusal whose refund cannot be looked up (Plural refuses the lookup) is parked, never REJECTED', async () => {
    const { ref, order } = await approvedPayment(false);
    const input = { workflowId: `payment:${ref}`, orderId: order.orderId, step: 'refund-1', amount: money };
    await run(1, acts.refundOrder, input);
    const blind = pluralWith({
      refundOrder: answered(422, { code: 'INVALID_REQUEST', message: 'refused' }),
      getOrderByReference: answered(400, { code: 'INVALID_REQUEST', message: 'refused' }),
    });
    const f = await failureOf(run(2, createActivities({ plural: blind, vault }).refundOrder, input));
    expect(f).toMatchObject({ type: 'GatewayUnavailable', nonRetryable: false });
  });

  it("reads a refund order an event names: its own step's refund, one made outside the engine, or none of this order's", async () => {
    const { ref, order } = await approvedPayment(false);
    const workflowId = `payment:${ref}`;
    const own = await run(1, acts.refundOrder, {
      workflowId,
      orderId: order.orderId,
      step: 'refund:r-1',
      amount: { value: 2000, currency: 'INR' },
    });
    const dashboard = await plural.refundOrder(order.orderId, {
      merchant_order_reference: `dash-${order.orderId}`,
      order_amount: { value: 1000, currency: 'INR' },
    });
    const read = (refundOrderId: string, orderId = order.orderId) =>
      run(1, acts.readRefund, { workflowId, orderId, refundOrderId, steps: ['refund:r-0', 'refund:r-1'] });
    expect(await read(own.refundOrderId)).toEqual({ ...own, ownStep: 'refund:r-1' });
    expect(await read(dashboard.order_id)).toEqual({
      refundOrderId: dashboard.order_id,
      reference: `dash-${order.orderId}`,
      status: 'PROCESSED',
      amount: { value: 1000, currency: 'INR' },
    });
    // Another order's refund, and an order that is no refund: none of this payment's.
    expect(await read(dashboard.order_id, 'v1-other-order')).toBeNull();
    expect(await read(order.orderId)).toBeNull();
    // Plural's answer naming no parent order (the field is optional): the payment's own refund by its reference; a
    // refund under another reference is not taken for this payment's.
    const parentless = createActivities({
      plural: pluralWith({
        getOrder: async (id: string, options?: { signal?: AbortSignal }) => ({
          ...(await plural.getOrder(id, options)),
          parent_order_id: undefined,
        }),
      }),
      vault,
    }).readRefund;
    const readParentless = (refundOrderId: string) =>
      run(1, parentless, { workflowId, orderId: order.orderId, refundOrderId, steps: ['refund:r-0', 'refund:r-1'] });
    expect(await readParentless(own.refundOrderId)).toEqual({ ...own, ownStep: 'refund:r-1' });
    expect(await readParentless(dashboard.order_id)).toBeNull();
    // An order Plural cannot find although its own event named it is read again (it may not be readable yet): found
    // on a later read, it is recorded; never found, the answer says so (the workflow reads it again at a few looks).
    const reads: string[] = [];
    const notYet = (found: number) =>
      createActivities({
        plural: pluralWith({
          getOrder: (id: string, options?: { signal?: AbortSignal }) => {
            reads.push(id);
            return reads.length > found ? plural.getOrder(id, options) : answered(404, { code: 'ORDER_NOT_FOUND' })();
          },
        }),
        vault,
        refundNotFoundRereadsMs: [1, 1],
      }).readRefund;
    const input = { workflowId, orderId: order.orderId, steps: [] };
    expect(await run(1, notYet(2), { ...input, refundOrderId: dashboard.order_id })).toMatchObject({
      refundOrderId: dashboard.order_id,
      status: 'PROCESSED',
    });
    expect(reads).toEqual([dashboard.order_id, dashboard.order_id, dashboard.order_id]);
    reads.length = 0;
    expect(await run(1, notYet(3), { ...input, refundOrderId: dashboard.order_id })).toEqual({
      refundOrderId: dashboard.order_id,
      notFound: true,
    });
    expect(reads).toHaveLength(3);
    // Plural unreachable: an outage, retried (the workflow reads it again later), never "none".
    const down = pluralWith({ getOrder: answered(503, { code: 'SERVICE_UNAVAILABLE', message: 'down' }, 'get order') });
    const f = await failureOf(
      run(1, createActivities({ plural: down, vault }).readRefund, {
        workflowId,
        orderId: order.orderId,
        refundOrderId: dashboard.order_id,
        steps: [],
      }),
    );
    expect(f).toMatchObject({ nonRetryable: false });
  });

  it("an operator's give-up asks for the refund under its reference again before saying none, and a refund there naming no parent is its own", async () => {
    const { ref, order } = await approvedPayment(false);
    const input = { workflowId: `payment:${ref}`, orderId: order.orderId, step: 'refund-1', amount: money };
    // The refund was made; its answer was lost, and Plural's lookup by reference lags it.
    const made = await run(1, acts.refundOrder, input);
    let lookups = 0;
    const lagging = (behind: number, stripParent = false) =>
      createActivities({
        plural: pluralWith({
          getOrderByReference: async (reference: string, options?: { signal?: AbortSignal }) => {
            lookups += 1;
            if (lookups <= behind) return answered(404, { code: 'ORDER_NOT_FOUND', message: 'no such order' })();
            const found = await plural.getOrderByReference(reference, options);
            return stripParent ? { ...found, parent_order_id: undefined } : found;
          },
        }),
        vault,
        refundNotFoundRereadsMs: [1, 1],
      }).findRefund;
    expect(await run(1, lagging(2), input)).toEqual(made);
    expect(lookups).toBe(3);
    // Not there after the last read: none (the give-up then abandons the refund).
    lookups = 0;
    expect(await run(1, lagging(3), input)).toBeNull();
    expect(lookups).toBe(3);
    // Under this payment's own reference but naming no parent order: this refund all the same.
    lookups = 0;
    expect(await run(1, lagging(0, true), input)).toEqual(made);
    expect(lookups).toBe(1);
  });

  /** An order with a card payment waiting for its native OTP. */
  async function otpPayment() {
    const { ref, order } = await newOrder();
    const pay = await run(1, acts.createPayment, {
      workflowId: `payment:${ref}`,
      orderId: order.orderId,
      amount: money,
      preAuth: true,
      instrument: { kind: 'card', cardHandle: await putCard(vault, CARDS.nativeOtp), save: false },
    });
    const paymentId = pay.cardPaymentId!;
    const gen = await run(1, acts.generateOtp, { workflowId: `payment:${ref}`, paymentId });
    expect(gen).toMatchObject({ eligible: true, next: ['SUBMIT_OTP', 'RESEND_OTP'] });
    return { ref, paymentId, orderId: order.orderId };
  }

  it('reports an incorrect OTP as a result with the attempts Plural still allows, and destroys its hand-off', async () => {
    const { ref, paymentId } = await otpPayment();
    const wrongHandle = await vault.put({ otp: WRONG_OTPS[0] }, OTP_TTL_MS);
    const wrong = await run(1, acts.submitOtp, {
      workflowId: `payment:${ref}`,
      paymentId,
      otpHandle: wrongHandle,
      submission: 1,
    });
    expect(wrong).toMatchObject({ outcome: 'INCORRECT', counted: true });
    expect(JSON.stringify(wrong)).not.toContain(WRONG_OTPS[0]);
    expect(await vault.get(wrongHandle)).toBeUndefined();
  });

  it("returns a resend Plural refuses as a result with Plural's next actions and when a resend opens", async () => {
    const { ref, paymentId } = await otpPayment();
    const refused = await run(1, acts.resendOtp, { workflowId: `payment:${ref}`, paymentId, resend: 1 });
    expect(refused).toMatchObject({ outcome: 'REJECTED', code: 'RESEND_NOT_ALLOWED', next: ['SUBMIT_OTP'] });
    expect(refused.resendAfterSeconds).toBeGreaterThan(0);
  });

  it('reports an OTP Plural refuses while offering a resend (an expired OTP) as incorrect, not as the end', async () => {
    const { ref, paymentId } = await otpPayment();
    const refusing = pluralWith({
      submitOtp: answered(422, { code: 'OTP_EXPIRED', message: 'the OTP has expired', next: ['RESEND_OTP'] }),
    });
    const otpHandle = await vault.put({ otp: CORRECT_OTP }, OTP_TTL_MS);
    const input = { workflowId: `payment:${ref}`, paymentId, otpHandle, submission: 1 };
    const result = await run(1, createActivities({ plural: refusing, vault }).submitOtp, input);
    expect(result).toMatchObject({ outcome: 'INCORRECT', next: ['RESEND_OTP'], counted: true });
    // With nothing offered, Plural's refusal ends the authentication.
    const ending = pluralWith({
      submitOtp: answered(422, { code: 'USER_AUTHENTICATION_FAILED', message: 'too many attempts', next: ['NONE'] }),
    });
    const otpHandle2 = await vault.put({ otp: CORRECT_OTP }, OTP_TTL_MS);
    const ended = await run(1, createActivities({ plural: ending, vault }).submitOtp, {
      ...input,
      otpHandle: otpHandle2,
      submission: 2,
    });
    expect(ended).toMatchObject({ outcome: 'FAILED', code: 'USER_AUTHENTICATION_FAILED' });
  });

  it('never returns or throws the OTP, should Plural echo it in its answer', async () => {
    const { ref, paymentId } = await otpPayment();
    const input = (otpHandle: string, submission: number) => ({
      workflowId: `payment:${ref}`,
      paymentId,
      otpHandle,
      submission,
    });
    const echo = `entered code ${CORRECT_OTP} does not match`;
    const refusing = pluralWith({
      submitOtp: answered(422, { code: 'OTP_MISMATCH', message: echo, next: ['SUBMIT_OTP'] }),
    });
    const wrong = await run(
      1,
      createActivities({ plural: refusing, vault }).submitOtp,
      input(await vault.put({ otp: CORRECT_OTP }, OTP_TTL_MS), 1),
    );
    expect(wrong).toMatchObject({ outcome: 'INCORRECT', message: expect.stringMatching(/code \[REDACTED\] does not/) });
    const failing = pluralWith({ submitOtp: answered(500, { code: 'INTERNAL', message: echo }) });
    const f = await failureOf(
      run(
        1,
        createActivities({ plural: failing, vault }).submitOtp,
        input(await vault.put({ otp: CORRECT_OTP }, OTP_TTL_MS), 2),
      ),
    );
    expect(JSON.stringify({ message: f.message, cause: f.cause?.message })).not.toContain(CORRECT_OTP);
    expect(f.message).toContain('[REDACTED]');
  });

  it('fails an OTP submission whose hand-off is gone as non-retryable OtpUnavailable, without calling Plural', async () => {
    const { ref, paymentId } = await otpPayment();
    const gone = await vault.put({ otp: CORRECT_OTP }, OTP_TTL_MS);
    await vault.destroy(gone);
    const submit = vi.spyOn(plural, 'submitOtp');
    try {
      const f = await failureOf(
        run(1, acts.submitOtp, { workflowId: `payment:${ref}`, paymentId, otpHandle: gone, submission: 1 }),
      );
      expect(f.type).toBe('OtpUnavailable');
      expect(f.nonRetryable).toBe(true);
      expect(submit).not.toHaveBeenCalled();
    } finally {
      submit.mockRestore();
    }
  });

  it('answers a retried OTP whose hand-off an answered attempt destroyed as accepted when Plural holds the order', async () => {
    const { ref, paymentId, orderId } = await otpPayment();
    const input = {
      workflowId: `payment:${ref}`,
      paymentId,
      otpHandle: await vault.put({ otp: CORRECT_OTP }, OTP_TTL_MS),
      submission: 1,
      thenGetOrder: { orderId },
    };
    // The first attempt was accepted and destroyed the hand-off; its answer was lost.
    const withReads = (attempt: number) =>
      new MockActivityEnvironment({
        attempt,
        startToCloseTimeoutMs: 30_000,
        currentAttemptScheduledTimestampMs: Date.now(),
      });
    expect(await withReads(1).run(acts.submitOtp, input)).toMatchObject({ outcome: 'ACCEPTED' });
    const retried = await withReads(2).run(acts.submitOtp, input);
    expect(retried).toMatchObject({ outcome: 'ACCEPTED', order: { orderId, status: 'AUTHORIZED' } });
    // A first attempt with its hand-off gone never sent it: unavailable, as before.
    const f = await failureOf(withReads(1).run(acts.submitOtp, input));
    expect(f.type).toBe('OtpUnavailable');
    // A retry whose order does not show the OTP accepted (refused, or Plural's order trailing): unknown, an outage.
    const pending = await otpPayment();
    const gone = await vault.put({ otp: CORRECT_OTP }, OTP_TTL_MS);
    await vault.destroy(gone);
    const unknown = await failureOf(
      withReads(2).run(acts.submitOtp, {
        ...input,
        workflowId: `payment:${pending.ref}`,
        paymentId: pending.paymentId,
        otpHandle: gone,
        thenGetOrder: { orderId: pending.orderId },
      }),
    );
    expect(unknown).toMatchObject({ type: 'GatewayUnavailable' });
    expect(unknown.details?.[0]).toMatchObject({ code: 'OTP_OUTCOME_UNKNOWN' });
  });

  it('keeps the OTP hand-off while Plural is unavailable (retryable) and destroys it once accepted', async () => {
    const { ref, paymentId } = await otpPayment();
    const otpHandle = await vault.put({ otp: CORRECT_OTP }, OTP_TTL_MS);
    const input = { workflowId: `payment:${ref}`, paymentId, otpHandle, submission: 1 };
    sandbox.setFaults({ errorRate: 1, paths: ['/otp/submit'] });
    try {
      const f = await failureOf(run(1, acts.submitOtp, input));
      expect(f.type).toBe('GatewayUnavailable');
      expect(f.nonRetryable).toBe(false);
      expect(`${f.message} ${JSON.stringify(f.details)}`).not.toContain(CORRECT_OTP);
    } finally {
      sandbox.setFaults({ errorRate: 0, paths: [] });
    }
    expect(await vault.get(otpHandle)).toEqual({ otp: CORRECT_OTP });
    expect(await run(2, acts.submitOtp, input)).toEqual({ outcome: 'ACCEPTED' });
    expect(await vault.get(otpHandle)).toBeUndefined();
  });

  it('finds the card a save: true payment saved, once authorized, and that token pays a new order', async () => {
    const customer = await plural.createCustomer({ merchant_customer_reference: newReference('cust') });
    const ref = newReference('save');
    const workflowId = `payment:${ref}`;
    const order = await run(1, acts.createOrder, {
      workflowId,
      merchantOrderReference: ref,
      amount: money,
      preAuth: true,
      customer: { customerId: customer.customer_id },
    });
    const pay = await run(1, acts.createPayment, {
      workflowId,
      orderId: order.orderId,
      amount: money,
      preAuth: true,
      instrument: { kind: 'card', cardHandle: await putCard(vault, CARDS.nativeOtp), save: true },
    });
    const savedCardOf = { customerId: customer.customer_id, last4: '1112' };
    // Not yet: Plural saves the card once the payment is authorized.
    expect((await run(1, acts.getOrder, { orderId: order.orderId, savedCardOf })).savedCard).toBeUndefined();
    await run(1, acts.generateOtp, { workflowId, paymentId: pay.cardPaymentId! });
    const otpHandle = await vault.put({ otp: CORRECT_OTP }, OTP_TTL_MS);
    const otp = { workflowId, paymentId: pay.cardPaymentId!, otpHandle, submission: 1 };
    expect(await run(1, acts.submitOtp, otp)).toEqual({ outcome: 'ACCEPTED' });

    const found = await run(1, acts.getOrder, { orderId: order.orderId, savedCardOf });
    const listed = (await plural.listCustomerTokens(customer.customer_id)).tokens;
    expect(listed).toHaveLength(1);
    expect(listed[0]!.card_data?.expiry_year).toMatch(/^\d{4}$/);
    expect(found.savedCard).toEqual({
      tokenId: listed[0]!.token_id,
      status: 'ACTIVE',
      last4: '1112',
      expiryMonth: listed[0]!.card_data?.expiry_month,
      expiryYear: listed[0]!.card_data?.expiry_year,
    });
    // Only when asked, and only for the customer's card.
    expect((await run(1, acts.getOrder, { orderId: order.orderId })).savedCard).toBeUndefined();
    const other = { customerId: customer.customer_id, last4: '4444' };
    expect((await run(1, acts.getOrder, { orderId: order.orderId, savedCardOf: other })).savedCard).toBeUndefined();

    const next = await newOrder();
    const paid = await run(1, acts.createPayment, {
      workflowId: `payment:${next.ref}`,
      orderId: next.order.orderId,
      amount: money,
      preAuth: true,
      instrument: {
        kind: 'card_token',
        tokenId: found.savedCard!.tokenId,
        cvvHandle: await vault.put({ cvv: CVV }, 60_000),
      },
    });
    expect(paid.order.payments[0]).toMatchObject({ method: 'CARD', status: 'PENDING' });
  });

  it('leaves the saved card out, without failing Get Order, when the token lookup fails', async () => {
    const { order } = await newOrder();
    const approved = {
      ...(await plural.getOrder(order.orderId)),
      payments: [
        {
          id: 'v1-pay-approved',
          status: 'AUTHORIZED' as const,
          payment_amount: money,
          payment_method: 'CARD',
        },
      ],
    };
    const lookup = vi.spyOn(plural, 'listCustomerTokens').mockRejectedValue(new Error('unreachable'));
    const getOrder = vi.spyOn(plural, 'getOrder').mockResolvedValue(approved);
    try {
      const found = await run(1, acts.getOrder, {
        orderId: order.orderId,
        savedCardOf: { customerId: 'cust-x', last4: '1112' },
      });
      expect(lookup).toHaveBeenCalledTimes(1);
      expect(found.orderId).toBe(order.orderId);
      expect(found.savedCard).toBeUndefined();
    } finally {
      lookup.mockRestore();
      getOrder.mockRestore();
    }
  });

  it('derives Plural references of at most 50 characters from long idempotency keys, stably', () => {
    const key = `payment:${'x'.repeat(60)}:capture`;
    expect(referenceFor(key)).toHaveLength(42);
    expect(referenceFor(key)).toBe(referenceFor(key));
    expect(referenceFor('payment:short:capture')).toBe('payment:short:capture');
  });

  it('never returns or throws card data', async () => {
    const { ref, order } = await newOrder();
    const cvvHandle = await vault.put({ cvv: CVV }, 60_000);
    const f = await failureOf(
      run(1, acts.createPayment, {
        workflowId: `payment:${ref}`,
        orderId: order.orderId,
        amount: money,
        preAuth: true,
        instrument: { kind: 'card_token', tokenId: 'token-unknown', cvvHandle },
      }),
    );
    expect(f.type).toBe('PaymentRejected');
    // The CVV as a number of its own: Plural's order ids are digit runs that may hold "739" by chance.
    expect(`${f.message} ${JSON.stringify(f.details)}`).not.toMatch(new RegExp(`(?<!\\d)${CVV}(?!\\d)`));
  });
});

describe('follow-up calls (activities/README.md)', () => {
  const START_TO_CLOSE_MS = 30_000;
  /** Runs `fn` as a first attempt scheduled `elapsedMs` ago with a 30 s start-to-close timeout. */
  function runAfter<A extends unknown[], R>(elapsedMs: number, fn: (...args: A) => Promise<R>, ...args: A) {
    return new MockActivityEnvironment({
      attempt: 1,
      startToCloseTimeoutMs: START_TO_CLOSE_MS,
      currentAttemptScheduledTimestampMs: Date.now() - elapsedMs,
    }).run<A, R, typeof fn>(fn, ...args);
  }
  /** The activities over a Plural client whose card lookups never answer (and ignore their signal), counted. */
  function withSilentCardLookups(followUpTimeoutMs?: number) {
    const calls = { getCardDetails: 0 };
    const silent = pluralWith({
      getCardDetails: () => {
        calls.getCardDetails += 1;
        return new Promise(() => undefined);
      },
    });
    const acts = createActivities({
      plural: silent,
      vault,
      ...(followUpTimeoutMs !== undefined ? { followUpTimeoutMs } : {}),
    });
    return { acts, calls };
  }
  const orderInput = async (ref: string) => ({
    workflowId: `payment:${ref}`,
    merchantOrderReference: ref,
    amount: money,
    preAuth: true,
    thenLookupCard: { cardHandle: await putCard(vault, CARDS.nativeOtp), amount: money.value },
  });

  it("never takes another payment's order for a checkout link Plural answers with it: DUPLICATE_REFERENCE (read as a follow-up)", async () => {
    // An order of another payment (another amount) under the reference; Plural answers the link with that order.
    const { ref, order } = await newOrder();
    const input = {
      workflowId: `payment:${ref}-again`,
      merchantOrderReference: ref,
      amount: { value: 7000, currency: 'INR' },
      preAuth: true,
    };
    const known = createActivities({
      plural: pluralWith({
        createCheckoutLink: () => Promise.resolve({ order_id: order.orderId, redirect_url: 'https://plural.test/pay' }),
      }),
      vault,
    }).createCheckoutLink;
    const f = await failureOf(runAfter(0, known, input));
    expect(f).toMatchObject({ type: 'OrderRejected', nonRetryable: true });
    expect(f.details?.[0]).toMatchObject({ code: 'DUPLICATE_REFERENCE' });
    // This payment's own link stands.
    const own = await runAfter(0, acts.createCheckoutLink, { ...input, merchantOrderReference: `${ref}-own` });
    expect(own.redirectUrl).toMatch(/^http/);
  });

  it('budget: at most the follow-up limit, within the start-to-close timeout less a 5 s reserve, else none', () => {
    const info = (elapsedMs: number) => ({
      startToCloseTimeoutMs: START_TO_CLOSE_MS,
      currentAttemptScheduledTimestampMs: 1_000_000 - elapsedMs,
    });
    expect(followUpBudgetMs(info(1_000), 1_000_000)).toBe(FOLLOW_UP_TIMEOUT_MS);
    expect(followUpBudgetMs(info(22_000), 1_000_000)).toBe(3_000);
    expect(followUpBudgetMs(info(24_600), 1_000_000)).toBe(0);
    expect(followUpBudgetMs(info(1_000), 1_000_000, 300)).toBe(300);
  });

  it('Create Order returns the card lookup it made after the order', async () => {
    const ref = newReference('fu');
    const order = await runAfter(0, acts.createOrder, await orderInput(ref));
    expect(order.card).toEqual({ nativeOtpSupported: true, network: expect.any(String) });
  });

  it('gives up a follow-up that never answers at its deadline, and returns the order without it', async () => {
    const { acts: silentActs, calls } = withSilentCardLookups(200);
    const ref = newReference('fu');
    const order = await runAfter(0, silentActs.createOrder, await orderInput(ref));
    expect(calls.getCardDetails).toBe(1);
    expect(order.card).toBeUndefined();
    expect(sandbox.orderByReference(ref)?.orderId).toBe(order.orderId);
  });

  it('makes no follow-up when too little of the attempt is left', async () => {
    const { acts: silentActs, calls } = withSilentCardLookups();
    const ref = newReference('fu');
    const order = await runAfter(START_TO_CLOSE_MS - 5_200, silentActs.createOrder, await orderInput(ref));
    expect(calls.getCardDetails).toBe(0);
    expect(order.card).toBeUndefined();
  });
});

describe('snapshotOf: what an order at Plural has taken', () => {
  const order = (status: string, payments: Order['payments']): Order =>
    ({ order_id: 'v1-o', status, order_amount: { value: 5000, currency: 'INR' }, payments }) as Order;
  const payment = (status: string, capture?: number) => ({
    id: 'v1-p',
    payment_method: 'CARD',
    status,
    payment_amount: { value: 5000, currency: 'INR' },
    ...(capture !== undefined ? { capture_data: [{ capture_amount: { value: capture, currency: 'INR' } }] } : {}),
  });

  it('masks a card number, CVV or OTP that Plural’s error texts echo', () => {
    const failed = {
      ...payment('FAILED'),
      error_detail: { code: 'PAYMENT_DECLINED', message: `OTP 482913 was wrong for card ${CARDS.nativeOtp}` },
    };
    const [p] = snapshotOf(order('ATTEMPTED', [failed] as Order['payments'])).payments;
    expect(p).toMatchObject({
      errorCode: 'PAYMENT_DECLINED',
      errorMessage: 'OTP [REDACTED] was wrong for card [REDACTED]',
    });
  });

  it('reads a PROCESSED order as its whole amount taken, also when its payments lag behind or are not listed', () => {
    expect(snapshotOf(order('PROCESSED', [])).capturedValue).toBe(5000);
    expect(snapshotOf(order('PROCESSED', [payment('AUTHORIZED')] as Order['payments'])).capturedValue).toBe(5000);
  });

  it('takes the amounts the payments list, and nothing from an order not captured', () => {
    expect(
      snapshotOf(order('PARTIALLY_CAPTURED', [payment('PROCESSED', 2000)] as Order['payments'])).capturedValue,
    ).toBe(2000);
    expect(snapshotOf(order('PROCESSED', [payment('PROCESSED')] as Order['payments'])).capturedValue).toBe(5000);
    expect(snapshotOf(order('AUTHORIZED', [payment('AUTHORIZED')] as Order['payments'])).capturedValue).toBe(0);
    expect(snapshotOf(order('CANCELLED', [])).capturedValue).toBe(0);
  });

  it("reads a partial capture's order that lists no capture as the amount the capture asked for", () => {
    const pays = (status: string) => [payment(status)] as Order['payments'];
    for (const status of ['PROCESSED', 'AUTHORIZED']) {
      const o = snapshotOf(order('PARTIALLY_CAPTURED', pays(status)), 1500);
      expect(o.capturedValue).toBe(1500);
      expect(o.payments.map((p) => p.capturedValue)).toEqual([1500]);
    }
    // What Plural lists, and an order it calls PROCESSED (the whole amount), are read as Plural says.
    expect(
      snapshotOf(order('PARTIALLY_CAPTURED', [payment('PROCESSED', 2000)] as Order['payments']), 1500).capturedValue,
    ).toBe(2000);
    expect(snapshotOf(order('PROCESSED', pays('PROCESSED')), 1500).capturedValue).toBe(5000);
  });

  it('reads an order still CREATED or PENDING as its payment says when that payment is AUTHORIZED or PROCESSED', () => {
    const authorized = snapshotOf(order('PENDING', [payment('AUTHORIZED')] as Order['payments']));
    expect(authorized).toMatchObject({ status: 'AUTHORIZED', capturedValue: 0 });
    const processed = snapshotOf(order('CREATED', [payment('PROCESSED')] as Order['payments']));
    expect(processed).toMatchObject({ status: 'PROCESSED', capturedValue: 5000 });
    // A failed attempt on an open order, or one still pending, is read as the order says.
    expect(snapshotOf(order('PENDING', [payment('FAILED')] as Order['payments'])).status).toBe('PENDING');
    expect(snapshotOf(order('CREATED', [payment('PENDING')] as Order['payments'])).status).toBe('CREATED');
    // An order that says more than its payments is read as the order says.
    expect(snapshotOf(order('CANCELLED', [payment('AUTHORIZED')] as Order['payments'])).status).toBe('CANCELLED');
    // A split payment is the order's only when every live part says so (a failed earlier attempt does not count).
    const split = (...parts: string[]) => parts.map((p, i) => ({ ...payment(p), id: `v1-p${i}` })) as Order['payments'];
    expect(snapshotOf(order('PENDING', split('PROCESSED', 'PENDING'))).status).toBe('PENDING');
    expect(snapshotOf(order('PENDING', split('PROCESSED', 'AUTHORIZED'))).status).toBe('AUTHORIZED');
    expect(snapshotOf(order('PENDING', split('FAILED', 'AUTHORIZED'))).status).toBe('AUTHORIZED');
    expect(snapshotOf(order('PENDING', split('FAILED'))).status).toBe('PENDING');
  });
});
