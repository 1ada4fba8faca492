/**
 * Payment activities: thin translations between the workflow's vocabulary and the Plural client.
 *
 * - Idempotency keys and merchant references: `referenceFor` in `context.ts`.
 * - Failures are classified in `failures.ts`.
 * - A retried attempt of a non-idempotent call first checks the order's state at Plural, so an answer lost in transit
 *   never yields two orders, two payments or two captures.
 * - Card data is read from the vault only inside `lookupCard`, `checkPointsBalance` and `createPayment`, the OTP only
 *   inside `submitOtp`; neither is ever returned, logged or put in an error.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { isPluralError, ORDER_STATUS, PLURAL_ERROR_CODE, PLURAL_ERROR_TYPE } from '../plural-client';
import type {
  CardDetailsResponse,
  DeviceInfo as PluralDeviceInfo,
  PaymentRequest,
  PluralApiError,
} from '../plural-client';
import { FAILURE_TYPE } from '../workflows/definitions';
import type { DeviceInfo } from '../workflows/definitions';
import type {
  CancelInput,
  CaptureInput,
  CardLookupResult,
  CardSecret,
  CreatePaymentInput,
  CreatePaymentResult,
  OrderSnapshot,
  OtpGenerateResult,
  OtpResendResult,
  OtpSubmitResult,
  PointsBalanceInput,
  PointsBalanceResult,
  RefundInput,
  RefundSnapshot,
  SubmitOtpInput,
} from './types';
import { createActivityContext, referenceFor, snapshotOf } from './context';
import type { ActivityDeps } from './context';
import { classify, codeOf, failure } from './failures';
import { createOrderActivities } from './orders';

export type * from './types';
export { referenceFor, snapshotOf } from './context';
export type { ActivityDeps } from './context';
export { classify } from './failures';
export type { FailureDetails } from './failures';

function cardUnavailable(what: string): ApplicationFailure {
  return failure(
    `${what} is no longer available (the hand-off expired or was already used); ask the customer to enter the card again`,
    FAILURE_TYPE.CARD_DATA_UNAVAILABLE,
    true,
  );
}

/** The workflow's browser details as Plural's `device_info` (every value a string, as the guides send them). */
export function deviceInfoBody(d: DeviceInfo | undefined): PluralDeviceInfo | undefined {
  if (d === undefined) return undefined;
  const body: Record<string, string> = {};
  const set = (key: string, value: string | undefined): void => {
    if (value !== undefined) body[key] = value;
  };
  set('device_channel', d.deviceChannel);
  set('browser_accept_header', d.browserAcceptHeader);
  set('browser_user_agent', d.browserUserAgent);
  set('browser_language', d.browserLanguage);
  set('browser_screen_height', d.browserScreenHeight);
  set('browser_screen_width', d.browserScreenWidth);
  set('browser_timezone', d.browserTimezone);
  set('browser_window_size', d.browserWindowSize);
  set('browser_screen_color_depth', d.browserScreenColorDepth);
  set('browser_java_enabled_val', d.browserJavaEnabled);
  set('browser_javascript_enabled_val', d.browserJavascriptEnabled);
  return Object.keys(body).length > 0 ? body : undefined;
}

/** A 422 from an OTP endpoint: a business answer (`next[]`, `resend_after`), not a failure to retry. */
function isOtpRejection(err: unknown): err is PluralApiError {
  return isPluralError(err) && err.type === PLURAL_ERROR_TYPE.API && err.statusCode === 422;
}

/** Builds the payment activities over a Plural client and a card vault. */
export function createActivities(deps: ActivityDeps) {
  const ctx = createActivityContext(deps);
  const { plural, vault, call, log, getOrderSnapshot } = ctx;

  async function secretOf(handle: string, what: string): Promise<CardSecret> {
    const secret = await vault.get(handle);
    if (!secret) throw cardUnavailable(what);
    return secret;
  }

  return {
    ...createOrderActivities(ctx),
    /** Card network and native-OTP support for the card behind `cardHandle` (read-only; the handle stays). */
    lookupCard: async (input: { cardHandle: string; amount: number }): Promise<CardLookupResult> => {
      const { signal } = call();
      const secret = await secretOf(input.cardHandle, 'the card');
      const number = secret.number ?? secret.token;
      if (number === undefined) throw cardUnavailable('the card number');
      let res: CardDetailsResponse;
      try {
        res = await plural.getCardDetails(
          { amount: input.amount, card_details: [{ payment_identifier: number, payment_reference_type: 'CARD' }] },
          { signal },
        );
      } catch (err) {
        throw classify(err, FAILURE_TYPE.GATEWAY_REJECTED);
      }
      const details = res.card_payment_details[0];
      return {
        nativeOtpSupported: details?.is_native_otp_supported ?? false,
        network: details?.card_network ?? undefined,
      };
    },

    /** Reward-points balance check; the split the workflow uses is exactly `redeemable`. */
    checkPointsBalance: async (input: PointsBalanceInput): Promise<PointsBalanceResult> => {
      const { signal } = call();
      const secret = await secretOf(input.cardHandle, 'the points card');
      try {
        const res = await plural.getPointsBalance(
          {
            payment_option: {
              points_card_details: {
                card_number: secret.number,
                card_last4: input.last4,
                registered_mobile_number: input.registeredMobileNumber,
              },
            },
            order_details: { order_amount: input.amount },
          },
          { signal },
        );
        return {
          eligible: res.is_eligible,
          redeemable: { value: res.redeemable_amount.value, currency: res.redeemable_amount.currency },
        };
      } catch (err) {
        throw classify(err, FAILURE_TYPE.POINTS_NOT_ELIGIBLE);
      }
    },

    /**
     * Create the payment with the card data from the vault. The vault entry is destroyed once the outcome is
     * definitive (created, or rejected for good) so that retries of a transient failure can still read it.
     */
    createPayment: async (input: CreatePaymentInput): Promise<CreatePaymentResult> => {
      const { signal, attempt } = call();
      const key = `${input.workflowId}:create-payment`;
      const handles =
        input.instrument.kind === 'card' || input.instrument.kind === 'card_points'
          ? [input.instrument.cardHandle]
          : input.instrument.kind === 'card_token'
            ? [input.instrument.cvvHandle]
            : [input.instrument.handle];
      const destroyHandles = async (): Promise<void> => {
        for (const h of handles) await vault.destroy(h);
      };

      if (attempt > 1) {
        // An earlier attempt may have created the payment and lost the answer: never create a second one.
        const order = snapshotOf(
          await plural.getOrder(input.orderId, { signal }).catch((err: unknown) => {
            throw classify(err, FAILURE_TYPE.GATEWAY_REJECTED);
          }),
        );
        if (order.payments.length > 0 && order.status !== ORDER_STATUS.ATTEMPTED) {
          await destroyHandles();
          const card = order.payments.find((p) => p.method === 'CARD');
          return { order, challengeUrl: undefined, cardPaymentId: card?.id };
        }
      }

      const payments = await buildPayments(input, key);
      try {
        const order = await plural.createPayment(input.orderId, { payments }, { signal, idempotencyKey: key });
        await destroyHandles();
        const snapshot = snapshotOf(order);
        const card = snapshot.payments.find((p) => p.method === 'CARD');
        log('info', { orderId: input.orderId }, 'Plural payment created');
        return { order: snapshot, challengeUrl: order.challenge_url ?? undefined, cardPaymentId: card?.id };
      } catch (err) {
        const classified = classify(err, FAILURE_TYPE.PAYMENT_REJECTED);
        if (classified instanceof ApplicationFailure && classified.nonRetryable) await destroyHandles();
        throw classified;
      }
    },

    /** Send the native OTP; `eligible: false` when Plural says the payment cannot use native OTP. */
    generateOtp: async (input: { workflowId: string; paymentId: string }): Promise<OtpGenerateResult> => {
      const { signal } = call();
      try {
        const res = await plural.generateOtp(
          { payment_id: input.paymentId },
          { signal, idempotencyKey: `${input.workflowId}:generate-otp` },
        );
        return { eligible: true, next: res.next, resendAfterSeconds: res.meta_data?.resend_after ?? undefined };
      } catch (err) {
        if (isPluralError(err) && !err.retryable && err.statusCode === 422) {
          return { eligible: false, next: [], resendAfterSeconds: undefined };
        }
        throw classify(err, FAILURE_TYPE.GATEWAY_REJECTED);
      }
    },

    /**
     * Submit the customer's OTP, read from the vault under `otpHandle` (the OTP never enters history). Business
     * outcomes (incorrect, failed) are results, not errors. The vault entry is destroyed once the outcome is
     * definitive and kept while a transient failure is retried; a missing entry is the non-retryable
     * `OtpUnavailable` (Plural never saw the OTP).
     */
    submitOtp: async (input: SubmitOtpInput): Promise<OtpSubmitResult> => {
      const { signal } = call();
      const secret = await vault.get(input.otpHandle);
      if (secret?.otp === undefined) {
        throw failure(
          'the submitted OTP is no longer available (its hand-off expired or was already used); submit the OTP again',
          FAILURE_TYPE.OTP_UNAVAILABLE,
          true,
        );
      }
      // Best effort: the outcome is known, so a vault hiccup must not retry the call; the entry's TTL is the backstop.
      const forget = (): Promise<void> =>
        vault.destroy(input.otpHandle).catch(() => {
          log('warn', {}, 'could not destroy the OTP hand-off; it expires with its TTL');
        });
      const definitive = async <T>(result: T): Promise<T> => {
        await forget();
        return result;
      };
      try {
        await plural.submitOtp(
          { payment_id: input.paymentId, otp: secret.otp },
          { signal, idempotencyKey: `${input.workflowId}:submit-otp:${input.submission}` },
        );
        return await definitive({ outcome: 'ACCEPTED' });
      } catch (err) {
        if (isPluralError(err) && !err.retryable && err.type === PLURAL_ERROR_TYPE.REQUEST_VALIDATION) {
          return await definitive({
            outcome: 'INCORRECT',
            next: ['SUBMIT_OTP'],
            resendAfterSeconds: undefined,
            message: 'the OTP must be 4-8 digits',
            counted: false,
          });
        }
        if (isOtpRejection(err)) {
          const next = err.next ?? [];
          const message = err.message;
          if (next.includes('SUBMIT_OTP')) {
            return await definitive({
              outcome: 'INCORRECT',
              next: [...next],
              resendAfterSeconds: err.resendAfterSeconds,
              message,
              counted: true,
            });
          }
          return await definitive({ outcome: 'FAILED', code: err.code ?? 'USER_AUTHENTICATION_FAILED', message });
        }
        const classified = classify(err, FAILURE_TYPE.GATEWAY_REJECTED);
        if (classified instanceof ApplicationFailure && classified.nonRetryable) await forget();
        throw classified;
      }
    },

    /** Ask Plural to resend the OTP; a 422 (limit reached, too early) is a result. */
    resendOtp: async (input: { workflowId: string; paymentId: string; resend: number }): Promise<OtpResendResult> => {
      const { signal } = call();
      try {
        const res = await plural.resendOtp(
          { payment_id: input.paymentId },
          { signal, idempotencyKey: `${input.workflowId}:resend-otp:${input.resend}` },
        );
        return { outcome: 'SENT', next: res.next, resendAfterSeconds: res.meta_data?.resend_after ?? undefined };
      } catch (err) {
        if (isOtpRejection(err)) {
          const resendAfterSeconds = err.resendAfterSeconds;
          return { outcome: 'REJECTED', code: err.code ?? 'HTTP_422', message: err.message, resendAfterSeconds };
        }
        throw classify(err, FAILURE_TYPE.GATEWAY_REJECTED);
      }
    },

    /**
     * Capture (full when `amount` is omitted). Plural allows one capture: a retry first looks at the order and
     * returns it when it is already captured; a DUPLICATE_REQUEST also resolves to the order's state.
     */
    captureOrder: async (input: CaptureInput): Promise<OrderSnapshot> => {
      const { signal, attempt } = call();
      const captured = (o: OrderSnapshot): boolean =>
        o.status === ORDER_STATUS.PROCESSED || o.status === ORDER_STATUS.PARTIALLY_CAPTURED;
      if (attempt > 1) {
        const order = await getOrderSnapshot(input.orderId, signal);
        if (captured(order)) return order;
      }
      const key = `${input.workflowId}:capture`;
      try {
        const order = await plural.captureOrder(
          input.orderId,
          { merchant_capture_reference: referenceFor(key), capture_amount: input.amount },
          { signal, idempotencyKey: key },
        );
        return snapshotOf(order);
      } catch (err) {
        if (codeOf(err) === PLURAL_ERROR_CODE.DUPLICATE_REQUEST) {
          const order = await getOrderSnapshot(input.orderId, signal);
          if (captured(order)) return order;
        }
        throw classify(err, FAILURE_TYPE.CAPTURE_REJECTED);
      }
    },

    /** Cancel (void) an AUTHORIZED order; an order already CANCELLED counts as success. */
    cancelOrder: async (input: CancelInput): Promise<OrderSnapshot> => {
      const { signal, attempt } = call();
      if (attempt > 1) {
        const order = await getOrderSnapshot(input.orderId, signal);
        if (order.status === ORDER_STATUS.CANCELLED) return order;
      }
      try {
        return snapshotOf(
          await plural.cancelOrder(input.orderId, { signal, idempotencyKey: `${input.workflowId}:${input.step}` }),
        );
      } catch (err) {
        if (isPluralError(err) && !err.retryable) {
          const order = await getOrderSnapshot(input.orderId, signal);
          if (order.status === ORDER_STATUS.CANCELLED) return order;
          throw failure(
            `${err.message} (order ${input.orderId} is ${order.status})`,
            FAILURE_TYPE.CANCEL_REJECTED,
            true,
            err.code,
          );
        }
        throw classify(err, FAILURE_TYPE.CANCEL_REJECTED);
      }
    },

    /**
     * Refund `amount` of a captured order. The refund's merchant reference derives from `<workflowId>:<step>`, and
     * Plural returns the same refund for the same reference and amount, so a retry never refunds twice.
     */
    refundOrder: async (input: RefundInput): Promise<RefundSnapshot> => {
      const { signal } = call();
      const key = `${input.workflowId}:${input.step}`;
      const reference = referenceFor(key);
      try {
        const refund = await plural.refundOrder(
          input.orderId,
          { merchant_order_reference: reference, order_amount: input.amount },
          { signal, idempotencyKey: key },
        );
        return {
          refundOrderId: refund.order_id,
          reference,
          status: refund.status,
          amount: { value: refund.order_amount.value, currency: refund.order_amount.currency },
        };
      } catch (err) {
        throw classify(err, FAILURE_TYPE.REFUND_REJECTED);
      }
    },
  };

  async function buildPayments(input: CreatePaymentInput, key: string): Promise<PaymentRequest[]> {
    const ref = referenceFor(key);
    const i = input.instrument;
    // 3-D Secure concerns the card: the browser details ride on the CARD payment only.
    const device_info = deviceInfoBody(input.deviceInfo);
    switch (i.kind) {
      case 'card': {
        const s = await secretOf(i.cardHandle, 'the card');
        if (!s.number || !s.expiryMonth || !s.expiryYear) throw cardUnavailable('the card number or expiry');
        return [
          {
            merchant_payment_reference: ref,
            payment_method: 'CARD',
            payment_amount: input.amount,
            pre_auth: input.preAuth,
            device_info,
            payment_option: {
              card_details: {
                name: s.name,
                card_number: s.number,
                cvv: s.cvv,
                expiry_month: s.expiryMonth,
                expiry_year: s.expiryYear,
                save: i.save || undefined,
              },
            },
          },
        ];
      }
      case 'card_token': {
        const s = await secretOf(i.cvvHandle, 'the CVV');
        return [
          {
            merchant_payment_reference: ref,
            payment_method: 'CARD',
            payment_amount: input.amount,
            pre_auth: input.preAuth,
            device_info,
            payment_option: {
              card_token_details: { token_id: i.tokenId, cvv: s.cvv, token_txn_type: 'NETWORK_TOKEN' },
            },
          },
        ];
      }
      case 'network_token': {
        const s = await secretOf(i.handle, 'the network token');
        if (!s.token || !s.cryptogram || !s.expiryMonth || !s.expiryYear) {
          throw cardUnavailable('the network token, cryptogram or expiry');
        }
        return [
          {
            merchant_payment_reference: ref,
            payment_method: 'CARD',
            payment_amount: input.amount,
            pre_auth: input.preAuth,
            device_info,
            payment_option: {
              card_token_details: {
                token: s.token,
                cryptogram: s.cryptogram,
                expiry_month: s.expiryMonth,
                expiry_year: s.expiryYear,
                last4_digit: i.last4 ?? s.token.slice(-4),
                name: s.name,
                cvv: s.cvv,
                token_txn_type: 'ALT_TOKEN',
              },
            },
          },
        ];
      }
      case 'card_points': {
        const s = await secretOf(i.cardHandle, 'the card');
        if (!s.number || !s.expiryMonth || !s.expiryYear) throw cardUnavailable('the card number or expiry');
        const cardValue = input.amount.value - i.pointsAmount.value;
        const payments: PaymentRequest[] = [];
        if (cardValue > 0) {
          payments.push({
            merchant_payment_reference: referenceFor(`${key}:card`),
            payment_method: 'CARD',
            payment_amount: { value: cardValue, currency: input.amount.currency },
            pre_auth: input.preAuth,
            device_info,
            payment_option: {
              card_details: {
                name: s.name,
                card_number: s.number,
                cvv: s.cvv,
                expiry_month: s.expiryMonth,
                expiry_year: s.expiryYear,
                registered_mobile_number: i.registeredMobileNumber,
              },
            },
          });
        }
        payments.push({
          merchant_payment_reference: referenceFor(`${key}:points`),
          payment_method: 'POINTS',
          payment_amount: i.pointsAmount,
          pre_auth: input.preAuth,
          payment_option: {
            points_card_details: {
              card_number: s.number,
              card_last4: i.last4,
              registered_mobile_number: i.registeredMobileNumber,
            },
          },
        });
        return payments;
      }
    }
  }
}

/** The activities the payment workflow calls (for `proxyActivities<PaymentActivities>`). */
export type PaymentActivities = ReturnType<typeof createActivities>;
