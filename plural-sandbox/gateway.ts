import { randomBytes } from 'node:crypto';
import { profileByKey, type TestCard } from './cards';
import { Customers } from './customers';
import type { EventSink, GatewayCore } from './gateway-core';
import { ERROR_CODES, invalidRequest, invalidStatus, orderNotFound, PluralError } from './errors';
import { Instruments } from './instruments';
import type { ResolvedOptions } from './options';
import { NativeOtp } from './otp';
import type { Dice } from './random';
import type { CreateOrderInput, CreatePaymentsInput } from './schemas';
import { Settlement } from './settlement';
import { signCallback } from './signatures';
import { OrderTimers } from './timers';
import {
  canTransition,
  IllegalTransitionError,
  ORDER_STATUS,
  PAYMENT_STATUS,
  WEBHOOK_EVENT,
  type OrderStatus,
  type PaymentStatus,
} from './state-machine';
import type { OrderRecord, PaymentRecord, Store } from './store';
import { newOrderRecord } from './store';

/** Where the customer's browser goes after authentication: the callback URL and the signed fields. */
export interface CallbackTarget {
  url: string | undefined;
  fields: Record<string, string>;
}

export interface OtpResponse {
  status?: 'SUCCESS';
  next?: string[];
  meta_data?: { resend_after: string };
}

const ATTEMPT_LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** Test cards paid on the checkout page expire this many years after the sandbox clock's year. */
const CHECKOUT_CARD_YEARS_AHEAD = 5;

/** Statuses in which an order can still be paid (and so can expire). */
const OPEN_STATUSES: ReadonlySet<OrderStatus> = new Set([
  ORDER_STATUS.CREATED,
  ORDER_STATUS.PENDING,
  ORDER_STATUS.ATTEMPTED,
]);

/**
 * Plural's order/payment state machine over the in-memory {@link Store}: orders, payment attempts, authentication
 * and hosted checkout here; card/points instruments, native OTP, capture/cancel/refund and customers in their own
 * modules, which share this class's primitives (marked internal).
 */
export class Gateway implements GatewayCore {
  /** Timers of the timed steps (payment expiry, settlement, order expiry); unref'd, cleared by stop(). @internal */
  readonly timers = new OrderTimers();

  readonly instruments = new Instruments(this);
  readonly otp = new NativeOtp(this);
  readonly settlement = new Settlement(this);
  readonly customers: Customers;

  constructor(
    readonly store: Store,
    readonly options: ResolvedOptions,
    readonly dice: Dice,
    /** @internal for the services below */
    readonly emit: EventSink,
  ) {
    this.customers = new Customers(store, dice, () => this.now());
  }

  /** @internal */
  now(): number {
    return this.options.now();
  }

  // ---- orders ------------------------------------------------------------------------------------------------

  createOrder(input: CreateOrderInput): OrderRecord {
    const ref = input.merchant_order_reference;
    if (this.store.orderByReference.has(ref) || this.store.refundByReference.has(ref)) {
      throw new PluralError(
        422,
        ERROR_CODES.DUPLICATE_REQUEST,
        `an order with merchant_order_reference ${ref} already exists; fetch it with GET /api/pay/v1/orders/reference/{merchant_order_reference}`,
      );
    }
    const now = this.now();
    const order = newOrderRecord(
      {
        id: this.uniqueOrderId('order', ref),
        type: 'CHARGE',
        merchantOrderReference: ref,
        amount: { ...input.order_amount },
        preAuth: input.pre_auth,
        status: ORDER_STATUS.CREATED,
        callbackUrl: input.callback_url,
        failureCallbackUrl: input.failure_callback_url,
        allowedPaymentMethods: input.allowed_payment_methods,
        notes: input.notes,
        purchaseDetails: input.purchase_details,
        customerId: input.purchase_details?.customer?.customer_id,
        parentOrderId: undefined,
        payments: [],
      },
      now,
    );
    this.store.orders.set(order.id, order);
    this.store.orderByReference.set(ref, order.id);
    const expiryMs = this.options.orderExpirySeconds * 1000;
    if (expiryMs > 0) {
      order.expiresAt = now + expiryMs;
      this.timers.set('order-expiry', order.id, expiryMs, () => this.expireOrder(order, true));
    }
    return order;
  }

  getOrder(orderId: string): OrderRecord {
    const order = this.store.orders.get(orderId);
    if (!order) throw orderNotFound(orderId);
    this.catchUp(order);
    return order;
  }

  /** Clears every timer. */
  stop(): void {
    this.timers.stop();
  }

  /**
   * Applies every timed step now due on the sandbox clock (payment expiry, settlement, order expiry). Timers do the same in real
   * time; checking on every read is what makes a fake `now` clock work.
   * @internal
   */
  catchUp(order: OrderRecord): void {
    this.expirePayment(order);
    this.settlement.settleIfDue(order);
    this.expireOrder(order);
  }

  /**
   * An order left unpaid ends: still CREATED or ATTEMPTED at its expiry, it becomes FAILED (`ORDER_FAILED`). A payment
   * in flight (PENDING) is let finish; if it fails after the expiry, the order expires then.
   * @internal
   */
  expireOrder(order: OrderRecord, force = false): void {
    if (order.expiresAt === undefined || order.expiredAt !== undefined) return;
    if (order.status !== ORDER_STATUS.CREATED && order.status !== ORDER_STATUS.ATTEMPTED) return;
    if (!force && this.now() < order.expiresAt) return;
    order.expiredAt = this.now();
    this.setStatus(order, ORDER_STATUS.FAILED);
    this.emit(WEBHOOK_EVENT.ORDER_FAILED, order);
  }

  /** Plural fails a payment the customer never finished; checked lazily (fake clocks) and by a timer (real time). */
  /** @internal */
  expirePayment(order: OrderRecord, force = false): void {
    if (order.status !== ORDER_STATUS.PENDING || order.pendingDeadline === undefined) return;
    if (!force && this.now() < order.pendingDeadline) return;
    const current = order.payments.filter((p) => order.currentPaymentIds.includes(p.id));
    this.endAttempt(order);
    this.failAttempt(order, current, ERROR_CODES.PAYMENT_EXPIRED, 'Payment was not completed in time');
  }

  /** @internal */
  endAttempt(order: OrderRecord): void {
    // The token stays in orderByChallengeToken (dead: order.challengeToken no longer matches) so that its page can
    // tell an expired order from a used link.
    order.challengeToken = undefined;
    order.currentPaymentIds = [];
    order.pendingDeadline = undefined;
    this.timers.clear('payment-expiry', order.id);
  }

  getOrderByReference(ref: string): OrderRecord {
    const id = this.store.orderByReference.get(ref) ?? this.store.refundByReference.get(ref);
    if (id === undefined) {
      throw new PluralError(404, ERROR_CODES.ORDER_NOT_FOUND, `no order with merchant_order_reference ${ref}`);
    }
    return this.getOrder(id);
  }

  /** @internal */
  uniqueOrderId(kind: string, key: string): string {
    for (let salt = 0; ; salt++) {
      const k = salt === 0 ? key : `${key}~${salt}`;
      const id = `v1-${this.dice.digits(kind, k, 10)}-aa-${this.dice.alnum(kind, k, 6)}`;
      if (!this.store.orders.has(id)) return id;
    }
  }

  /** @internal */
  setStatus(order: OrderRecord, to: OrderStatus): void {
    if (!canTransition(order.status, to)) throw new IllegalTransitionError(order.id, order.status, to);
    const now = this.now();
    order.status = to;
    order.updatedAt = now;
    order.history.push({ status: to, at: now });
    if (!OPEN_STATUSES.has(to)) this.timers.clear('order-expiry', order.id);
  }

  /** @internal */
  setPayment(payment: PaymentRecord, status: PaymentStatus, error?: { code: string; message: string }): void {
    payment.status = status;
    payment.errorDetail = error;
    payment.updatedAt = this.now();
  }

  // ---- payments ----------------------------------------------------------------------------------------------

  /** Creates the payments of one attempt; returns the order and the challenge token of the attempt. */
  createPayments(orderId: string, input: CreatePaymentsInput): { order: OrderRecord; challengeToken: string } {
    const order = this.getOrder(orderId);
    if (order.expiredAt !== undefined) {
      throw new PluralError(
        422,
        ERROR_CODES.INVALID_ORDER_STATUS,
        `cannot create a payment for order ${order.id}: it expired unpaid at ${new Date(order.expiredAt).toISOString()} and is FAILED`,
      );
    }
    if (order.status !== ORDER_STATUS.CREATED && order.status !== ORDER_STATUS.ATTEMPTED) {
      throw invalidStatus(order.id, order.status, 'create a payment for', 'CREATED or ATTEMPTED');
    }
    const cards = input.payments.filter((p) => p.payment_method === 'CARD');
    const points = input.payments.filter((p) => p.payment_method === 'POINTS');
    if (cards.length > 1 || points.length > 1) {
      throw invalidRequest('payments: at most one CARD and one POINTS payment per request');
    }
    let total = 0;
    for (const p of input.payments) {
      if (p.payment_amount.currency !== order.amount.currency) {
        throw invalidRequest(
          `payment_amount.currency ${p.payment_amount.currency} differs from order currency ${order.amount.currency}`,
        );
      }
      if (order.allowedPaymentMethods && !order.allowedPaymentMethods.includes(p.payment_method)) {
        throw invalidRequest(`payment_method ${p.payment_method} is not in the order's allowed_payment_methods`);
      }
      total += p.payment_amount.value;
    }
    if (total !== order.amount.value) {
      throw invalidRequest(`payment amounts total ${total} but order ${order.id} is for ${order.amount.value}`);
    }
    const attemptLetter = ATTEMPT_LETTERS[order.attempts % ATTEMPT_LETTERS.length] ?? 'z';
    const now = this.now();
    const drafts: PaymentRecord[] = [];
    const card = cards[0];
    let cardNumberForPoints: string | undefined;
    if (card) {
      const draft = this.instruments.cardPayment(order, card, `${order.id}-cc-${attemptLetter}`, now);
      drafts.push(draft.payment);
      cardNumberForPoints = draft.number;
    }
    const pts = points[0];
    if (pts)
      drafts.push(
        this.instruments.pointsPayment(order, pts, `${order.id}-pt-${attemptLetter}`, cardNumberForPoints, now),
      );

    // Validation passed: commit the attempt.
    const token = randomBytes(24).toString('base64url');
    order.attempts += 1;
    order.payments.push(...drafts);
    order.currentPaymentIds = drafts.map((p) => p.id);
    order.challengeToken = token;
    this.store.orderByChallengeToken.set(token, order.id);
    for (const p of drafts) this.store.orderByPayment.set(p.id, order.id);
    const timeoutMs = this.options.paymentTimeoutSeconds * 1000;
    order.pendingDeadline = now + timeoutMs;
    this.timers.set('payment-expiry', order.id, timeoutMs, () => this.expirePayment(order, true));
    this.setStatus(order, ORDER_STATUS.PENDING);
    return { order, challengeToken: token };
  }

  // ---- authentication: the challenge page and its outcome (native OTP: otp.ts) ------------------------------

  /** The order behind a live challenge token, or undefined when it is unknown or already used. */
  orderForChallenge(token: string): OrderRecord | undefined {
    const order = this.challengeOwner(token);
    return order && order.status === ORDER_STATUS.PENDING && order.challengeToken === token ? order : undefined;
  }

  /** The order a challenge token was ever issued for (live or dead), after applying what is due. */
  challengeOwner(token: string): OrderRecord | undefined {
    const id = this.store.orderByChallengeToken.get(token);
    const order = id === undefined ? undefined : this.store.orders.get(id);
    if (order) this.catchUp(order);
    return order;
  }

  /** Completes the challenge page (the bank ACS): approve or decline. */
  completeChallenge(token: string, approve: boolean): { order: OrderRecord; callback: CallbackTarget } {
    const order = this.orderForChallenge(token);
    if (!order) throw new PluralError(404, ERROR_CODES.NOT_FOUND, 'challenge not found or already completed');
    this.authenticate(order, approve);
    return { order, callback: this.callbackFor(order) };
  }

  /** Completes a payment attempt by payment id, as the control API's ACS shortcut. */
  completeByPaymentId(paymentId: string, approve: boolean): { order: OrderRecord; callback: CallbackTarget } {
    const orderId = this.store.orderByPayment.get(paymentId);
    const order = orderId === undefined ? undefined : this.store.orders.get(orderId);
    if (!order) throw new PluralError(404, ERROR_CODES.PAYMENT_NOT_FOUND, `payment ${paymentId} not found`);
    this.catchUp(order);
    if (order.status !== ORDER_STATUS.PENDING || !order.currentPaymentIds.includes(paymentId)) {
      throw invalidStatus(order.id, order.status, 'authenticate', 'PENDING with this payment in progress');
    }
    this.authenticate(order, approve);
    return { order, callback: this.callbackFor(order) };
  }

  /** Ends the current attempt: authentication result, then the issuer's decision. */
  /** @internal */
  authenticate(order: OrderRecord, approved: boolean): void {
    const current = order.payments.filter((p) => order.currentPaymentIds.includes(p.id));
    const card = current.find((p) => p.method === 'CARD') ?? current[0];
    const profile = card ? profileByKey(card.cardKey) : undefined;
    this.endAttempt(order);
    if (!approved) {
      this.failAttempt(order, current, ERROR_CODES.USER_AUTHENTICATION_FAILED, 'Consumer Authentication Failed');
      return;
    }
    if (profile?.outcome === 'decline') {
      this.failAttempt(
        order,
        current,
        profile.errorCode ?? ERROR_CODES.PAYMENT_DECLINED,
        profile.errorMessage ?? 'Payment declined',
      );
      return;
    }
    // A sale may pass through AUTHORIZED before PROCESSED, as Plural's may (saleSettlement option).
    const saleThroughAuthorized = !order.preAuth && this.options.saleSettlement.throughAuthorized;
    const authorizedOnly = order.preAuth || saleThroughAuthorized;
    for (const p of current) this.setPayment(p, authorizedOnly ? PAYMENT_STATUS.AUTHORIZED : PAYMENT_STATUS.PROCESSED);
    order.authorizedAmount = order.amount.value;
    order.authorizedAt = this.now();
    if (!authorizedOnly) {
      order.capturedAmount = order.amount.value;
      order.capturedAt = order.authorizedAt;
    }
    this.setStatus(order, authorizedOnly ? ORDER_STATUS.AUTHORIZED : ORDER_STATUS.PROCESSED);
    if (card?.saveCard) this.customers.saveToken(order, card);
    this.emit(authorizedOnly ? WEBHOOK_EVENT.ORDER_AUTHORIZED : WEBHOOK_EVENT.ORDER_PROCESSED, order);
    if (saleThroughAuthorized) this.settlement.scheduleSale(order);
  }

  /** @internal */
  failAttempt(order: OrderRecord, payments: PaymentRecord[], code: string, message: string): void {
    for (const p of payments) this.setPayment(p, PAYMENT_STATUS.FAILED, { code, message });
    const exhausted = order.attempts >= this.options.maxPaymentAttempts;
    this.setStatus(order, exhausted ? ORDER_STATUS.FAILED : ORDER_STATUS.ATTEMPTED);
    this.emit(WEBHOOK_EVENT.PAYMENT_FAILED, order);
    if (exhausted) this.emit(WEBHOOK_EVENT.ORDER_FAILED, order);
    else this.expireOrder(order); // the attempt outlived the order's expiry
  }

  /** The signed payload the browser carries to the merchant's callback URL. */
  callbackFor(order: OrderRecord): CallbackTarget {
    const card = [...order.payments].reverse().find((p) => p.method === 'CARD') ?? order.payments.at(-1);
    const status = card?.status ?? order.status;
    // The guides' field set: order_id, payment_status (or status, by option), error_code and error_message on
    // failure, and the signature over all the others.
    const fields: Record<string, string> = { order_id: order.id, [this.options.callbackStatusField]: status };
    const failed = status === PAYMENT_STATUS.FAILED;
    if (failed && card?.errorDetail) {
      fields.error_code = card.errorDetail.code;
      fields.error_message = card.errorDetail.message;
    }
    fields.signature = signCallback(fields, this.options.callbackSecretHex);
    return { url: failed ? (order.failureCallbackUrl ?? order.callbackUrl) : order.callbackUrl, fields };
  }

  // ---- hosted checkout ---------------------------------------------------------------------------------------

  createCheckout(input: CreateOrderInput): { order: OrderRecord; token: string } {
    const order = this.createOrder(input.pre_auth ? this.preAuthCheckoutInput(input) : input);
    const token = randomBytes(24).toString('base64url');
    this.store.orderByCheckoutToken.set(token, order.id);
    return { order, token };
  }

  /** Hosted checkout allows pre-auth for card payments only (pre-authorization guide). */
  private preAuthCheckoutInput(input: CreateOrderInput): CreateOrderInput {
    const others = (input.allowed_payment_methods ?? []).filter((m) => m !== 'CARD');
    if (others.length > 0 && this.options.checkoutPreAuthOtherMethods === 'reject') {
      throw invalidRequest(
        `allowed_payment_methods: a pre-auth hosted checkout accepts CARD only, not ${others.join(', ')}`,
      );
    }
    return { ...input, allowed_payment_methods: ['CARD'] };
  }

  /**
   * The customer pays on the hosted checkout page with a sandbox test card: a new payment attempt on the link's
   * order (also after a failed one, while retries remain). Answers the order and the attempt's challenge token.
   * @throws PluralError as Create Payment does (404 for an unknown link)
   */
  payCheckout(token: string, card: TestCard): { order: OrderRecord; challengeToken: string; paymentId: string } {
    const order = this.orderForCheckout(token);
    if (!order) throw new PluralError(404, ERROR_CODES.NOT_FOUND, 'checkout link not found');
    const { challengeToken } = this.createPayments(order.id, {
      payments: [
        {
          payment_method: 'CARD',
          payment_amount: { ...order.amount },
          payment_option: {
            card_details: {
              card_number: card.number,
              cvv: '123',
              expiry_month: '12',
              expiry_year: String(new Date(this.now()).getUTCFullYear() + CHECKOUT_CARD_YEARS_AHEAD),
            },
          },
        },
      ],
    });
    const paymentId = order.currentPaymentIds[0] ?? '';
    return { order, challengeToken, paymentId };
  }

  orderForCheckout(token: string): OrderRecord | undefined {
    const id = this.store.orderByCheckoutToken.get(token);
    const order = id === undefined ? undefined : this.store.orders.get(id);
    if (order) this.catchUp(order);
    return order;
  }
}
