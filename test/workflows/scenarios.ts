/**
 * The main payment paths as scripted scenarios, shared by `record-histories.ts` (which commits their histories) and
 * the replay test. Each returns the finished workflow's handle.
 */
import { callbackReceivedSignal, captureRequestedSignal, operatorRetrySignal } from '../../workflows/definitions';
import {
  authenticateAtSandbox,
  callbackSignal,
  CARDS,
  cardInput,
  CORRECT_OTP,
  newReference,
  putCard,
  startPayment,
  waitForState,
  waitForStatus,
  WRONG_OTP,
  submitOtp,
} from './harness';
import type { Fixture, PaymentHandle } from './harness';

export type Scenario = (fx: Fixture) => Promise<PaymentHandle>;

export const SCENARIOS: Record<string, Scenario> = {
  /** Native OTP (one wrong, then right), pre-auth, full capture. */
  'otp-preauth-capture': async (fx) => {
    const h = await startPayment(fx, cardInput(newReference('rec'), await putCard(fx.vault, CARDS.nativeOtp)));
    await waitForStatus(h, 'AWAITING_OTP');
    await submitOtp(fx, h, 'wrong', WRONG_OTP);
    await waitForState(h, (s) => s.otp?.lastSubmission?.submissionId === 'wrong', 'wrong OTP');
    await submitOtp(fx, h, 'right', CORRECT_OTP);
    await waitForStatus(h, 'AUTHORIZED');
    await h.signal(captureRequestedSignal, { requestId: 'cap' });
    await h.result();
    return h;
  },
  /** Challenge page, sale (no pre-auth), completed by the callback. */
  'challenge-callback-sale': async (fx) => {
    const h = await startPayment(
      fx,
      cardInput(newReference('rec'), await putCard(fx.vault, CARDS.challenge), { preAuth: false }),
    );
    const s = await waitForStatus(h, 'AWAITING_CHALLENGE');
    const acs = await authenticateAtSandbox(fx.sandbox, s.pluralPaymentIds[0]!);
    await h.signal(callbackReceivedSignal, callbackSignal(acs.callback.fields));
    await h.result();
    return h;
  },
  /** Challenge never completed: reconciliation rounds, then FAILED when the window closes. */
  'challenge-abandoned': async (fx) => {
    const h = await startPayment(
      fx,
      cardInput(newReference('rec'), await putCard(fx.vault, CARDS.challenge), { preAuth: false }),
    );
    await h.result();
    return h;
  },
  /** Pre-auth left uncaptured: cancelled automatically before the authorization expires. */
  'otp-preauth-auto-cancel': async (fx) => {
    const h = await startPayment(fx, cardInput(newReference('rec'), await putCard(fx.vault, CARDS.nativeOtp)));
    await waitForStatus(h, 'AWAITING_OTP');
    await submitOtp(fx, h, 'right', CORRECT_OTP);
    await waitForStatus(h, 'AUTHORIZED');
    await h.result();
    return h;
  },
  /** A capture parked after Plural kept failing, completed by an operator retry. */
  'capture-parked-operator-retry': async (fx) => {
    const h = await startPayment(
      fx,
      cardInput(newReference('rec'), await putCard(fx.vault, CARDS.nativeOtp), { limits: { activityMaxAttempts: 2 } }),
    );
    await waitForStatus(h, 'AWAITING_OTP');
    await submitOtp(fx, h, 'right', CORRECT_OTP);
    await waitForStatus(h, 'AUTHORIZED');
    fx.sandbox.setFaults({ errorRate: 1, paths: ['/capture'] });
    try {
      await h.signal(captureRequestedSignal, { requestId: 'cap' });
      await waitForState(h, (s) => s.parked !== undefined, 'parked');
    } finally {
      fx.sandbox.setFaults({ errorRate: 0, paths: [] });
    }
    await h.signal(operatorRetrySignal, { operator: 'ops' });
    await h.result();
    return h;
  },
  /** Plural hosted checkout, pre-auth, completed by the callback, full capture. */
  'hosted-checkout-capture': async (fx) => {
    const h = await startPayment(fx, cardInput(newReference('rec'), '', { method: { kind: 'hosted_checkout' } }));
    const s = await waitForStatus(h, 'AWAITING_CHALLENGE');
    const url = new URL(s.redirectUrl!);
    await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: url.searchParams.get('token')!, card: 'mastercard-challenge' }).toString(),
    });
    const paymentId = fx.sandbox.order(s.pluralOrderId!)!.payments[0]!.id;
    const acs = await authenticateAtSandbox(fx.sandbox, paymentId);
    await h.signal(callbackReceivedSignal, callbackSignal(acs.callback.fields));
    await waitForStatus(h, 'AUTHORIZED');
    await h.signal(captureRequestedSignal, { requestId: 'cap' });
    await h.result();
    return h;
  },
  /** Card + points split after the balance check, native OTP, full capture. */
  'points-split-capture': async (fx) => {
    const h = await startPayment(
      fx,
      cardInput(newReference('rec'), '', {
        method: {
          kind: 'card_points',
          cardHandle: await putCard(fx.vault, CARDS.nativeOtp),
          last4: '1112',
          registeredMobileNumber: '9876543210',
          customerConsent: true,
        },
      }),
    );
    await waitForStatus(h, 'AWAITING_OTP');
    await submitOtp(fx, h, 'right', CORRECT_OTP);
    await waitForStatus(h, 'AUTHORIZED');
    await h.signal(captureRequestedSignal, { requestId: 'cap' });
    await h.result();
    return h;
  },
};
