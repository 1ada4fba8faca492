import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import type { PaymentActivities } from '../../activities';
import { callbackReceivedSignal } from '../../workflows/definitions';
import type { PaymentWorkflowInput } from '../../workflows/definitions';
import { CARDS } from '../support/cards';
import {
  authenticateAtSandbox,
  bundle,
  callbackSignal,
  capture,
  cardInput,
  CORRECT_OTP,
  createFixture,
  CVV,
  newReference,
  putCard,
  scanHistories,
  startPayment,
  waitForStatus,
  submitOtp,
} from './harness';
import type { Fixture, PaymentHandle } from './harness';

let fx: Fixture;

beforeAll(async () => {
  fx = await createFixture(await bundle());
});
afterAll(async () => {
  await fx?.teardown();
});

function input(method: PaymentWorkflowInput['method'], overrides: Partial<PaymentWorkflowInput> = {}) {
  return cardInput(newReference('m'), '', { method, ...overrides });
}

/** Completes the challenge at the sandbox's ACS and delivers the signed callback, as the API would. */
async function approveChallenge(handle: PaymentHandle, paymentId: string): Promise<void> {
  const acs = await authenticateAtSandbox(fx.sandbox, paymentId);
  await handle.signal(callbackReceivedSignal, callbackSignal(acs.callback.fields));
  await waitForStatus(handle, 'AUTHORIZED');
}

async function captureAll(handle: PaymentHandle) {
  expect((await capture(handle, 'full')).outcome).toBe('CAPTURED');
  return handle.result();
}

async function sandboxGet(path: string): Promise<unknown> {
  const token = (await (
    await fetch(`${fx.sandbox.baseUrl}/api/auth/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: fx.sandbox.credentials.clientId,
        client_secret: fx.sandbox.credentials.clientSecret,
        grant_type: 'client_credentials',
      }),
    })
  ).json()) as { access_token: string };
  const res = await fetch(`${fx.sandbox.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${token.access_token}` },
  });
  return res.json();
}

describe('payment methods, each through to capture', () => {
  it('saves a new card for the customer, then pays with the saved token', async () => {
    await fx.withWorker(async () => {
      const customer = await fx.plural.createCustomer({ merchant_customer_reference: newReference('cust') });
      const first = await startPayment(
        fx,
        input(
          { kind: 'card', cardHandle: await putCard(fx.vault, CARDS.nativeOtp), last4: '1112', save: true },
          { customer: { customerId: customer.customer_id } },
        ),
      );
      await waitForStatus(first, 'AWAITING_OTP');
      await submitOtp(fx, first, 'o', CORRECT_OTP);
      const firstResult = await captureAll(first);
      expect(firstResult.status).toBe('PROCESSED');

      const tokens = (await sandboxGet(`/api/v1/customer/${customer.customer_id}/tokens`)) as {
        tokens: { token_id: string }[];
      };
      expect(tokens.tokens).toHaveLength(1);
      // The merchant learns the token from the payment itself, once Plural lists it.
      expect(firstResult.savedCard).toMatchObject({ tokenId: tokens.tokens[0]!.token_id, last4: '1112' });
      const cvvHandle = await fx.vault.put({ cvv: CVV }, 60_000);
      const second = await startPayment(
        fx,
        input(
          { kind: 'card_token', tokenId: tokens.tokens[0]!.token_id, cvvHandle },
          {
            customer: { customerId: customer.customer_id },
          },
        ),
      );
      const waiting = await waitForStatus(second, 'AWAITING_CHALLENGE');
      await approveChallenge(second, waiting.pluralPaymentIds[0]!);
      const result = await captureAll(second);
      expect(result.status).toBe('PROCESSED');
      expect(result.method).toBe('card_token');
      expect(await fx.vault.get(cvvHandle)).toBeUndefined();
      expect(fx.sandbox.order(result.pluralOrderId!)?.status).toBe('PROCESSED');
    });
  });

  it('pays with a network token and cryptogram created on another PA/PG', async () => {
    await fx.withWorker(async () => {
      const handle = await fx.vault.put(
        { token: CARDS.challenge, cryptogram: 'AgAAAGQkm6LscccAAAA5gz4AAAA=', expiryMonth: '03', expiryYear: '9999' },
        60_000,
      );
      const wf = await startPayment(fx, input({ kind: 'network_token', handle, last4: '4444' }));
      const waiting = await waitForStatus(wf, 'AWAITING_CHALLENGE');
      await approveChallenge(wf, waiting.pluralPaymentIds[0]!);
      const result = await captureAll(wf);
      expect(result.status).toBe('PROCESSED');
      expect(fx.sandbox.order(result.pluralOrderId!)).toMatchObject({ status: 'PROCESSED', capturedAmount: 5000 });
    });
  });

  /** A card + points pre-auth of 5000, with the customer's consent, taken to AUTHORIZED; its split as first shown. */
  async function authorizedCardAndPoints() {
    const wf = await startPayment(
      fx,
      input({
        kind: 'card_points',
        cardHandle: await putCard(fx.vault, CARDS.nativeOtp),
        last4: '1112',
        registeredMobileNumber: '9876543210',
        customerConsent: true,
      }),
    );
    const { split } = await waitForStatus(wf, 'AWAITING_OTP');
    await submitOtp(fx, wf, 'o', CORRECT_OTP);
    await waitForStatus(wf, 'AUTHORIZED');
    return { wf, split };
  }

  it('splits card + points exactly as the balance check allows, with consent', async () => {
    await fx.withWorker(async () => {
      const { wf, split } = await authorizedCardAndPoints();
      expect(split).toEqual({
        card: { value: 1500, currency: 'INR' },
        points: { value: 3500, currency: 'INR' },
      });
      const result = await captureAll(wf);
      expect(result.status).toBe('PROCESSED');
      const order = fx.sandbox.order(result.pluralOrderId!)!;
      expect(order.payments.map((p) => [p.method, p.amount.value, p.status])).toEqual([
        ['CARD', 1500, 'PROCESSED'],
        ['POINTS', 3500, 'PROCESSED'],
      ]);
    });
  });

  it('records all a card + points sale took when Plural settles its points part before the card part', async () => {
    const real = createActivities({ plural: fx.plural, vault: fx.vault });
    // Plural's answer to Create Payment: the points part taken at once, the card part pending its OTP (the sandbox
    // settles both together; a Plural that does not is what this stands for).
    const pointsFirst: Pick<PaymentActivities, 'createPayment'> = {
      createPayment: async (created) => {
        const answer = await real.createPayment(created);
        const payments = answer.order.payments.map((p) =>
          p.method === 'POINTS' ? { ...p, status: 'PROCESSED', capturedValue: p.amount.value } : p,
        );
        const capturedValue = payments.reduce((sum, p) => sum + p.capturedValue, 0);
        return {
          ...answer,
          order: { ...answer.order, status: 'PENDING', payments, capturedValue, capturesListed: false },
        };
      },
    };
    await fx.withWorker(async () => {
      const wf = await startPayment(
        fx,
        input(
          {
            kind: 'card_points',
            cardHandle: await putCard(fx.vault, CARDS.nativeOtp),
            last4: '1112',
            registeredMobileNumber: '9876543210',
            customerConsent: true,
          },
          { preAuth: false },
        ),
      );
      const waiting = await waitForStatus(wf, 'AWAITING_OTP');
      expect(waiting.amountCaptured).toEqual({ value: 3500, currency: 'INR' });
      await submitOtp(fx, wf, 'o', CORRECT_OTP);
      const processed = await waitForStatus(wf, 'PROCESSED');
      expect(fx.sandbox.order(processed.pluralOrderId!)).toMatchObject({ status: 'PROCESSED' });
      expect(processed.amountCaptured).toEqual({ value: 5000, currency: 'INR' });
      expect(processed.amountRefundable).toEqual({ value: 5000, currency: 'INR' });
    }, pointsFirst);
  });

  it('records what a partial capture of a card + points authorization took, not every processed part', async () => {
    await fx.withWorker(async () => {
      const { wf } = await authorizedCardAndPoints();
      const answer = await capture(wf, 'partial', { value: 1000, currency: 'INR' });
      expect(answer.outcome).toBe('CAPTURED');
      // Plural lists the capture on the card's payment; the points payment is PROCESSED with no capture of its own.
      const order = fx.sandbox.order(answer.state.pluralOrderId!)!;
      expect(order).toMatchObject({ status: 'PARTIALLY_CAPTURED', capturedAmount: 1000 });
      expect(answer.state.amountCaptured).toEqual({ value: 1000, currency: 'INR' });
      expect(answer.state.amountRefundable).toEqual({ value: 1000, currency: 'INR' });
      const result = await wf.result();
      expect(result.amountCaptured).toEqual({ value: 1000, currency: 'INR' });
    });
  });

  it('refuses to redeem points without the customer consent, before calling Plural', async () => {
    await fx.withWorker(async () => {
      const ref = newReference('noconsent');
      const cardHandle = await putCard(fx.vault, CARDS.nativeOtp);
      const wf = await startPayment(fx, {
        ...input({
          kind: 'card_points',
          cardHandle,
          last4: '1112',
          registeredMobileNumber: '9876543210',
          customerConsent: false,
        }),
        merchantOrderReference: ref,
      });
      const result = await wf.result();
      expect(result.status).toBe('FAILED');
      expect(result.failure?.code).toBe('POINTS_CONSENT_REQUIRED');
      // Its card, never to be read, is destroyed rather than left in the vault for its TTL.
      expect(await fx.vault.get(cardHandle).then(Boolean)).toBe(false); // (a boolean: a failure prints no card)
      expect(fx.sandbox.orderByReference(ref)).toBeUndefined();
    });
  });

  it('pays on Plural hosted checkout and goes through the same capture lifecycle', async () => {
    await fx.withWorker(async () => {
      const wf = await startPayment(fx, input({ kind: 'hosted_checkout' }));
      const waiting = await waitForStatus(wf, 'AWAITING_CHALLENGE');
      expect(waiting.redirectUrl).toMatch(/\/api\/v3\/checkout-bff\/redirect\/checkout\?token=/);
      expect(waiting.nextActions).toEqual(['REDIRECT_TO_CHECKOUT', 'CANCEL']);
      // The customer picks a card on Plural's page (no card data reaches the engine).
      const url = new URL(waiting.redirectUrl!);
      const page = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: url.searchParams.get('token')!, card: 'mastercard-challenge' }).toString(),
      });
      expect(page.status).toBe(303);
      const paymentId = fx.sandbox.order(waiting.pluralOrderId!)!.payments[0]!.id;
      await approveChallenge(wf, paymentId);
      const result = await captureAll(wf);
      expect(result.status).toBe('PROCESSED');
      expect(fx.sandbox.order(result.pluralOrderId!)?.status).toBe('PROCESSED');
    });
  });

  it('passes notes, merchant metadata, both addresses and the 3-D Secure browser details on to Plural, and keeps the metadata and return URL in its state', async () => {
    await fx.withWorker(async () => {
      const address = { address1: 'H.No 15, Sector 17', pincode: '144001', city: 'CHANDIGARH', country: 'INDIA' };
      const wf = await startPayment(
        fx,
        input(
          { kind: 'card', cardHandle: await putCard(fx.vault, CARDS.challenge), last4: '4444' },
          {
            notes: 'gift wrap',
            merchantMetadata: { channel: 'web' },
            returnUrl: 'https://shop.example/return',
            customer: { firstName: 'Asha', billingAddress: address, shippingAddress: { ...address, city: 'MOHALI' } },
            deviceInfo: { deviceChannel: 'browser', browserScreenHeight: '768', browserJavaEnabled: 'false' },
          },
        ),
      );
      const waiting = await waitForStatus(wf, 'AWAITING_CHALLENGE');
      expect(waiting).toMatchObject({ merchantMetadata: { channel: 'web' }, returnUrl: 'https://shop.example/return' });
      const order = await fx.plural.getOrder(waiting.pluralOrderId!);
      // The return URL is the merchant's, for the API's redirect: Plural returns the browser to the callback URL.
      expect(JSON.stringify(order)).not.toContain('shop.example');
      expect(order).toMatchObject({
        notes: 'gift wrap',
        purchase_details: {
          customer: { first_name: 'Asha', billing_address: address, shipping_address: { city: 'MOHALI' } },
          merchant_metadata: { channel: 'web' },
        },
      });
      await approveChallenge(wf, waiting.pluralPaymentIds[0]!);
      const processed = await captureAll(wf);
      expect(processed).toMatchObject({ status: 'PROCESSED', merchantMetadata: { channel: 'web' } });
    });
  });

  it('never puts card data in any workflow history of this file', async () => {
    const scans = await scanHistories(fx);
    expect(scans.length).toBeGreaterThan(5);
    expect(scans.filter((s) => !s.decodedInput).map((s) => s.workflowId)).toEqual([]);
    expect(scans.filter((s) => s.found.length > 0)).toEqual([]);
  });
});
