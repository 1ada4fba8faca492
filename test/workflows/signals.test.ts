/**
 * The gateway's Signals can come from anyone who reaches Temporal, with any payload: the workflow checks each one's
 * shape, and a malformed one is ignored and noted — it never fails the workflow task and never moves the payment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackSignalOf, webhookSignalOf } from '../../api/gateway-events';
import { callbackReceivedSignal, webhookReceivedSignal } from '../../workflows/definitions';
import type { PaymentState } from '../../workflows/definitions';
import { callbackSignalProblem, webhookSignalProblem } from '../../workflows/signal-guards';
import { CARDS } from '../support/cards';
import {
  auditOccurrences,
  authenticateAtSandbox,
  bundle,
  callbackSignal,
  cardInput,
  createFixture,
  newReference,
  putCard,
  startPayment,
  waitForState,
  waitForStatus,
} from './harness';
import type { Fixture } from './harness';

const ORDER = 'v1-2800500564-aa-pmAI1f';

describe('signal shape checks', () => {
  it('accept what the API sends from a verified callback or webhook', () => {
    expect(
      callbackSignalProblem(callbackSignalOf({ orderId: ORDER, status: 'AUTHORIZED', statusField: 'status' })),
    ).toBe(undefined);
    expect(
      callbackSignalProblem({
        orderId: ORDER,
        status: 'FAILED',
        errorCode: 'USER_AUTHENTICATION_FAILED',
        errorMessage: 'x',
      }),
    ).toBe(undefined);
    const order = {
      order_id: ORDER,
      merchant_order_reference: 'ord-1',
      status: 'PROCESSED',
      order_amount: { value: 5000, currency: 'INR' },
      payments: [{ capture_data: [{ capture_amount: { value: 5000, currency: 'INR' } }] }],
    };
    const webhook = webhookSignalOf('msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', 'ORDER_PROCESSED', order as never);
    expect(webhook.capturedAmount).toEqual({ value: 5000, currency: 'INR' });
    expect(webhookSignalProblem(webhook)).toBe(undefined);
  });

  it('carry Plural’s error texts with a card number, CVV or OTP they echo masked', () => {
    const echoed = `cvv 739 refused for ${CARDS.nativeOtp}`;
    expect(
      callbackSignalOf({ orderId: ORDER, status: 'FAILED', statusField: 'status', errorMessage: echoed }),
    ).toMatchObject({ errorMessage: 'cvv [REDACTED] refused for [REDACTED]' });
    const order = {
      order_id: ORDER,
      status: 'ATTEMPTED',
      order_amount: { value: 5000, currency: 'INR' },
      payments: [{ error_detail: { code: 'PAYMENT_DECLINED', message: echoed } }],
    };
    expect(webhookSignalOf('w-1', 'ORDER_FAILED', order as never)).toMatchObject({
      errorCode: 'PAYMENT_DECLINED',
      errorMessage: 'cvv [REDACTED] refused for [REDACTED]',
    });
  });

  it('name what is wrong with a malformed payload, never echoing it', () => {
    expect(callbackSignalProblem(null)).toBe('the payload is not an object');
    expect(callbackSignalProblem(['PROCESSED'])).toBe('the payload is not an object');
    expect(callbackSignalProblem({ orderId: 42, status: 'PROCESSED' })).toMatch(/^orderId must be/);
    expect(callbackSignalProblem({ orderId: 'with space', status: 'PROCESSED' })).toMatch(/^orderId must be/);
    expect(callbackSignalProblem({ orderId: ORDER, status: { $ne: '' } })).toMatch(/^status must be/);
    expect(callbackSignalProblem({ orderId: ORDER, status: 'processed<script>' })).toMatch(/^status must be/);
    expect(callbackSignalProblem({ orderId: ORDER, status: 'FAILED', errorMessage: 'x'.repeat(5000) })).toMatch(
      /^errorMessage must be/,
    );
    const webhook = { webhookId: 'w-1', eventType: 'ORDER_PROCESSED', orderId: ORDER, orderStatus: 'PROCESSED' };
    expect(webhookSignalProblem({ ...webhook, capturedAmount: { value: 50.5, currency: 'INR' } })).toMatch(
      /^capturedAmount must be/,
    );
    expect(webhookSignalProblem({ ...webhook, capturedAmount: { value: -1, currency: 'INR' } })).toMatch(
      /^capturedAmount must be/,
    );
    expect(webhookSignalProblem({ ...webhook, capturedAmount: '5000' })).toMatch(/^capturedAmount must be/);
    expect(webhookSignalProblem({ ...webhook, webhookId: '' })).toMatch(/^webhookId must be/);
    expect(webhookSignalProblem({ ...webhook, orderStatus: undefined })).toMatch(/^orderStatus must be/);
  });
});

describe('gateway signals through Temporal', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await createFixture(await bundle());
    fx.webhooks.forward = false;
  });
  afterAll(async () => {
    await fx?.teardown();
  });

  const MALFORMED = /^ignored a malformed (callbackReceived|webhookReceived) signal: /;
  const malformedNotes = (s: PaymentState) => auditOccurrences(s.audit).filter((e) => MALFORMED.test(e.cause));

  it('are ignored and noted; the payment neither fails nor moves, and goes on normally after', async () => {
    await fx.withWorker(async () => {
      const ref = newReference('sig');
      const handle = await startPayment(fx, cardInput(ref, await putCard(fx.vault, CARDS.challenge)));
      const before = await waitForStatus(handle, 'AWAITING_CHALLENGE');
      const orderId = before.pluralOrderId!;
      // What a client that reaches Temporal could send, as the CLI would: no API, no signature, any JSON.
      await handle.signal<[unknown]>('callbackReceived', null);
      await handle.signal<[unknown]>('callbackReceived', 'PROCESSED');
      await handle.signal<[unknown]>('callbackReceived', { orderId, status: { $ne: 'FAILED' } });
      await handle.signal<[unknown]>('webhookReceived', {
        webhookId: 'w-forged',
        eventType: 'ORDER_PROCESSED',
        orderId,
        orderStatus: 'PROCESSED',
        capturedAmount: { value: 5000.5, currency: 'INR' },
      });
      await handle.signal<[unknown]>('webhookReceived', { orderId });

      const s = await waitForState(handle, (x) => malformedNotes(x).length === 5, 'five malformed signals noted');
      expect(malformedNotes(s).map((e) => e.cause.replace(MALFORMED, ''))).toEqual([
        'the payload is not an object',
        'the payload is not an object',
        'status must be a status name (A-Z, 0-9, _)',
        'capturedAmount must be { value: integer minor units >= 0, currency: ISO 4217 code }',
        'webhookId must be 1-256 printable characters',
      ]);
      // The same note twice is one entry, counted (the trail does not grow with repeats).
      expect(s.audit.filter((e) => e.cause.endsWith('the payload is not an object'))).toEqual([
        expect.objectContaining({ repeats: 1 }),
      ]);
      expect(s.status).toBe('AWAITING_CHALLENGE');
      expect(s.amountCaptured).toBeUndefined();
      // Nothing was queued for confirmation: no Get Order on their account.
      expect(s.audit.filter((e) => / received; confirming with Get Order$/.test(e.cause))).toEqual([]);
      const history = await handle.fetchHistory();
      expect(history.events?.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);

      // A well-formed callback still works: the payment was never stuck.
      const acs = await authenticateAtSandbox(fx.sandbox, before.pluralPaymentIds[0]!);
      await handle.signal(callbackReceivedSignal, callbackSignal(acs.callback.fields));
      await waitForStatus(handle, 'AUTHORIZED');
    });
  });

  it('spend a Get Order only on an event that claims something other than what Plural was last read to say', async () => {
    await fx.withWorker(async () => {
      const ref = newReference('sig');
      const handle = await startPayment(fx, cardInput(ref, await putCard(fx.vault, CARDS.challenge)));
      const before = await waitForStatus(handle, 'AWAITING_CHALLENGE');
      const orderId = before.pluralOrderId!;
      const acs = await authenticateAtSandbox(fx.sandbox, before.pluralPaymentIds[0]!);
      await handle.signal(callbackReceivedSignal, callbackSignal(acs.callback.fields));
      const authorized = await waitForStatus(handle, 'AUTHORIZED');
      expect(authorized.pluralOrderStatus).toBe('AUTHORIZED');
      const getOrders = async (): Promise<number> =>
        ((await handle.fetchHistory()).events ?? []).filter(
          (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'getOrder',
        ).length;
      const read = await getOrders();

      // Says what the payment already read from Plural: noted, no Get Order.
      await handle.signal(webhookReceivedSignal, {
        webhookId: 'w-same',
        eventType: 'ORDER_AUTHORIZED',
        orderId,
        orderStatus: 'AUTHORIZED',
      });
      await waitForState(
        handle,
        (x) =>
          x.audit.some((e) => e.cause.includes("(w-same) received: Plural's order was already read as AUTHORIZED")),
        'the repeated claim noted',
      );
      expect(await getOrders()).toBe(read);

      // Claims something else: confirmed with one Get Order, and the payment stays what Plural's order says.
      await handle.signal(webhookReceivedSignal, {
        webhookId: 'w-other',
        eventType: 'ORDER_FAILED',
        orderId,
        orderStatus: 'FAILED',
      });
      const s = await waitForState(
        handle,
        (x) => x.audit.some((e) => /w-other.*Plural's order is AUTHORIZED, payment stays AUTHORIZED/.test(e.cause)),
        'the other claim confirmed',
      );
      expect(s.status).toBe('AUTHORIZED');
      expect(await getOrders()).toBe(read + 1);
    });
  });
});
