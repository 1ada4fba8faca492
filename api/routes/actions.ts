/**
 * The merchant's actions on a payment: submit or resend the OTP, capture, cancel. Each is one Update: the workflow's
 * validator refuses what cannot apply now (answered here as 409 / 400 / 429 with the workflow's own code and words),
 * and the answer is this request's own outcome. An action still running after the wait answers 202 with the payment.
 */
import { Router } from 'express';
import type { Response } from 'express';
import { PAYMENT_STATUS } from '../../workflows/definitions';
import type { PaymentState, SubmitOtpAnswer } from '../../workflows/definitions';
import type { Answer } from '../engine';
import { conflict, tooManyRequests } from '../errors';
import { jsonBody, methodNotAllowed, parse, referenceOf, retryAfterSeconds } from '../http';
import { CancelSchema, CaptureSchema, EmptySchema, OtpSchema } from '../schemas';
import { destroyAll, load, sendPayment } from './context';
import type { RouteContext } from './context';

/** As long as the default OTP window: an OTP is worthless after it anyway. */
const OTP_TTL_MS = 10 * 60_000;

export function actionRoutes(ctx: RouteContext): Router {
  const { engine, timings } = ctx;
  const router = Router();

  const answer = (res: Response, status: number, state: PaymentState): void =>
    sendPayment(res, status, { state, requestFingerprint: undefined });

  /** Not answered within the wait: the action goes on in the workflow; say so with the payment as it is now. */
  async function pending<T>(res: Response, ref: string, result: Answer<T>): Promise<T | undefined> {
    if (result.answered) return result.answer;
    sendPayment(res, 202, await load(ctx, ref));
    return undefined;
  }

  const notAwaitingOtp = (ref: string, state: PaymentState, message: string | undefined) =>
    conflict('payment_not_awaiting_otp', message ?? `payment ${ref} is ${state.status}; no OTP is expected`);

  router
    .route('/v1/payments/:merchant_order_reference/otp')
    .post(...ctx.merchant, async (req, res) => {
      const ref = referenceOf(req);
      const { otp } = parse(OtpSchema, jsonBody(req, true), 'OTP request');
      // The OTP goes to the vault; only its handle enters the Update (and so workflow history).
      const otpHandle = await ctx.vault.put({ otp }, ctx.options.otpTtlMs ?? OTP_TTL_MS);
      let result: Answer<SubmitOtpAnswer>;
      try {
        result = await engine.submitOtp(ref, { otpHandle }, timings.actionWaitMs);
      } catch (err) {
        await destroyAll(ctx, [otpHandle]);
        throw err;
      }
      const a = await pending(res, ref, result);
      if (!a) return;
      if (a.outcome === 'IGNORED') {
        // The payment moved on before the OTP was used: drop it now rather than at its TTL.
        await destroyAll(ctx, [otpHandle]);
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
      const a = await pending(res, ref, await engine.resendOtp(ref, timings.actionWaitMs));
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
          throw notAwaitingOtp(ref, a.state, a.message);
      }
    })
    .all(methodNotAllowed('POST'));

  router
    .route('/v1/payments/:merchant_order_reference/capture')
    .post(...ctx.merchant, async (req, res) => {
      const ref = referenceOf(req);
      const { amount } = parse(CaptureSchema, jsonBody(req, false), 'capture request');
      const a = await pending(res, ref, await engine.capture(ref, amount ? { amount } : {}, timings.actionWaitMs));
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
        await engine.cancel(ref, reason !== undefined ? { reason } : {}, timings.actionWaitMs),
      );
      if (!a) return;
      // An authorization is cancelled at Plural at once (200); a payment not yet authorized is CLOSING until Plural's
      // order can take no more money (Plural cancels only authorized orders), and answers 202 meanwhile.
      if (a.state.status === PAYMENT_STATUS.CANCELLED) return answer(res, 200, a.state);
      if (a.state.status === PAYMENT_STATUS.CLOSING) return answer(res, 202, a.state);
      throw conflict('payment_not_cancellable', `payment ${ref} ended ${a.state.status} and was not cancelled`);
    })
    .all(methodNotAllowed('POST'));

  return router;
}
