/**
 * Phase 2, authenticate: wait for the customer (native OTP, challenge page or hosted checkout), submitting and
 * resending OTPs as they arrive and reconciling with Get Order on a backoff, until Plural authorizes or processes the
 * payment, the merchant cancels, or the authentication window closes.
 */
import { condition, patched } from '@temporalio/workflow';
import { isoAt, nowMs } from '../clock';
import { ENGINE_FAILURE_CODE, FAILURE_TYPE, PAYMENT_STATUS } from '../definitions';
import type { OtpResendRequestedSignal, OtpSubmittedSignal, PaymentStatus } from '../definitions';
import { OTP_RESEND_OUTCOME, OTP_SUBMISSION_RESULT, RECONCILE_TRIGGER } from '../metrics';
import { PATCH } from '../patches';
import type { PaymentRun } from '../run';
import { failureInfo } from '../steps';

/** Waits for authentication until the window closes; returns whether the engine gave up on it. */
export async function authenticate(run: PaymentRun): Promise<boolean> {
  const { durations, payment, inbox, steps } = run;
  const windowMs =
    payment.status === PAYMENT_STATUS.AWAITING_OTP
      ? durations.otpWindowMs
      : payment.method.kind === 'hosted_checkout'
        ? durations.checkoutWindowMs
        : durations.challengeWindowMs;
  const deadline = nowMs() + windowMs;
  let delay = durations.reconcileInitialDelayMs;
  let nextReconcileAt = nowMs() + delay;
  while (payment.awaiting) {
    if (inbox.cancel) {
      payment.s.failure = {
        code: ENGINE_FAILURE_CODE.CANCELLED_BEFORE_AUTHORIZATION,
        message: inbox.cancel.reason ?? 'cancelled before authorization',
      };
      payment.moveTo(PAYMENT_STATUS.CANCELLED, `cancel requested before authorization (${inbox.cancel.requestId})`);
      return true;
    }
    const sub = inbox.otps.shift();
    if (sub) {
      await submitOtp(run, sub);
      continue;
    }
    const resend = inbox.resends.shift();
    if (resend) {
      await resendOtp(run, resend);
      continue;
    }
    const t = nowMs();
    if (t >= deadline) break;
    const reconciling = payment.status === PAYMENT_STATUS.AWAITING_CHALLENGE || payment.otpAccepted;
    if (reconciling && t >= nextReconcileAt) {
      await steps.reconcile('reconciliation with Get Order (no callback or webhook yet)', RECONCILE_TRIGGER.NO_EVENT);
      delay = Math.min(delay * 2, durations.reconcileMaxDelayMs);
      nextReconcileAt = nowMs() + delay;
      continue;
    }
    const wakeAt = reconciling ? Math.min(deadline, nextReconcileAt) : deadline;
    await condition(
      () => !payment.awaiting || inbox.otps.length > 0 || inbox.resends.length > 0 || inbox.cancel !== undefined,
      Math.max(1, wakeAt - t),
    );
  }
  if (!payment.awaiting) return false;
  await steps.reconcile('final Get Order as the authentication window closed', RECONCILE_TRIGGER.WINDOW_CLOSED);
  if (!payment.awaiting) return false;
  payment.fail(
    ENGINE_FAILURE_CODE.AUTHENTICATION_WINDOW_CLOSED,
    `the customer did not complete authentication within ${Math.round(windowMs / 1000)} s`,
    'authentication window closed',
  );
  return true;
}

async function submitOtp(run: PaymentRun, sig: OtpSubmittedSignal): Promise<void> {
  const { payment, steps, workflowId } = run;
  const otp = payment.s.otp;
  if (
    payment.status !== PAYMENT_STATUS.AWAITING_OTP ||
    !otp ||
    payment.otpAccepted ||
    payment.s.pluralPaymentIds.length === 0
  ) {
    if (otp) {
      otp.lastSubmission = {
        submissionId: sig.submissionId,
        outcome: 'IGNORED',
        message: `payment is ${payment.status}`,
      };
    }
    return;
  }
  payment.otpSubmissions += 1;
  const paymentId = payment.cardPaymentId ?? payment.s.pluralPaymentIds[0] ?? '';
  let result;
  try {
    result = await steps.acts.submitOtp({
      workflowId,
      paymentId,
      otpHandle: sig.otpHandle,
      submission: payment.otpSubmissions,
    });
  } catch (err) {
    const f = failureInfo(err);
    if (f.type === FAILURE_TYPE.OTP_UNAVAILABLE) {
      // Plural never saw this OTP: not an attempt; the customer submits again within the window.
      otp.lastSubmission = { submissionId: sig.submissionId, outcome: 'FAILED', message: f.message };
      payment.note('OTP submission failed: the OTP hand-off was unavailable, nothing was sent to Plural');
      payment.metrics.otpSubmission(OTP_SUBMISSION_RESULT.UNAVAILABLE);
      return;
    }
    otp.lastSubmission = { submissionId: sig.submissionId, outcome: 'IGNORED', message: f.message };
    payment.note(`OTP submission could not reach Plural: ${f.code}`);
    payment.metrics.otpSubmission(OTP_SUBMISSION_RESULT.ERROR);
    return;
  }
  switch (result.outcome) {
    case 'ACCEPTED':
      payment.otpAccepted = true;
      otp.lastSubmission = { submissionId: sig.submissionId, outcome: 'ACCEPTED' };
      payment.note('OTP accepted');
      payment.metrics.otpSubmission(OTP_SUBMISSION_RESULT.ACCEPTED);
      // A webhook or callback that already confirmed the outcome makes this Get Order redundant, and it would
      // only hold up a capture the merchant sends as soon as it sees AUTHORIZED.
      if (payment.awaiting || !patched(PATCH.SKIP_CONFIRMED_OTP_RECONCILE)) {
        await steps.reconcile('Get Order after the OTP was accepted', RECONCILE_TRIGGER.OTP_ACCEPTED);
      }
      return;
    case 'INCORRECT':
      // Plural's own verdict ends the attempts (FAILED below); the engine's count never shows 0 before that.
      if (result.counted) otp.attemptsLeft = Math.max(1, otp.attemptsLeft - 1);
      if (result.resendAfterSeconds !== undefined) {
        otp.resendAvailableAt = isoAt(nowMs() + result.resendAfterSeconds * 1000);
      }
      otp.lastSubmission = { submissionId: sig.submissionId, outcome: 'INCORRECT', message: result.message };
      payment.note('incorrect OTP');
      payment.metrics.otpSubmission(OTP_SUBMISSION_RESULT.INCORRECT);
      return;
    case 'FAILED': {
      // Plural refuses a retried submission whose first answer was lost (a timeout or a 5xx after it had accepted
      // the OTP, or a worker that died mid-call): the payment is no longer pending. Ask Plural before failing, and
      // never fail a payment that has moved on meanwhile.
      if (patched(PATCH.CONFIRM_OTP_REFUSAL)) {
        if (payment.awaiting) {
          await steps.reconcile('Get Order after the OTP was refused', RECONCILE_TRIGGER.OTP_REFUSED);
        }
        const now = payment.status as PaymentStatus;
        if (now === PAYMENT_STATUS.AUTHORIZED || now === PAYMENT_STATUS.PROCESSED) {
          payment.otpAccepted = true;
          otp.lastSubmission = { submissionId: sig.submissionId, outcome: 'ACCEPTED' };
          payment.note('OTP refused on a retry, but Plural had accepted it (the first answer was lost)');
          payment.metrics.otpSubmission(OTP_SUBMISSION_RESULT.ACCEPTED);
          return;
        }
      }
      otp.attemptsLeft = 0;
      otp.lastSubmission = { submissionId: sig.submissionId, outcome: 'FAILED', message: result.message };
      payment.metrics.otpSubmission(OTP_SUBMISSION_RESULT.FAILED);
      // Get Order may already have failed it (Plural fails the payment when the attempts run out).
      if (!payment.terminal) payment.fail(result.code, result.message, 'OTP authentication failed');
      return;
    }
  }
}

async function resendOtp(run: PaymentRun, sig: OtpResendRequestedSignal): Promise<void> {
  const { payment, steps, workflowId } = run;
  const otp = payment.s.otp;
  if (!otp || payment.status !== PAYMENT_STATUS.AWAITING_OTP || payment.otpAccepted) {
    if (otp) otp.lastResend = { requestId: sig.requestId, outcome: 'IGNORED', message: `payment is ${payment.status}` };
    return;
  }
  if (otp.resendsLeft <= 0) {
    otp.lastResend = { requestId: sig.requestId, outcome: 'LIMIT_REACHED', message: 'no OTP resends left' };
    payment.metrics.otpResend(OTP_RESEND_OUTCOME.LIMIT_REACHED);
    return;
  }
  const availableAt = otp.resendAvailableAt === undefined ? 0 : Date.parse(otp.resendAvailableAt);
  if (nowMs() < availableAt) {
    otp.lastResend = {
      requestId: sig.requestId,
      outcome: 'TOO_EARLY',
      message: `resend allowed from ${otp.resendAvailableAt}`,
    };
    payment.metrics.otpResend(OTP_RESEND_OUTCOME.TOO_EARLY);
    return;
  }
  payment.otpResends += 1;
  let result;
  try {
    result = await steps.acts.resendOtp({
      workflowId,
      paymentId: payment.cardPaymentId ?? '',
      resend: payment.otpResends,
    });
  } catch (err) {
    otp.lastResend = { requestId: sig.requestId, outcome: 'IGNORED', message: failureInfo(err).message };
    payment.metrics.otpResend(OTP_RESEND_OUTCOME.ERROR);
    return;
  }
  if (result.resendAfterSeconds !== undefined) {
    otp.resendAvailableAt = isoAt(nowMs() + result.resendAfterSeconds * 1000);
  }
  if (result.outcome === 'SENT') {
    otp.resendsLeft -= 1;
    if (!result.next.includes('RESEND_OTP')) otp.resendsLeft = 0;
    otp.lastResend = { requestId: sig.requestId, outcome: 'SENT' };
    payment.note('OTP resent');
    payment.metrics.otpResend(OTP_RESEND_OUTCOME.SENT);
  } else {
    otp.lastResend = { requestId: sig.requestId, outcome: 'REJECTED', message: result.message };
    payment.metrics.otpResend(OTP_RESEND_OUTCOME.REJECTED);
  }
}
