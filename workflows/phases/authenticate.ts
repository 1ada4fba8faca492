/**
 * Phase 2, authenticate: wait for the customer (native OTP, challenge page or hosted checkout), submitting and
 * resending OTPs as they arrive and reconciling with Get Order on a backoff, until Plural authorizes or processes the
 * payment, the merchant cancels, or the authentication window closes.
 */
import { patched } from '@temporalio/workflow';
import { isoAt, nowMs } from '../clock';
import { CLOSING_REASON, FAILURE_TYPE, PAYMENT_STATUS } from '../definitions';
import type {
  ClosingReason,
  OtpResendOutcome,
  OtpSubmissionOutcome,
  ResendOtpAnswer,
  SubmitOtpAnswer,
} from '../definitions';
import type { OtpSubmitResult } from '../../activities';
import type { CancelSource } from '../messages';
import { OTP_RESEND_OUTCOME, OTP_SUBMISSION_RESULT, RECONCILE_TRIGGER } from '../metrics';
import { PATCH } from '../patches';
import type { PaymentRun } from '../run';
import { EVENT_LAG_LOOK_MS, EVENT_LAG_LOOKS, failureInfo } from '../steps';

/**
 * Waits for authentication until Plural's order moves the payment on, the merchant cancels (the payment starts
 * CLOSING), or the window closes (a last Get Order, then CLOSING unless Plural has decided meanwhile).
 */
export async function authenticate(run: PaymentRun): Promise<void> {
  const { durations, payment, inbox, steps } = run;
  const windowMs =
    payment.status === PAYMENT_STATUS.AWAITING_OTP
      ? durations.otpWindowMs
      : payment.method.kind === 'hosted_checkout'
        ? durations.checkoutWindowMs
        : durations.challengeWindowMs;
  const deadline = nowMs() + windowMs;
  // The validators refuse OTPs and resends from then on. (State only: replay-safe.)
  if (payment.status === PAYMENT_STATUS.AWAITING_OTP && payment.s.otp) payment.s.otp.windowEndsAt = isoAt(deadline);
  let delay = durations.reconcileInitialDelayMs;
  let nextReconcileAt = nowMs() + delay;
  while (payment.awaiting) {
    if (closedOnCancel(run)) return;
    if (await steps.confirmEvents()) continue;
    if (inbox.resends.length > 0 && nowMs() >= deadline) dropLateResends(run);
    const sub = inbox.otps.shift();
    if (sub) {
      inbox.otpInFlight = sub;
      const answer = await submitOtp(run, sub.otpHandle);
      inbox.otpInFlight = undefined;
      if (answer.outcome === 'INCORRECT' && sub.otpDigest !== undefined) inbox.incorrectOtpDigest = sub.otpDigest;
      inbox.answerOtp(sub, answer);
      continue;
    }
    const resend = inbox.resends.shift();
    if (resend) {
      const answer = await resendOtp(run);
      // A new OTP is on its way: the one refused before is no longer known to be wrong.
      if (answer.outcome === 'SENT') inbox.incorrectOtpDigest = undefined;
      inbox.answer(resend.id, answer);
      continue;
    }
    const t = nowMs();
    // An event that said Plural decided the order while it still read open is looked at again before the window
    // closes on it (the customer may have completed authentication in its last minutes), for as long as those looks
    // take when Plural answers them, never longer (a Plural that does not answer leaves them queued).
    const past = t >= deadline;
    const lookedUntil = deadline + EVENT_LAG_LOOKS * EVENT_LAG_LOOK_MS;
    if (past && (!steps.lagLooking || t >= lookedUntil)) break;
    const reconciling = payment.status === PAYMENT_STATUS.AWAITING_CHALLENGE || payment.otpSettled;
    if (!past && reconciling && t >= nextReconcileAt) {
      await steps.reconcile('reconciliation with Get Order (no callback or webhook yet)', RECONCILE_TRIGGER.NO_EVENT);
      delay = Math.min(delay * 2, durations.reconcileMaxDelayMs);
      nextReconcileAt = nowMs() + delay;
      continue;
    }
    await steps.waitFor(
      past ? lookedUntil : reconciling ? Math.min(deadline, nextReconcileAt) : deadline,
      () => !payment.awaiting || inbox.otps.length > 0 || inbox.resends.length > 0 || inbox.cancel !== undefined,
    );
  }
  if (!payment.awaiting) return;
  const lookedUntil = deadline + EVENT_LAG_LOOKS * EVENT_LAG_LOOK_MS;
  const answered = await steps.reconcile(
    'final Get Order as the authentication window closed',
    RECONCILE_TRIGGER.WINDOW_CLOSED,
  );
  if (!payment.awaiting) return;
  // Closing on no answer, or on an order that trails an OTP Plural accepted, would cancel (or refund) an
  // authorization Plural gave in time. `patched` only on these rare paths.
  const accepted = payment.otpAccepted;
  if ((!answered || accepted) && patched(PATCH.WINDOW_CLOSES_ON_AN_ANSWER)) {
    await lastLooks(run, answered, accepted, lookedUntil);
    if (!payment.awaiting) return;
    // A cancel that came meanwhile closes the payment as the cancel it is, as before the window's end.
    if (closedOnCancel(run)) return;
  }
  // So does one that came during the final Get Order. `patched` only when one is waiting: the build before closed
  // the payment as the window's (FAILED), the cancel answered as a repeat.
  if (inbox.cancel !== undefined && patched(PATCH.WINDOW_END_HONOURS_A_CANCEL) && closedOnCancel(run)) return;
  payment.close(
    CLOSING_REASON.AUTHENTICATION_WINDOW_CLOSED,
    'authentication window closed',
    `the customer did not complete authentication within ${Math.round(windowMs / 1000)} s`,
  );
}

/**
 * The window has passed, but Plural's order could not be read, or it still reads open although Plural accepted the
 * customer's OTP: read it again — on the reconciliation backoff until Plural answers, then, after an accepted OTP,
 * up to {@link EVENT_LAG_LOOKS} times {@link EVENT_LAG_LOOK_MS} apart (as for an event ahead of the order) — until
 * `lookedUntil` at most, the minute the looks at events ahead of the order may take: the window closes at most that
 * late. Returns once the payment has moved on, the looks are done or their time is up, or a cancel came (the caller
 * then closes the payment as that cancel).
 */
async function lastLooks(run: PaymentRun, answered: boolean, accepted: boolean, lookedUntil: number): Promise<void> {
  const { durations, payment, inbox, steps } = run;
  let delay = durations.reconcileInitialDelayMs;
  let looks = 0;
  payment.note(
    answered
      ? `Plural accepted the OTP but its order still reads ${payment.s.pluralOrderStatus ?? 'open'}: reading it again before the window closes on it`
      : "Plural's order could not be read as the window closed: reading it again until Plural answers (a minute at most)",
  );
  for (let until = nowMs() + (answered ? EVENT_LAG_LOOK_MS : delay); ;) {
    if (nowMs() >= lookedUntil) return;
    until = Math.min(until, lookedUntil);
    await steps.waitFor(until, () => !payment.awaiting || inbox.cancel !== undefined);
    if (!payment.awaiting || inbox.cancel !== undefined) return;
    // A gateway event that came meanwhile is confirmed as anywhere (its own Get Order, its own backoff).
    if (await steps.confirmEvents()) {
      if (!payment.awaiting) return;
      continue;
    }
    if (nowMs() < until) continue;
    const read = await steps.reconcile(
      'Get Order again as the authentication window closed',
      RECONCILE_TRIGGER.WINDOW_CLOSED,
    );
    if (!payment.awaiting) return;
    if (!read) {
      delay = Math.min(delay * 2, durations.reconcileMaxDelayMs);
      until = nowMs() + delay;
      continue;
    }
    looks += 1;
    if (!accepted || looks >= EVENT_LAG_LOOKS) return;
    until = nowMs() + EVENT_LAG_LOOK_MS;
  }
}

/**
 * The authentication window has passed with resends still queued (they came in time, while a step ran past the
 * window's end): answered IGNORED rather than sent, since a new OTP would reach a customer who can no longer use it.
 * OTPs that came in time are still sent (the customer acted within the window); the validators refuse later ones.
 * `patched`: before, they were sent.
 */
function dropLateResends(run: PaymentRun): void {
  const { payment, inbox } = run;
  if (!patched(PATCH.NO_RESEND_AFTER_THE_WINDOW)) return;
  payment.note('OTP resend requested before the authentication window closed, not sent: the window has closed');
  const message = 'the authentication window has closed: the OTP was not resent';
  if (payment.s.otp) payment.s.otp.lastResend = { outcome: 'IGNORED', message };
  for (const resend of inbox.resends.splice(0))
    inbox.answer(resend.id, { outcome: 'IGNORED', message, state: payment.snapshot() });
}

/** A cancel request waiting: the payment closes as that cancel (its reason), its requests answered. Whether one did. */
function closedOnCancel(run: PaymentRun): boolean {
  const { payment, inbox } = run;
  const cancel = inbox.takeCancel();
  if (!cancel) return false;
  payment.close(
    closingReasonOf(cancel.source),
    `cancel requested before authorization (${cancel.source})`,
    cancel.reason ?? 'cancelled before authorization',
  );
  inbox.answerAll(cancel.ids, { state: payment.snapshot() });
  return true;
}

/** The closing reason a cancel request gives. */
export function closingReasonOf(source: CancelSource): ClosingReason {
  return source === 'operator'
    ? CLOSING_REASON.OPERATOR_CANCEL
    : source === 'workflow'
      ? CLOSING_REASON.WORKFLOW_CANCELLED
      : CLOSING_REASON.MERCHANT_CANCEL;
}

/** Why an OTP queued behind one Plural refused offering only a resend was not sent. */
export const OTP_RESEND_REQUIRED_MESSAGE =
  'Plural takes no OTP until one is resent (the last one expired, say): this one was not sent; resend the OTP first';
/** The same, when no resend is left (the authentication ends with the window). */
const OTP_NO_RESEND_LEFT_MESSAGE =
  'Plural takes no OTP until one is resent (the last one expired, say), and no resend is left: this one was not sent';

/** Sends one OTP to Plural and says what became of it (the Update's answer). */
async function submitOtp(run: PaymentRun, otpHandle: string): Promise<SubmitOtpAnswer> {
  const { payment, steps, workflowId } = run;
  const otp = payment.s.otp;
  const answer = (outcome: OtpSubmissionOutcome, message?: string): SubmitOtpAnswer => {
    if (otp) otp.lastSubmission = { outcome, ...(message !== undefined ? { message } : {}) };
    return {
      outcome,
      attemptsLeft: otp?.attemptsLeft ?? 0,
      ...(message !== undefined ? { message } : {}),
      state: payment.snapshot(),
    };
  };
  if (
    payment.status !== PAYMENT_STATUS.AWAITING_OTP ||
    !otp ||
    payment.otpSettled ||
    payment.s.pluralPaymentIds.length === 0
  ) {
    return answer('IGNORED', `payment is ${payment.status}; no OTP is expected`);
  }
  // Queued while the OTP before it was with Plural, which refused that one offering only a resend (it expired, say):
  // Plural takes no OTP until one is resent, and may count this one as an attempt. Not sent; its sender resends first.
  if (otp.resendRequired && patched(PATCH.OTP_HELD_UNTIL_A_RESEND)) {
    payment.note('OTP not sent: Plural takes none until one is resent');
    return answer('IGNORED', otp.resendsLeft > 0 ? OTP_RESEND_REQUIRED_MESSAGE : OTP_NO_RESEND_LEFT_MESSAGE);
  }
  payment.otpSubmissions += 1;
  const paymentId = payment.cardPaymentId ?? payment.s.pluralPaymentIds[0] ?? '';
  let result: OtpSubmitResult;
  try {
    const thenGetOrder = steps.orderRead();
    result = await steps.acts.submitOtp({
      workflowId,
      paymentId,
      otpHandle,
      submission: payment.otpSubmissions,
      ...(thenGetOrder !== undefined ? { thenGetOrder } : {}),
    });
  } catch (err) {
    const f = failureInfo(err);
    if (f.type === FAILURE_TYPE.OTP_UNAVAILABLE) {
      // Plural never saw this OTP: not an attempt; the customer submits again within the window.
      payment.note('OTP submission failed: the OTP hand-off was unavailable, nothing was sent to Plural');
      payment.metrics.otpSubmission(OTP_SUBMISSION_RESULT.UNAVAILABLE);
      return answer('FAILED', f.message);
    }
    payment.note(`OTP submission could not reach Plural: ${f.code}`);
    payment.metrics.otpSubmission(OTP_SUBMISSION_RESULT.ERROR);
    return answer('IGNORED', f.message);
  }
  // Plural refused the OTP offering only a resend (an expired OTP, say) and no resend is left: the authentication is
  // over, as when Plural offers nothing. (Only such results take this path, and no history before recorded one.)
  if (result.outcome === 'INCORRECT' && !result.next.includes('SUBMIT_OTP') && otp.resendsLeft <= 0) {
    result = { outcome: 'FAILED', code: 'USER_AUTHENTICATION_FAILED', message: result.message };
  }
  switch (result.outcome) {
    case 'ACCEPTED':
      payment.otpSettled = true;
      payment.otpAccepted = true;
      payment.note('OTP accepted');
      payment.metrics.otpSubmission(OTP_SUBMISSION_RESULT.ACCEPTED);
      // The activity read Plural's order right after (one workflow step fewer). Without that read (it failed, or a
      // history from before it), a webhook or callback that already moved the payment on makes a Get Order of our own
      // redundant, and it would only hold up a capture the merchant sends as soon as it sees AUTHORIZED.
      if (result.order !== undefined) {
        steps.applyRead(result.order, 'Get Order after the OTP was accepted', RECONCILE_TRIGGER.OTP_ACCEPTED);
      } else if (payment.awaiting) {
        await steps.reconcile('Get Order after the OTP was accepted', RECONCILE_TRIGGER.OTP_ACCEPTED);
      }
      return answer('ACCEPTED');
    case 'INCORRECT':
      // Plural's own verdict ends the attempts (FAILED below); the engine's count never shows 0 before that.
      if (result.counted) otp.attemptsLeft = Math.max(1, otp.attemptsLeft - 1);
      // Offering only a resend, Plural takes no OTP until one is sent: none is offered meanwhile. (State only.)
      if (!result.next.includes('SUBMIT_OTP')) otp.resendRequired = true;
      if (result.resendAfterSeconds !== undefined) {
        otp.resendAvailableAt = isoAt(nowMs() + result.resendAfterSeconds * 1000);
      }
      payment.note('incorrect OTP');
      payment.metrics.otpSubmission(OTP_SUBMISSION_RESULT.INCORRECT);
      return answer('INCORRECT', result.message);
    case 'FAILED': {
      // Plural refuses a retried submission whose first answer was lost (a timeout or a 5xx after it had accepted
      // the OTP, or a worker that died mid-call): the payment is no longer pending. Ask Plural before answering,
      // and never fail a payment that has moved on meanwhile.
      if (payment.awaiting) {
        await steps.reconcile('Get Order after the OTP was refused', RECONCILE_TRIGGER.OTP_REFUSED);
      }
      const movedOn: readonly string[] = [
        PAYMENT_STATUS.AUTHORIZED,
        PAYMENT_STATUS.PROCESSING,
        PAYMENT_STATUS.PROCESSED,
      ];
      if (movedOn.includes(payment.status)) {
        payment.otpSettled = true;
        payment.otpAccepted = true;
        payment.note('OTP refused on a retry, but Plural had accepted it (the first answer was lost)');
        payment.metrics.otpSubmission(OTP_SUBMISSION_RESULT.ACCEPTED);
        return answer('ACCEPTED');
      }
      otp.attemptsLeft = 0;
      payment.metrics.otpSubmission(OTP_SUBMISSION_RESULT.FAILED);
      // No more OTPs; the payment's outcome is Plural's order's (the reconciliation backoff reads it), never this
      // refusal alone.
      payment.otpSettled = true;
      if (payment.awaiting)
        payment.note(`OTP refused by Plural (${result.code}); waiting for Plural's order to settle`);
      return answer('FAILED', result.message);
    }
  }
}

/** Asks Plural to send the OTP again and says what became of it (the Update's answer). */
async function resendOtp(run: PaymentRun): Promise<ResendOtpAnswer> {
  const { payment, steps, workflowId } = run;
  const otp = payment.s.otp;
  const answer = (outcome: OtpResendOutcome, message?: string): ResendOtpAnswer => {
    if (otp) otp.lastResend = { outcome, ...(message !== undefined ? { message } : {}) };
    return { outcome, ...(message !== undefined ? { message } : {}), state: payment.snapshot() };
  };
  // The validator checked these when the request arrived; the payment may have moved on since.
  if (!otp || payment.status !== PAYMENT_STATUS.AWAITING_OTP || payment.otpSettled) {
    return answer('IGNORED', `payment is ${payment.status}; no OTP is expected`);
  }
  if (otp.resendsLeft <= 0) {
    payment.metrics.otpResend(OTP_RESEND_OUTCOME.LIMIT_REACHED);
    return answer('LIMIT_REACHED', 'no OTP resends left');
  }
  const availableAt = otp.resendAvailableAt === undefined ? 0 : Date.parse(otp.resendAvailableAt);
  if (nowMs() < availableAt) {
    payment.metrics.otpResend(OTP_RESEND_OUTCOME.TOO_EARLY);
    return answer('TOO_EARLY', `resend allowed from ${otp.resendAvailableAt}`);
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
    payment.metrics.otpResend(OTP_RESEND_OUTCOME.ERROR);
    return answer('IGNORED', failureInfo(err).message);
  }
  if (result.resendAfterSeconds !== undefined) {
    otp.resendAvailableAt = isoAt(nowMs() + result.resendAfterSeconds * 1000);
  }
  if (result.outcome === 'SENT') {
    otp.resendsLeft -= 1;
    delete otp.resendRequired;
    if (!result.next.includes('RESEND_OTP')) otp.resendsLeft = 0;
    payment.note('OTP resent');
    payment.metrics.otpResend(OTP_RESEND_OUTCOME.SENT);
    return answer('SENT');
  }
  // Plural's refusal says no resend is left, and not that one opens later (its limit, lower than the engine's, or a
  // resend whose answer was lost already used it): the payment stops offering one. (State only: replay-safe.)
  const noneLeft = result.next !== undefined && !result.next.includes('RESEND_OTP');
  if (noneLeft && result.resendAfterSeconds === undefined) otp.resendsLeft = 0;
  // Plural's refusal says when a resend opens (its window, longer than the engine knew): too early, as the engine's
  // own window answers, so the merchant hears 429 with the time. (The answer and state only: replay-safe.)
  if (!noneLeft && result.resendAfterSeconds !== undefined) {
    payment.metrics.otpResend(OTP_RESEND_OUTCOME.TOO_EARLY);
    return answer('TOO_EARLY', result.message ?? `resend allowed from ${otp.resendAvailableAt ?? 'later'}`);
  }
  payment.metrics.otpResend(OTP_RESEND_OUTCOME.REJECTED);
  return answer('REJECTED', result.message);
}
