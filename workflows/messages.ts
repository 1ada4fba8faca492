/**
 * The payment's message handlers. Requests from the merchant and the customer (OTP, resend, capture, cancel, the
 * operator's retry) only go into the {@link Inbox}: every activity call happens in the main body, one at a time, so
 * the state moves in one place. Plural's callbacks and webhooks are deduplicated and queued for confirmation: the main
 * body reads Plural's order (Get Order) and moves the payment on what the order says, never on the event itself.
 */
import { setHandler } from '@temporalio/workflow';
import {
  callbackReceivedSignal,
  cancelRequestedSignal,
  captureRequestedSignal,
  getPaymentQuery,
  operatorRetrySignal,
  otpResendRequestedSignal,
  otpSubmittedSignal,
  webhookReceivedSignal,
} from './definitions';
import type {
  CancelRequestedSignal,
  CaptureRequestedSignal,
  OtpResendRequestedSignal,
  OtpSubmittedSignal,
} from './definitions';
import type { Payment } from './payment-state';

/** Who asked to cancel. */
export type CancelSource = 'merchant' | 'operator' | 'workflow';

/** What arrived and has not been handled yet; drained by the phases. */
export class Inbox {
  readonly otps: OtpSubmittedSignal[] = [];
  readonly resends: OtpResendRequestedSignal[] = [];
  readonly captures: CaptureRequestedSignal[] = [];
  /** The first cancel request not yet acted on (later ones add nothing). */
  cancel: (CancelRequestedSignal & { source: CancelSource }) | undefined;
  /** How many times an operator asked to retry a parked step. */
  operatorRetries = 0;
  /** Gateway events already seen (`callback:<order>:<status>`, `webhook:<webhook-id>`). */
  readonly seenEvents = new Set<string>();
  /** Gateway events waiting for a Get Order to confirm what they say (labels, for the audit trail). */
  readonly unconfirmed: string[] = [];

  /** Records a cancel request unless one is already waiting. */
  requestCancel(request: CancelRequestedSignal, source: CancelSource): void {
    this.cancel ??= { ...request, source };
  }
}

/** Registers the query and every signal handler of `payment`. */
export function registerHandlers(payment: Payment, inbox: Inbox): void {
  setHandler(getPaymentQuery, () => payment.snapshot());

  setHandler(otpSubmittedSignal, (sig) => {
    inbox.otps.push(sig);
  });
  setHandler(otpResendRequestedSignal, (sig) => {
    inbox.resends.push(sig);
  });
  setHandler(captureRequestedSignal, (sig) => {
    inbox.captures.push(sig);
  });
  setHandler(cancelRequestedSignal, (sig) => {
    // A cancel sent while a step is parked is the operator giving up on it.
    inbox.requestCancel(sig, payment.s.parked ? 'operator' : 'merchant');
  });
  setHandler(operatorRetrySignal, (sig) => {
    inbox.operatorRetries += 1;
    const parked = payment.s.parked;
    if (parked) payment.note(`operator retry of ${parked.operation}${sig.operator ? ` by ${sig.operator}` : ''}`);
  });

  /** Queues a verified gateway event for confirmation with Get Order, once per event id. */
  const gatewayEvent = (id: string, orderId: string, label: string): void => {
    if (inbox.seenEvents.has(id)) return;
    inbox.seenEvents.add(id);
    const own = payment.s.pluralOrderId;
    if (own !== undefined && orderId !== own) {
      payment.note(`ignored ${label}: it is about Plural order ${orderId}, not this payment's order ${own}`);
      return;
    }
    payment.note(`${label} received; confirming with Get Order`);
    inbox.unconfirmed.push(label);
  };
  setHandler(callbackReceivedSignal, (sig) => {
    gatewayEvent(`callback:${sig.orderId}:${sig.status}`, sig.orderId, `callback ${sig.status}`);
  });
  setHandler(webhookReceivedSignal, (sig) => {
    gatewayEvent(`webhook:${sig.webhookId}`, sig.orderId, `webhook ${sig.eventType} (${sig.webhookId})`);
  });
}
