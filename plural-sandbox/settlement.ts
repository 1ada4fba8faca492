import { profileByKey } from './cards';
import { ERROR_CODES, invalidRequest, invalidStatus, PluralError } from './errors';
import type { Gateway } from './gateway';
import type { CaptureInput, RefundInput } from './schemas';
import { ORDER_STATUS, PAYMENT_STATUS, WEBHOOK_EVENT, type OrderStatus } from './state-machine';
import type { OrderRecord, PaymentRecord } from './store';
import { newOrderRecord } from './store';

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
  constructor(private readonly gateway: Gateway) {}

  /** Starts the wait of a sale reported AUTHORIZED (saleSettlement.throughAuthorized) before it is PROCESSED. */
  scheduleSale(order: OrderRecord): void {
    const delayMs = this.gateway.options.saleSettlement.delayMs;
    order.settleAt = this.gateway.now() + delayMs;
    this.gateway.timers.set('settlement', order.id, delayMs, () => this.settle(order));
  }

  /** Settles the order if its settlement time has come on the sandbox clock. */
  settleIfDue(order: OrderRecord): void {
    if (order.settleAt !== undefined && this.gateway.now() >= order.settleAt) this.settle(order);
  }

  /**
   * Settles at once what is waiting on a timer (the control API's and tests' shortcut): a sale reported AUTHORIZED.
   * @throws PluralError 422 when nothing is waiting
   */
  settleNow(orderId: string): OrderRecord {
    const order = this.gateway.getOrder(orderId);
    if (order.settleAt === undefined) {
      throw invalidStatus(order.id, order.status, 'settle', 'a sale AUTHORIZED and waiting to be PROCESSED');
    }
    this.settle(order);
    return order;
  }

  private settle(order: OrderRecord): void {
    if (order.settleAt === undefined) return;
    order.settleAt = undefined;
    this.gateway.timers.clear('settlement', order.id);
    this.completeSale(order);
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

  /** Creates (or, for a repeated merchant_order_reference with the same order and amount, returns) a refund. */
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
        `refund reference ${ref} is already used by refund ${existing.id}`,
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
    const available = parent.capturedAmount - parent.refundedAmount;
    if (input.order_amount.value > available) {
      throw new PluralError(
        422,
        ERROR_CODES.AMOUNT_LIMIT_EXCEEDED,
        `refund amount ${input.order_amount.value} exceeds refundable ${available} for order ${parent.id}`,
      );
    }
    const now = this.gateway.now();
    const id = this.gateway.uniqueOrderId('refund', `${parent.id}|${ref}`);
    const source = parent.payments.find((p) => p.status === PAYMENT_STATUS.PROCESSED);
    const payment: PaymentRecord = {
      id: `${id}-rf-a`,
      orderId: id,
      merchantPaymentReference: undefined,
      method: source?.method ?? 'CARD',
      status: PAYMENT_STATUS.PROCESSED,
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
        status: ORDER_STATUS.PROCESSED,
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
    parent.refundedAmount += input.order_amount.value;
    this.gateway.setStatus(
      parent,
      parent.refundedAmount === parent.capturedAmount ? ORDER_STATUS.FULLY_REFUNDED : ORDER_STATUS.PARTIALLY_REFUNDED,
    );
    this.gateway.emit(WEBHOOK_EVENT.REFUND_PROCESSED, refund);
    return { refund, created: true };
  }
}
