import type { PaymentDurations, PaymentLimits, PaymentWorkflowInput } from './definitions';
import type { MerchantOutbox } from './merchant-outbox';
import type { Inbox } from './messages';
import type { Payment } from './payment-state';
import type { Steps } from './steps';

/** One payment's run: what every phase works with. */
export interface PaymentRun {
  readonly input: PaymentWorkflowInput;
  readonly workflowId: string;
  readonly durations: PaymentDurations;
  readonly limits: PaymentLimits;
  readonly payment: Payment;
  readonly inbox: Inbox;
  readonly steps: Steps;
  /** The merchant's webhooks; undefined when the merchant has no endpoint. */
  readonly outbox: MerchantOutbox | undefined;
}
