/**
 * The payment activities: thin translations between the workflow's vocabulary and the Plural client, one file per
 * group of Plural operations. README.md lists the files and the rules they keep (idempotency keys, retries that first
 * check Plural's state, where card data is read, how failures are classified).
 */
import { createActivityContext } from './context';
import type { ActivityDeps } from './context';
import { createMerchantWebhookActivities } from './merchant-webhooks';
import { createOrderActivities, createOrderReader } from './orders';
import { createOtpActivities, createOtpGenerator } from './otp';
import { createCardLookup, createPaymentActivities } from './payments';
import { outagesParked } from './failures';
import { createSettlementActivities } from './settlement';

export type * from './types';
export { activityMerchantId, referenceFor, snapshotOf } from './context';
export type { ActivityContext, ActivityDeps, MerchantPluralClients, MerchantWebhookDeps } from './context';
export { classify } from './failures';
export type { FailureDetails } from './failures';
export { deviceInfoBody } from './payments';
export { MERCHANT_WEBHOOK_FAILURE } from './merchant-webhooks';

/** Builds the payment activities over a Plural client and a card vault. */
export function createActivities(deps: ActivityDeps) {
  const ctx = createActivityContext(deps);
  const readOrder = createOrderReader(ctx);
  const generateOtp = createOtpGenerator(ctx);
  const lookupCard = createCardLookup(ctx);
  return {
    // An outage (the card vault's, an abort, anything unrecognised) parks the step rather than failing the payment
    // (failures.ts, `outagesParked`).
    ...parkingOutages({
      ...createOrderActivities(ctx, readOrder, lookupCard),
      ...createPaymentActivities(ctx, lookupCard, generateOtp),
      ...createOtpActivities(ctx, readOrder, generateOtp),
      ...createSettlementActivities(ctx),
    }),
    ...createMerchantWebhookActivities(ctx, deps.merchantWebhooks),
  };
}

/** Each activity of `group` with its failures that are not verdicts turned into outages. */
function parkingOutages<G extends Record<string, (input: never) => Promise<unknown>>>(group: G): G {
  return Object.fromEntries(Object.entries(group).map(([name, fn]) => [name, outagesParked(fn)])) as G;
}

/** The activities the payment workflow calls (for `proxyActivities<PaymentActivities>`). */
export type PaymentActivities = ReturnType<typeof createActivities>;
