/**
 * The payment's message handlers. Requests from the merchant and the customer (OTP, resend, capture, cancel, the
 * operator's retry) only go into the {@link Inbox}: every activity call happens in the main body, one at a time, so
 * the state moves in one place. Plural's callbacks and webhooks are deduplicated and applied to the state at once,
 * since that is pure bookkeeping.
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
import { observationFromCallback, observationFromWebhook } from './observations';
import type { Payment } from './payment-state';

/** What arrived and has not been handled yet; drained by the phases. */
export class Inbox {
  readonly otps: OtpSubmittedSignal[] = [];
  readonly resends: OtpResendRequestedSignal[] = [];
  readonly captures: CaptureRequestedSignal[] = [];
  /** The first cancel request (later ones add nothing). */
  cancel: CancelRequestedSignal | undefined;
  /** How many times an operator asked to retry a parked step. */
  operatorRetries = 0;
  /** Gateway events already applied (`callback:<order>:<status>`, `webhook:<webhook-id>`). */
  readonly seenEvents = new Set<string>();
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
    inbox.cancel ??= sig;
  });
  setHandler(operatorRetrySignal, (sig) => {
    inbox.operatorRetries += 1;
    const parked = payment.s.parked;
    if (parked) payment.note(`operator retry of ${parked.operation}${sig.operator ? ` by ${sig.operator}` : ''}`);
  });
  setHandler(callbackReceivedSignal, (sig) => {
    const id = `callback:${sig.orderId}:${sig.status}`;
    if (inbox.seenEvents.has(id)) return;
    inbox.seenEvents.add(id);
    payment.observe(observationFromCallback(sig));
  });
  setHandler(webhookReceivedSignal, (sig) => {
    const id = `webhook:${sig.webhookId}`;
    if (inbox.seenEvents.has(id)) return;
    inbox.seenEvents.add(id);
    payment.observe(observationFromWebhook(sig));
  });
}
