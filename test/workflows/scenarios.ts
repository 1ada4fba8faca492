/**
 * The payment paths whose histories are committed as replay fixtures (`record-histories.ts` records them on the real
 * dev server; `replay.test.ts` replays them). Each scenario runs one payment to its end in wall-clock time, so the
 * windows it waits out are short ones given in the workflow input.
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
  submitOtp,
  waitForState,
  waitForStatus,
  WRONG_OTP,
} from './harness';
import type { Fixture, PaymentHandle } from './harness';

export interface Scenario {
  /** Runs one payment to a terminal status and returns its handle. */
  run(fx: Fixture): Promise<PaymentHandle>;
}

/** A card payment that reached AWAITING_OTP. */
async function otpPayment(fx: Fixture): Promise<PaymentHandle> {
  const h = await startPayment(fx, cardInput(newReference('rec'), await putCard(fx.vault, CARDS.nativeOtp)));
  await waitForStatus(h, 'AWAITING_OTP');
  return h;
}

/** Captures an AUTHORIZED pre-auth payment in full and waits for the workflow to end. */
async function captureAndFinish(h: PaymentHandle): Promise<PaymentHandle> {
  await h.signal(captureRequestedSignal, { requestId: 'cap' });
  await h.result();
  return h;
}

export const SCENARIOS: Record<string, Scenario> = {
  /** Native OTP (one wrong, then right), pre-auth, full capture. */
  'otp-preauth-capture': {
    run: async (fx) => {
      const h = await otpPayment(fx);
      await submitOtp(fx, h, 'wrong', WRONG_OTP);
      await waitForState(h, (s) => s.otp?.lastSubmission?.submissionId === 'wrong', 'wrong OTP');
      await submitOtp(fx, h, 'right', CORRECT_OTP);
      await waitForStatus(h, 'AUTHORIZED');
      return captureAndFinish(h);
    },
  },
  /** Challenge page, sale (no pre-auth), completed by the callback. */
  'challenge-callback-sale': {
    run: async (fx) => {
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
  },
  /** Challenge never completed: reconciliation rounds, then FAILED when the (6 s) window closes. */
  'challenge-abandoned': {
    run: async (fx) => {
      const h = await startPayment(
        fx,
        cardInput(newReference('rec'), await putCard(fx.vault, CARDS.challenge), {
          preAuth: false,
          durations: { challengeWindowMs: 6_000, reconcileInitialDelayMs: 1_000, reconcileMaxDelayMs: 2_000 },
        }),
      );
      await h.result();
      return h;
    },
  },
  /** Pre-auth left uncaptured: cancelled automatically (after 2 s here) before the authorization expires. */
  'otp-preauth-auto-cancel': {
    run: async (fx) => {
      const h = await startPayment(
        fx,
        cardInput(newReference('rec'), await putCard(fx.vault, CARDS.nativeOtp), {
          durations: { autoCancelAfterMs: 2_000 },
        }),
      );
      await waitForStatus(h, 'AWAITING_OTP');
      await submitOtp(fx, h, 'right', CORRECT_OTP);
      await waitForStatus(h, 'AUTHORIZED');
      await h.result();
      return h;
    },
  },
  /** A capture parked after Plural kept failing, completed by an operator retry. */
  'capture-parked-operator-retry': {
    run: async (fx) => {
      const h = await startPayment(
        fx,
        cardInput(newReference('rec'), await putCard(fx.vault, CARDS.nativeOtp), {
          limits: { activityMaxAttempts: 2 },
        }),
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
  },
  /** Plural hosted checkout, pre-auth, completed by the callback, full capture. */
  'hosted-checkout-capture': {
    run: async (fx) => {
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
      return captureAndFinish(h);
    },
  },
  /** Card + points split after the balance check, native OTP, full capture. */
  'points-split-capture': {
    run: async (fx) => {
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
      return captureAndFinish(h);
    },
  },
};
