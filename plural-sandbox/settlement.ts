import { profileByKey } from './cards';
import { ERROR_CODES, invalidRequest, invalidStatus, orderNotFound, PluralError } from './errors';
import type { GatewayCore } from './gateway-core';
import type { CaptureInput, RefundInput } from './schemas';
import { ORDER_STATUS, PAYMENT_STATUS, WEBHOOK_EVENT, type OrderStatus } from './state-machine';
import type { OrderRecord, PaymentRecord } from './store';
import { newOrderRecord } from './store';

/** How a settlement ends: as it should, or (refunds only, through the control API) in failure. */
export type SettleOutcome = 'processed' | 'failed';

/** Capture and cancel apply only to pre-auth orders: a sale reporting AUTHORIZED is on its way to PROCESSED. */
function refuseSale(order: OrderRecord, action: 'capture' | 'cancel'): void {
  if (order.preAuth) return;
  throw new PluralError(
    422,
    ERROR_CODES.INVALID_ORDER_STATUS,
    `cannot ${action} order ${order.id}: it is a sale (pre_auth false), which Plural settles itself; capture and cancel apply only to pre-auth orders`,
  );
}

/** Capture (full or ONE partial), cancel and refund of an order, and the automatic settlement of a sale. */
export class Settlement {
  constructor(private readonly gateway: GatewayCore) {}

  /** Starts the wait of a sale reported AUTHORIZED (saleSettlement.throughAuthorized) before it is PROCESSED. */
  scheduleSale(order: OrderRecord): void {
    const delayMs = this.gateway.options.saleSettlement.delayMs;
    order.settleAt = this.gateway.now() + delayMs;
    this.gateway.timers.set('settlement', order.id, delayMs, () => this.settle(order));
  }

  /** Settles the order, and its PENDING refunds, if their time has come on the sandbox clock. */
  settleIfDue(order: OrderRecord): void {
    if (order.settleAt !== undefined && this.gateway.now() >= order.settleAt) this.settle(order);
    if (order.refundPendingAmount === 0) return;
    for (const id of order.refundIds) {
      const refund = this.gateway.store.orders.get(id);
      if (refund?.settleAt !== undefined && this.gateway.now() >= refund.settleAt) this.settle(refund);
    }
  }

  /**
   * Settles at once what is waiting on a timer (the control API's and tests' shortcut): a sale reported AUTHORIZED
   * becomes PROCESSED; a PENDING refund becomes PROCESSED, or FAILED with `outcome: 'failed'`.
   * @throws PluralError 422 when nothing is waiting, or `failed` is asked of a sale
   */
  settleNow(orderId: string, outcome: SettleOutcome = 'processed'): OrderRecord {
    // Read without catching up first: with a fake clock past settleAt, the caller still decides the outcome.
    const order = this.gateway.store.orders.get(orderId);
    if (!order) throw orderNotFound(orderId);
    if (order.settleAt === undefined) {
      throw invalidStatus(
        order.id,
        order.status,
        'settle',
        'a sale AUTHORIZED and waiting to be PROCESSED, or a PENDING refund',
      );
    }
    if (outcome === 'failed' && order.type !== 'REFUND') {
      throw new PluralError(
        422,
        ERROR_CODES.INVALID_ORDER_STATUS,
        `cannot fail the settlement of order ${order.id}: only a PENDING refund can be made to fail`,
      );
    }
    this.settle(order, outcome);
    this.gateway.catchUp(order);
    return order;
  }

  private settle(order: OrderRecord, outcome: SettleOutcome = 'processed'): void {
    if (order.settleAt === undefined) return;
    order.settleAt = undefined;
    this.gateway.timers.clear('settlement', order.id);
    if (order.type === 'CHARGE') {
      this.completeSale(order);
      return;
    }
    const parent = this.gateway.store.orders.get(order.parentOrderId ?? '');
    if (!parent) throw new Error(`refund ${order.id} has no parent order`);
    if (outcome === 'failed') this.failRefund(order, parent);
    else this.completeRefund(order, parent);
  }

  /** The sale's automatic capture: payments PROCESSED with capture_data, ORDER_PROCESSED. */
  private completeSale(order: OrderRecord): void {
    const now = this.gateway.now();
    // Plural captures a sale itself; the sandbox makes up the capture reference (README: sources disagree, 14).
    const ref = this.gateway.dice.uuid('sale-capture', order.id);
    for (const p of order.payments) {
      if (p.status !== PAYMENT_STATUS.AUTHORIZED) continue;
      p.captures.push({ merchantCaptureReference: ref, amount: { ...p.amount }, at: now });
      this.gateway.setPayment(p, PAYMENT_STATUS.PROCESSED);
    }
    order.capturedAmount = order.authorizedAmount;
    order.capturedAt = now;
    this.gateway.setStatus(order, ORDER_STATUS.PROCESSED);
    this.gateway.emit(WEBHOOK_EVENT.ORDER_PROCESSED, order);
  }

  capture(orderId: string, input: CaptureInput): OrderRecord {
    const order = this.gateway.getOrder(orderId);
    const ref = input.merchant_capture_reference;
    if (order.payments.some((p) => p.captures.some((c) => c.merchantCaptureReference === ref))) {
      throw new PluralError(
        422,
        ERROR_CODES.DUPLICATE_REQUEST,
        `capture ${ref} was already applied to order ${order.id} (status ${order.status})`,
      );
    }
    if (order.status !== ORDER_STATUS.AUTHORIZED) {
      throw invalidStatus(order.id, order.status, 'capture', 'AUTHORIZED');
    }
    refuseSale(order, 'capture');
    const amount = input.capture_amount?.value ?? order.authorizedAmount;
    if (input.capture_amount && input.capture_amount.currency !== order.amount.currency) {
      throw invalidRequest(
        `capture_amount.currency ${input.capture_amount.currency} differs from order currency ${order.amount.currency}`,
      );
    }
    if (amount > order.authorizedAmount) {
      throw new PluralError(
        422,
        ERROR_CODES.AMOUNT_LIMIT_EXCEEDED,
        `capture amount ${amount} exceeds authorized ${order.authorizedAmount} for order ${order.id}`,
      );
    }
    order.captureAttempts += 1;
    const authorized = order.payments.filter((p) => p.status === PAYMENT_STATUS.AUTHORIZED);
    const card = authorized.find((p) => p.method === 'CARD');
    const profile = card ? profileByKey(card.cardKey) : undefined;
    if (profile?.outcome === 'capture_decline') {
      const detail = { code: ERROR_CODES.PAYMENT_DECLINED, message: profile.errorMessage ?? 'Capture declined' };
      for (const p of authorized) this.gateway.setPayment(p, PAYMENT_STATUS.FAILED, detail);
      this.gateway.setStatus(order, ORDER_STATUS.FAILED);
      this.gateway.emit(WEBHOOK_EVENT.PAYMENT_FAILED, order);
      throw new PluralError(
        422,
        ERROR_CODES.PAYMENT_DECLINED,
        `capture of order ${order.id} declined: ${detail.message}`,
      );
    }
    const now = this.gateway.now();
    let left = amount;
    for (const p of authorized) {
      const part = Math.min(left, p.amount.value);
      left -= part;
      if (part > 0)
        p.captures.push({
          merchantCaptureReference: ref,
          amount: { value: part, currency: p.amount.currency },
          at: now,
        });
      this.gateway.setPayment(p, PAYMENT_STATUS.PROCESSED);
    }
    order.captureCount += 1;
    order.capturedAmount = amount;
    order.reversedAmount = order.authorizedAmount - amount;
    order.capturedAt = now;
    this.gateway.setStatus(
      order,
      amount === order.authorizedAmount ? ORDER_STATUS.PROCESSED : ORDER_STATUS.PARTIALLY_CAPTURED,
    );
    this.gateway.emit(WEBHOOK_EVENT.ORDER_PROCESSED, order);
    return order;
  }

  cancel(orderId: string): OrderRecord {
    const order = this.gateway.getOrder(orderId);
    if (order.status !== ORDER_STATUS.AUTHORIZED) {
      throw invalidStatus(order.id, order.status, 'cancel', 'AUTHORIZED');
    }
    refuseSale(order, 'cancel');
    for (const p of order.payments) {
      if (p.status === PAYMENT_STATUS.AUTHORIZED) this.gateway.setPayment(p, PAYMENT_STATUS.CANCELLED);
    }
    order.cancelCount += 1;
    order.cancelledAt = this.gateway.now();
    order.reversedAmount = order.authorizedAmount;
    this.gateway.setStatus(order, ORDER_STATUS.CANCELLED);
    this.gateway.emit(WEBHOOK_EVENT.ORDER_CANCELLED, order);
    return order;
  }

  /**
   * Creates (or, for a repeated merchant_order_reference with the same order and amount, returns) a refund. The
   * refund is PROCESSED at once, or PENDING for refundPendingMs first; its amount is reserved on the parent from the
   * start, so refunds in flight cannot together exceed what was captured.
   */
  refund(parentId: string, input: RefundInput): { refund: OrderRecord; created: boolean } {
    const parent = this.gateway.getOrder(parentId);
    const ref = input.merchant_order_reference;
    const existingId = this.gateway.store.refundByReference.get(ref);
    if (existingId !== undefined) {
      const existing = this.gateway.getOrder(existingId);
      if (existing.parentOrderId === parent.id && existing.amount.value === input.order_amount.value) {
        return { refund: existing, created: false };
      }
      throw new PluralError(
        422,
        ERROR_CODES.DUPLICATE_REQUEST,
        `refund reference ${ref} is already used by refund ${existing.id} (order ${existing.parentOrderId ?? '?'}, amount ${existing.amount.value})`,
      );
    }
    const chargeWithRef = this.gateway.store.orderByReference.get(ref);
    if (chargeWithRef !== undefined) {
      throw new PluralError(
        422,
        ERROR_CODES.DUPLICATE_REQUEST,
        `merchant_order_reference ${ref} is already used by order ${chargeWithRef}; a refund needs its own reference`,
      );
    }
    const refundable: readonly OrderStatus[] = [
      ORDER_STATUS.PROCESSED,
      ORDER_STATUS.PARTIALLY_CAPTURED,
      ORDER_STATUS.PARTIALLY_REFUNDED,
    ];
    if (parent.type !== 'CHARGE' || !refundable.includes(parent.status)) {
      throw invalidStatus(parent.id, parent.status, 'refund', 'PROCESSED, PARTIALLY_CAPTURED or PARTIALLY_REFUNDED');
    }
    if (input.order_amount.currency !== parent.amount.currency) {
      throw invalidRequest(
        `order_amount.currency ${input.order_amount.currency} differs from order currency ${parent.amount.currency}`,
      );
    }
    const available = parent.capturedAmount - parent.refundedAmount - parent.refundPendingAmount;
    if (input.order_amount.value > available) {
      throw new PluralError(
        422,
        ERROR_CODES.AMOUNT_LIMIT_EXCEEDED,
        `refund amount ${input.order_amount.value} exceeds refundable ${available} for order ${parent.id} (captured ${parent.capturedAmount}, refunded ${parent.refundedAmount}, refunds pending ${parent.refundPendingAmount})`,
      );
    }
    const now = this.gateway.now();
    const pendingMs = this.gateway.options.refundPendingMs;
    const status = pendingMs > 0 ? PAYMENT_STATUS.PENDING : PAYMENT_STATUS.PROCESSED;
    const id = this.gateway.uniqueOrderId('refund', `${parent.id}|${ref}`);
    const source = parent.payments.find((p) => p.status === PAYMENT_STATUS.PROCESSED);
    const payment: PaymentRecord = {
      id: `${id}-rf-a`,
      orderId: id,
      merchantPaymentReference: undefined,
      method: source?.method ?? 'CARD',
      status,
      amount: { ...input.order_amount },
      cardKey: source?.cardKey ?? '',
      last4: source?.last4,
      expiry: undefined,
      tokenTxnType: source?.tokenTxnType,
      saveCard: false,
      errorDetail: undefined,
      captures: [],
      acquirerReference: this.gateway.dice.digits('acq', id, 15),
      otp: undefined,
      createdAt: now,
      updatedAt: now,
    };
    const refund = newOrderRecord(
      {
        id,
        type: 'REFUND',
        merchantOrderReference: ref,
        amount: { ...input.order_amount },
        preAuth: false,
        status: pendingMs > 0 ? ORDER_STATUS.PENDING : ORDER_STATUS.PROCESSED,
        callbackUrl: undefined,
        failureCallbackUrl: undefined,
        allowedPaymentMethods: undefined,
        notes: undefined,
        purchaseDetails: input.merchant_metadata ? { merchant_metadata: input.merchant_metadata } : undefined,
        customerId: parent.customerId,
        parentOrderId: parent.id,
        payments: [payment],
      },
      now,
    );
    this.gateway.store.orders.set(id, refund);
    this.gateway.store.refundByReference.set(ref, id);
    parent.refundIds.push(id);
    parent.refundPendingAmount += refund.amount.value;
    if (pendingMs > 0) {
      refund.settleAt = now + pendingMs;
      this.gateway.timers.set('settlement', refund.id, pendingMs, () => this.settle(refund));
    } else {
      this.completeRefund(refund, parent);
    }
    return { refund, created: true };
  }

  /** The refund reaches the customer: refund PROCESSED, parent PARTIALLY_/FULLY_REFUNDED, REFUND_PROCESSED. */
  private completeRefund(refund: OrderRecord, parent: OrderRecord): void {
    const value = refund.amount.value;
    parent.refundPendingAmount -= value;
    parent.refundedAmount += value;
    for (const p of refund.payments) this.gateway.setPayment(p, PAYMENT_STATUS.PROCESSED);
    if (refund.status !== ORDER_STATUS.PROCESSED) this.gateway.setStatus(refund, ORDER_STATUS.PROCESSED);
    this.gateway.setStatus(
      parent,
      parent.refundedAmount === parent.capturedAmount ? ORDER_STATUS.FULLY_REFUNDED : ORDER_STATUS.PARTIALLY_REFUNDED,
    );
    this.gateway.emit(WEBHOOK_EVENT.REFUND_PROCESSED, refund);
  }

  /** A PENDING refund fails (control API only): refund FAILED, amount refundable again, REFUND_FAILED. */
  private failRefund(refund: OrderRecord, parent: OrderRecord): void {
    parent.refundPendingAmount -= refund.amount.value;
    const detail = { code: ERROR_CODES.REFUND_FAILED, message: 'Refund failed (sandbox control API)' };
    for (const p of refund.payments) this.gateway.setPayment(p, PAYMENT_STATUS.FAILED, detail);
    this.gateway.setStatus(refund, ORDER_STATUS.FAILED);
    this.gateway.emit(WEBHOOK_EVENT.REFUND_FAILED, refund);
  }
}
