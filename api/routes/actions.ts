/**
 * The merchant's actions on a payment: submit or resend the OTP, capture, cancel, refund. Each is one Update: the
 * workflow's validator refuses what cannot apply now (answered here as 409 / 400 / 429 with the workflow's own code and
 * words), and the answer is this request's own outcome. An action still running after the wait answers 202 with the
 * payment (a refund: with the refund, the payment inside).
 */
import { Router } from 'express';
import type { Response } from 'express';
import { NEXT_ACTION, otpWindowClosed, PAYMENT_STATUS, paymentWorkflowId } from '../../workflows/definitions';
import type { PaymentState, RefundRecord, RefundRequest, SubmitOtpAnswer } from '../../workflows/definitions';
import { EngineUnavailableError } from '../engine';
import type { Answer, PaymentRecord } from '../engine';
import { conflict, tooManyRequests, unavailable } from '../errors';
import { otpDigestOf } from '../fingerprint';
import { idempotentRequestIdOf, markActionPending } from '../idempotency';
import { jsonBody, methodNotAllowed, parse, referenceOf, retryAfterSeconds } from '../http';
import { paymentResource, refundResource } from '../resource';
import { CancelSchema, CaptureSchema, EmptySchema, OtpSchema, RefundSchema } from '../schemas';
import { destroyAll, load, sendPayment } from './context';
import type { RouteContext } from './context';

/** As long as the default OTP window: an OTP is worthless after it anyway. */
const OTP_TTL_MS = 10 * 60_000;

export function actionRoutes(ctx: RouteContext): Router {
  const { timings } = ctx;
  const router = Router();

  const answer = (res: Response, status: number, state: PaymentState): void =>
    sendPayment(res, status, { state, requestFingerprint: undefined });

  /** Not answered within the wait: the action goes on in the workflow; say so with the payment as it is now. */
  async function pending<T>(res: Response, ref: string, result: Answer<T>): Promise<T | undefined> {
    if (result.answered) return result.answer;
    markActionPending(res);
    sendPayment(res, 202, await load(ctx, res, ref));
    return undefined;
  }

  /** Not sent: the payment takes no OTP now (it moved on, or its authentication window closed while this one waited). */
  const notAwaitingOtp = (ref: string, state: PaymentState, message: string | undefined) =>
    state.status === PAYMENT_STATUS.AWAITING_OTP && otpWindowClosed(state.otp, ctx.now())
      ? conflict(
          'authentication_window_closed',
          `the authentication window of payment ${ref} has closed (${message ?? 'no OTP is taken'}); the payment ends as Plural's order says`,
        )
      : conflict('payment_not_awaiting_otp', message ?? `payment ${ref} is ${state.status}; no OTP is expected`);

  /**
   * An OTP the workflow did not send because Plural takes none until a resend (queued behind the one Plural refused so):
   * the validator's `otp_resend_required`, as for an OTP sent after that answer.
   */
  const heldForAResend = (state: PaymentState): boolean =>
    state.status === 'AWAITING_OTP' &&
    state.otp?.resendRequired === true &&
    state.nextActions.includes(NEXT_ACTION.RESEND_OTP);

  router
    .route('/v1/payments/:merchant_order_reference/otp')
    .post(...ctx.merchant, async (req, res) => {
      const ref = referenceOf(req);
      const { otp } = parse(OtpSchema, jsonBody(req, true), 'OTP request');
      // The OTP goes to the vault; only its handle and a keyed hash of it (so the same OTP sent again joins the first
      // submission instead of spending another attempt) enter the Update, and so workflow history.
      const otpHandle = await ctx.vault.put({ otp }, ctx.options.otpTtlMs ?? OTP_TTL_MS);
      const otpDigest = otpDigestOf(ctx.options.fingerprintKey, paymentWorkflowId(ref, ctx.merchantOf(res)), otp);
      let result: Answer<SubmitOtpAnswer>;
      try {
        result = await ctx
          .engineOf(res)
          .submitOtp(ref, { otpHandle, otpDigest }, timings.actionWaitMs, idempotentRequestIdOf(res));
      } catch (err) {
        // Refused: the OTP will never be read. The engine unavailable (or no worker took the OTP up in time): the
        // Update may still run and read it, so it is kept until its TTL.
        if (!(err instanceof EngineUnavailableError)) await destroyAll(ctx, [otpHandle]);
        throw err;
      }
      const a = await pending(res, ref, result);
      if (!a) return;
      // Answered: the OTP was used (its activity destroyed it), joined another submission, or was not needed; drop it
      // now rather than at its TTL.
      await destroyAll(ctx, [otpHandle]);
      if (a.outcome === 'IGNORED') {
        // Still waiting for an OTP: Plural could not be reached, and the OTP was not used. Send it again.
        if (a.state.nextActions.includes(NEXT_ACTION.SUBMIT_OTP)) {
          throw unavailable(
            'gateway_unavailable',
            `Plural could not be reached to check the OTP; nothing was used, send it again (${a.message ?? 'gateway error'})`,
            1,
          );
        }
        if (heldForAResend(a.state)) throw conflict('otp_resend_required', a.message ?? 'resend the OTP first');
        throw notAwaitingOtp(ref, a.state, a.message);
      }
      answer(res, 200, a.state);
    })
    .all(methodNotAllowed('POST'));

  router
    .route('/v1/payments/:merchant_order_reference/otp/resend')
    .post(...ctx.merchant, async (req, res) => {
      const ref = referenceOf(req);
      parse(EmptySchema, jsonBody(req, false), 'OTP resend request');
      const a = await pending(
        res,
        ref,
        await ctx.engineOf(res).resendOtp(ref, timings.actionWaitMs, idempotentRequestIdOf(res)),
      );
      if (!a) return;
      switch (a.outcome) {
        case 'SENT':
          return answer(res, 200, a.state);
        case 'TOO_EARLY': {
          const at = a.state.otp?.resendAvailableAt;
          throw tooManyRequests(
            'otp_resend_too_early',
            a.message ?? `an OTP for payment ${ref} was sent recently; retry after ${at ?? 'a moment'}`,
            retryAfterSeconds(at, ctx.now()),
          );
        }
        case 'LIMIT_REACHED':
          throw conflict('otp_resend_limit_reached', a.message ?? `no OTP resends left for payment ${ref}`);
        case 'REJECTED':
          throw conflict(
            'otp_resend_rejected',
            `the gateway refused to resend the OTP for payment ${ref}: ${a.message ?? 'no reason given'}`,
          );
        default:
          // Still waiting for an OTP: Plural could not be reached to resend it. Ask again.
          if (a.state.nextActions.includes(NEXT_ACTION.RESEND_OTP)) {
            throw unavailable(
              'gateway_unavailable',
              `Plural could not be reached to resend the OTP; ask again (${a.message ?? 'gateway error'})`,
              1,
            );
          }
          throw notAwaitingOtp(ref, a.state, a.message);
      }
    })
    .all(methodNotAllowed('POST'));

  router
    .route('/v1/payments/:merchant_order_reference/capture')
    .post(...ctx.merchant, async (req, res) => {
      const ref = referenceOf(req);
      const { amount } = parse(CaptureSchema, jsonBody(req, false), 'capture request');
      const a = await pending(
        res,
        ref,
        await ctx
          .engineOf(res)
          .capture(ref, amount ? { amount } : {}, timings.actionWaitMs, idempotentRequestIdOf(res)),
      );
      if (!a) return;
      switch (a.outcome) {
        case 'CAPTURED':
          return answer(res, 200, a.state);
        case 'PARKED':
          // Plural kept failing: the capture waits for an operator (`parked` says which step and why).
          return answer(res, 202, a.state);
        default:
          throw conflict(
            'capture_rejected',
            `the capture of payment ${ref} was refused: ${a.message ?? 'no reason given'}`,
          );
      }
    })
    .all(methodNotAllowed('POST'));

  router
    .route('/v1/payments/:merchant_order_reference/cancel')
    .post(...ctx.merchant, async (req, res) => {
      const ref = referenceOf(req);
      const { reason } = parse(CancelSchema, jsonBody(req, false), 'cancel request');
      const a = await pending(
        res,
        ref,
        await ctx
          .engineOf(res)
          .cancel(ref, reason !== undefined ? { reason } : {}, timings.actionWaitMs, idempotentRequestIdOf(res)),
      );
      if (!a) return;
      // An authorization is cancelled at Plural at once (200); a payment not yet authorized is CLOSING until Plural's
      // order can take no more money (Plural cancels only authorized orders), and answers 202 meanwhile.
      if (a.state.status === PAYMENT_STATUS.CANCELLED) return answer(res, 200, a.state);
      if (a.state.status === PAYMENT_STATUS.CLOSING) return answer(res, 202, a.state);
      // Plural kept failing the cancel: it waits (`parked`) and the payment tries it again on its own; not a refusal.
      if (a.state.parked?.operation === 'cancel') return answer(res, 202, a.state);
      // Plural answered the cancel, but its order still reads AUTHORIZED: not cancelled, and not final either.
      if (a.state.status === PAYMENT_STATUS.AUTHORIZED) {
        throw conflict(
          'cancel_not_applied',
          `Plural answered the cancel of payment ${ref} but its order still reads AUTHORIZED: it is not cancelled ` +
            'yet; send the cancel again with a new Idempotency-Key (the payment also cancels itself before the ' +
            'authorization expires)',
        );
      }
      throw conflict('payment_not_cancellable', `payment ${ref} ended ${a.state.status} and was not cancelled`);
    })
    .all(methodNotAllowed('POST'));

  /** The refund, with the payment it belongs to. */
  const sendRefund = (res: Response, status: number, refund: RefundRecord, record: PaymentRecord): void => {
    res.status(status).json({ ...refundResource(refund), payment: paymentResource(record) });
  };

  router
    .route('/v1/payments/:merchant_order_reference/refunds')
    .post(...ctx.merchant, async (req, res) => {
      const ref = referenceOf(req);
      const body = parse(RefundSchema, jsonBody(req, true), 'refund request');
      const request: RefundRequest = {
        merchantRefundReference: body.merchant_refund_reference,
        ...(body.amount ? { amount: body.amount } : {}),
        ...(body.reason !== undefined ? { reason: body.reason } : {}),
      };
      const result = await ctx.engineOf(res).refund(ref, request, timings.actionWaitMs, idempotentRequestIdOf(res));
      if (!result.answered) {
        markActionPending(res);
        // Accepted but not answered within the wait: the refund goes on in the payment (its amount already held back
        // there). One no worker took up is a 503 from the engine instead.
        const record = await load(ctx, res, ref);
        const refund = record.state.refunds.find((r) => r.merchantRefundReference === request.merchantRefundReference);
        if (refund) return sendRefund(res, 202, refund, record);
        res.status(202).json({
          ...refundResource({
            reason: 'MERCHANT',
            amount: request.amount ?? { value: 0, currency: record.state.amount.currency },
            merchantRefundReference: request.merchantRefundReference,
            ...(request.reason !== undefined ? { note: request.reason } : {}),
            reference: undefined,
            refundOrderId: undefined,
            status: 'PENDING',
            at: new Date(ctx.now()).toISOString(),
          }),
          // Not in the read yet (one from the memo, as of the payment's last change): the amount is known once it is
          // (the rest, when omitted).
          ...(request.amount === undefined ? { amount: null } : {}),
          payment: paymentResource(record),
        });
        return;
      }
      const a = result.answer;
      const record: PaymentRecord = { state: a.state, requestFingerprint: undefined };
      switch (a.outcome) {
        case 'REPEATED':
          // The same reference and amount again: that refund, as it is now.
          return sendRefund(res, 200, a.refund, record);
        case 'REFUNDED':
          // Plural took it: PROCESSED, or PENDING until Plural confirms (a REFUND_* webhook, or Get Order).
          return sendRefund(res, 201, a.refund, record);
        case 'PARKED':
          // Plural kept failing: the refund waits for an operator (`payment.parked`), its amount held back.
          return sendRefund(res, 202, a.refund, record);
        default:
          throw conflict(
            'refund_rejected',
            `refund ${request.merchantRefundReference} of payment ${ref} was refused: ${a.message ?? 'no reason given'}`,
          );
      }
    })
    .all(methodNotAllowed('POST'));

  return router;
}
