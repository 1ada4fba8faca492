/**
 * The payment workflow's merchant webhooks on the time-skipping test server against the Plural sandbox: the real
 * `deliverMerchantEvent` activity signs and POSTs to a receiver that verifies with `standardwebhooks`. Retry
 * intervals are shortened through the input's limits (the schedule is the same, only faster).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import type { PaymentActivities } from '../../activities';
import { merchantEventId, newWebhookSecret, staticWebhookDirectory, WebhookSender } from '../../merchant-webhooks';
import type { MerchantDelivery, PaymentWorkflowInput } from '../../workflows/definitions';
import { CARDS } from '../support/cards';
import { MerchantReceiver } from '../support/merchant-receiver';
import { waitFor } from '../support/wait';
import {
  bundle,
  cancel,
  capture,
  cardInput,
  CORRECT_OTP,
  createFixture,
  newReference,
  putCard,
  refund,
  startPayment,
  submitOtp,
  waitForState,
} from './harness';
import type { Fixture, PaymentHandle } from './harness';

const SECRET = newWebhookSecret();
let fx: Fixture;
let receiver: MerchantReceiver;
let sender: WebhookSender;
let deliver: PaymentActivities['deliverMerchantEvent'];

beforeAll(async () => {
  fx = await createFixture(await bundle());
  receiver = new MerchantReceiver(SECRET);
  await receiver.start();
  sender = new WebhookSender({ timeoutMs: 2_000 });
  const directory = staticWebhookDirectory({ default: [{ id: 'main', url: receiver.url, secret: SECRET }] });
  const acts = createActivities({ plural: fx.plural, vault: fx.vault, merchantWebhooks: { directory, sender } });
  deliver = (d) => acts.deliverMerchantEvent(d);
});
afterAll(async () => {
  await receiver?.stop();
  await sender?.close();
  await fx?.teardown();
});

const INR = (value: number) => ({ value, currency: 'INR' });

/** Fast retries: the same backoff, in milliseconds. */
const FAST: PaymentWorkflowInput['limits'] = { webhookRetryInitialIntervalMs: 50, webhookRetryMaximumIntervalMs: 200 };

async function start(ref: string, overrides: Partial<PaymentWorkflowInput> = {}): Promise<PaymentHandle> {
  return startPayment(
    fx,
    cardInput(ref, await putCard(fx.vault, CARDS.nativeOtp), {
      webhookEndpointIds: ['main'],
      limits: FAST,
      ...overrides,
    }),
  );
}

/** OTP accepted, authorized, captured in full: PROCESSED, in the refund window. */
async function toProcessed(handle: PaymentHandle): Promise<void> {
  await waitForState(handle, (s) => s.status === 'AWAITING_OTP', 'AWAITING_OTP');
  await submitOtp(fx, handle, 'otp', CORRECT_OTP);
  await waitForState(handle, (s) => s.status === 'AUTHORIZED', 'AUTHORIZED');
  expect((await capture(handle, 'cap')).outcome).toBe('CAPTURED');
  await waitForState(handle, (s) => s.nextActions.includes('REFUND'), 'the refund window open');
}

/** Real-time wait (time skipping stays locked) until `check` holds. */
async function until(what: string, check: () => boolean): Promise<void> {
  await waitFor(what, check, { intervalMs: 20, describeLast: () => `${receiver.attempts} attempts so far` });
}

describe('merchant webhooks from the payment workflow', () => {
  it('delivers every status change and refund once, in order, signed, after the endpoint was down', async () => {
    receiver.mode = 'unavailable';
    const ref = newReference('mw');
    await fx.withWorker(
      async () => {
        const handle = await start(ref);
        await toProcessed(handle);
        // The endpoint has been refusing the first event all along; it comes back.
        await until('a few refused attempts', () => receiver.attempts >= 3);
        expect(receiver.of(ref)).toEqual([]);
        receiver.mode = 'up';
        expect((await refund(handle, 'r-1')).outcome).toBe('REFUNDED');
        const result = await handle.result();
        expect(result).toMatchObject({ status: 'PROCESSED', amountRefunded: INR(5000) });

        const got = receiver.of(ref);
        expect(got.map((d) => d.body.type)).toEqual([
          'payment.awaiting_otp',
          'payment.authorized',
          'payment.processed',
          'refund.processed',
        ]);
        expect(got.map((d) => d.body.sequence)).toEqual([1, 2, 3, 4]);
        // The id is the header, the body's id, and derived from the workflow id, the payment's creation time and the
        // sequence: stable across retries, and another payment's under the same workflow id.
        for (const d of got) {
          expect(d.webhookId).toBe(d.body.id);
          expect(d.webhookId).toBe(merchantEventId(handle.workflowId, d.body.sequence, result.createdAt));
        }
        expect(new Set(got.map((d) => d.webhookId)).size).toBe(4);
        expect(got[2]!.body.data).toMatchObject({
          merchant_id: 'default',
          merchant_order_reference: ref,
          status: 'PROCESSED',
          amount: INR(5000),
          captured_amount: INR(5000),
          refunded_amount: null,
          order_id: result.pluralOrderId,
          refund: null,
        });
        expect(got[3]!.body.data).toMatchObject({
          status: 'PROCESSED',
          refunded_amount: INR(5000),
          refund: { object: 'refund', merchant_refund_reference: 'r-1', status: 'PROCESSED', amount: INR(5000) },
        });
        // No card data in what the merchant receives.
        for (const d of got) expect(d.rawBody).not.toContain(CARDS.nativeOtp.slice(-8));
        expect(receiver.unverified).toEqual([]);
        expect(result.audit.some((e) => e.cause.includes('undelivered'))).toBe(false);
      },
      { deliverMerchantEvent: deliver },
    );
  });

  it('carries undelivered events across continue-as-new and sends each once, in order', async () => {
    receiver.mode = 'unavailable';
    const ref = newReference('mw-can');
    await fx.withWorker(
      async () => {
        // A limit below any refund's history: the run that handles a refund continues as new.
        const handle = await start(ref, { limits: { ...FAST, continueAsNewAfterEvents: 20 } });
        const firstRunId = (await handle.describe()).runId;
        await toProcessed(handle);
        expect((await refund(handle, 'r-1', INR(1000))).outcome).toBe('REFUNDED');
        // The first event is still being retried: the run waits for it before continuing as new.
        const before = receiver.attempts;
        await until('refused attempts', () => receiver.attempts >= before + 2);
        receiver.mode = 'up';
        await until('a new run', () => receiver.of(ref).length >= 4);
        const continued = await waitForState(
          handle,
          (s) => s.audit.some((e) => e.cause.startsWith('continued as new')),
          'the continued run',
        );
        expect(continued.amountRefunded).toEqual(INR(1000));
        expect((await handle.describe()).runId).not.toBe(firstRunId);
        expect((await refund(handle, 'r-2')).outcome).toBe('REFUNDED');
        await handle.result();

        const got = receiver.of(ref);
        expect(got.map((d) => `${d.body.sequence} ${d.body.type}`)).toEqual([
          '1 payment.awaiting_otp',
          '2 payment.authorized',
          '3 payment.processed',
          '4 refund.processed',
          '5 refund.processed',
        ]);
        expect(new Set(got.map((d) => d.webhookId)).size).toBe(5);
        expect(got[4]!.body.data).toMatchObject({
          refunded_amount: INR(5000),
          refund: { merchant_refund_reference: 'r-2' },
        });
        // Events queued when the first run ended were delivered by the next one.
        const history = await fx.env.client.workflow.getHandle(handle.workflowId, firstRunId).fetchHistory();
        const scheduled = (history.events ?? []).filter(
          (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'deliverMerchantEvent',
        );
        expect(scheduled).toHaveLength(1);
      },
      { deliverMerchantEvent: deliver },
    );
  });

  it('notes an event undelivered once its delivery window is over, and the later events still go', async () => {
    receiver.mode = 'up';
    const ref = newReference('mw-lost');
    const refusingFirst: PaymentActivities['deliverMerchantEvent'] = async (d: MerchantDelivery) => {
      if (d.event.sequence === 1) {
        throw ApplicationFailure.create({ message: 'endpoint answered 500', type: 'MerchantEndpointRejected' });
      }
      return deliver(d);
    };
    await fx.withWorker(
      async () => {
        // A delivery window of two seconds (a retrying activity holds the test server's clock: this is real time).
        const handle = await start(ref, { limits: { ...FAST, webhookDeliveryWindowMs: 2_000 } });
        await waitForState(handle, (s) => s.status === 'AWAITING_OTP', 'AWAITING_OTP');
        await submitOtp(fx, handle, 'otp', CORRECT_OTP);
        await waitForState(handle, (s) => s.status === 'AUTHORIZED', 'AUTHORIZED');
        await cancel(handle, 'cancel');
        const result = await handle.result();
        expect(result.status).toBe('CANCELLED');
        expect(result.audit.map((e) => e.cause)).toContainEqual(
          'merchant event 1 (payment.awaiting_otp) undelivered to endpoint main: not delivered within 2000 ms ' +
            '(last attempt: endpoint answered 500)',
        );
        expect(receiver.of(ref).map((d) => d.body.type)).toEqual(['payment.authorized', 'payment.cancelled']);
      },
      { deliverMerchantEvent: refusingFirst },
    );
  });

  it('sends nothing and runs no delivery activity when the merchant has no endpoint', async () => {
    const ref = newReference('mw-none');
    await fx.withWorker(
      async () => {
        const handle = await start(ref, { webhookEndpointIds: undefined });
        await waitForState(handle, (s) => s.status === 'AWAITING_OTP', 'AWAITING_OTP');
        await cancel(handle, 'cancel');
        await handle.result();
        const history = await handle.fetchHistory();
        const types = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
        expect(types).not.toContain('deliverMerchantEvent');
        expect(receiver.of(ref)).toEqual([]);
      },
      { deliverMerchantEvent: deliver },
    );
  });
});
