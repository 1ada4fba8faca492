/**
 * Plural's payment operations: the card's details (network, native OTP), the reward-points balance, and Create Payment
 * with the instrument built from the vault.
 *
 * Card data (number, CVV, expiry, network token, cryptogram) is read from the vault only here, inside `lookupCard`,
 * `checkPointsBalance` and `createPayment`; it is never returned, logged or put in an error. A retried
 * `createPayment` first reads the order at Plural, so an answer lost in transit never yields two payments.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { isPluralError, ORDER_STATUS, PAYMENT_STATUS, PLURAL_ERROR_CODE } from '../plural-client';
import type { CardDetailsResponse, DeviceInfo as PluralDeviceInfo, PaymentRequest } from '../plural-client';
import { ENGINE_FAILURE_CODE, FAILURE_TYPE } from '../workflows/definitions';
import type { DeviceInfo } from '../workflows/definitions';
import { referenceFor, snapshotOf } from './context';
import type { ActivityContext, CardLookup, OtpGenerator } from './context';
import { classify, codeOf, failure } from './failures';
import type {
  CardLookupInput,
  CardLookupResult,
  CardVault,
  CardSecret,
  CreatePaymentInput,
  CreatePaymentResult,
  DiscardHandOffInput,
  OrderSnapshot,
  OtpGenerateResult,
  PointsBalanceInput,
  PointsBalanceResult,
} from './types';

/** Plural's `card_details`: a new card's number, expiry, CVV and name. */
type CardDetails = NonNullable<PaymentRequest['payment_option']['card_details']>;

/** Card data the vault no longer holds: non-retryable (`what` names the data, never its value). */
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

/**
 * Create Payment's result: the order, the 3-D Secure challenge URL if any, and the card payment's id — the latest one
 * not failed or cancelled (an order may list an earlier attempt's failed payment before it), else the latest.
 */
function created(order: OrderSnapshot, challengeUrl: string | undefined): CreatePaymentResult {
  const cards = order.payments.filter((p) => p.method === 'CARD');
  const live = cards.filter((p) => p.status !== PAYMENT_STATUS.FAILED && p.status !== PAYMENT_STATUS.CANCELLED);
  return { order, challengeUrl, cardPaymentId: (live.at(-1) ?? cards.at(-1))?.id };
}

/**
 * Why a retry's read found no earlier payment to adopt: the order reads ATTEMPTED (an attempt failed for good), or it
 * lists none (none made, or one the read lags behind).
 */
type NothingToAdopt = typeof ORDER_STATUS.ATTEMPTED | undefined;

/** The card data behind a vault handle; `CardDataUnavailable` once the hand-off has expired or been used. */
async function secretOf(vault: CardVault, handle: string, what: string): Promise<CardSecret> {
  const secret = await vault.get(handle);
  if (!secret) throw cardUnavailable(what);
  return secret;
}

/**
 * Card network and native-OTP support for the card behind `cardHandle` (read-only; the handle stays). Shared by
 * `lookupCard` and the lookup that follows a created order (`createOrder` with `thenLookupCard`).
 */
export function createCardLookup(ctx: ActivityContext): CardLookup {
  const { plural, vault } = ctx;
  return async (input, signal) => {
    const secret = await secretOf(vault, input.cardHandle, 'the card');
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
  };
}

/** Card details, the points balance and Create Payment (the only readers of card data). */
export function createPaymentActivities(ctx: ActivityContext, lookupCard: CardLookup, generateOtp: OtpGenerator) {
  const { plural, vault, call, log, getOrder, followUp } = ctx;

  return {
    /** Card network and native-OTP support for the card behind `cardHandle` (read-only; the handle stays). */
    lookupCard: (input: CardLookupInput): Promise<CardLookupResult> => lookupCard(input, call().signal),

    /** Reward-points balance check; the split the workflow uses is exactly `redeemable`. */
    checkPointsBalance: async (input: PointsBalanceInput): Promise<PointsBalanceResult> => {
      const { signal } = call();
      const secret = await secretOf(vault, input.cardHandle, 'the points card');
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
      // Best effort, as for the OTP: once Plural has answered for good, a vault hiccup must not fail the activity (a
      // failed Create Payment whose payment exists would end the payment FAILED while Plural holds it).
      const destroyHandles = (): Promise<void> =>
        destroyQuietly(handles, { orderId: input.orderId }, 'the card hand-off');

      /**
       * The payment an earlier attempt created and whose answer was lost, as Plural's order lists it, adopted: never
       * a second one (and never a failure for card data the created payment no longer needs). The 3-D Secure
       * challenge URL came with that lost answer; Plural's guides show it on Create Payment's order only, so it is
       * kept when Get Order's order has it.
       */
      const adoptEarlier = async (): Promise<CreatePaymentResult | NothingToAdopt> => {
        const read = await getOrder(input.orderId, signal);
        const order = snapshotOf(read);
        // ATTEMPTED: an attempt failed for good (a new one may be made); nothing to adopt.
        if (order.status === ORDER_STATUS.ATTEMPTED) return ORDER_STATUS.ATTEMPTED;
        // None listed: none made, or one under way that this read lags behind (the caller decides which it may assume).
        if (order.payments.length === 0) return undefined;
        await destroyHandles();
        return created(order, read.challenge_url ?? undefined);
      };
      const retried = attempt > 1 || input.retried === true;
      if (retried) {
        const earlier = await adoptEarlier();
        if (typeof earlier === 'object') return earlier;
      }

      let payments: PaymentRequest[];
      try {
        payments = await buildPayments(input, key);
      } catch (err) {
        // On a retry, a hand-off already gone was destroyed by an earlier attempt, which does that only once Plural
        // has answered (an attempt overlapping this one, past its timeout): its payment may not be listed on the
        // order read above yet. Read again and adopt it; with nothing to adopt, an outage (retried, then parked for
        // an operator), never a failed payment while Plural may hold one.
        // (Temporal's retries only: an operator's retry comes long after any earlier attempt, and an order that
        // reads ATTEMPTED had that attempt fail for good; either way the card data is gone for good too.)
        const gone = err instanceof ApplicationFailure && err.type === FAILURE_TYPE.CARD_DATA_UNAVAILABLE;
        if (attempt <= 1 || !gone) throw err;
        const earlier = await adoptEarlier();
        if (typeof earlier === 'object') return earlier;
        if (earlier === ORDER_STATUS.ATTEMPTED) throw err;
        throw failure(err.message, FAILURE_TYPE.GATEWAY_UNAVAILABLE, false, ENGINE_FAILURE_CODE.CARD_DATA_UNAVAILABLE);
      }
      let result: CreatePaymentResult;
      try {
        const order = await plural.createPayment(input.orderId, { payments }, { signal, idempotencyKey: key });
        await destroyHandles();
        log('info', { orderId: input.orderId }, 'Plural payment created');
        result = created(snapshotOf(order), order.challenge_url ?? undefined);
      } catch (err) {
        let classified = classify(err, FAILURE_TYPE.PAYMENT_REJECTED);
        if (classified instanceof ApplicationFailure && classified.nonRetryable && isPluralError(err)) {
          // A refusal of a retry, or one Plural calls a duplicate, may answer an earlier attempt still under way at
          // Plural (its payment not yet on the order read above): read again, and adopt the payment if it is there.
          // With nothing to show it is an outage, retried (each attempt reads the order again), then parked, never a
          // rejection: the earlier payment may yet complete, with no workflow left to see it. Whatever the refusal's
          // code, and whatever the order's status: Plural answers a new payment with its order still CREATED (its
          // guides' example), so a read that lists no payment proves none was made. Only an order that shows the
          // earlier attempt failed for good (ATTEMPTED) makes the refusal final, as a first attempt's is.
          const duplicate = codeOf(err) === PLURAL_ERROR_CODE.DUPLICATE_REQUEST;
          const earlier = retried || duplicate ? await adoptEarlier() : undefined;
          if (typeof earlier === 'object') return earlier;
          if ((retried || duplicate) && earlier !== ORDER_STATUS.ATTEMPTED) {
            classified = failure(err.message, FAILURE_TYPE.GATEWAY_UNAVAILABLE, false, err.code, err);
          }
        }
        if (classified instanceof ApplicationFailure && classified.nonRetryable) await destroyHandles();
        throw classified;
      }
      const otp = input.thenGenerateOtp === true ? await otpAfterCreated(input, result, signal) : undefined;
      return otp !== undefined ? { ...result, otp } : result;
    },

    /**
     * Destroys the card hand-offs of a payment that ended (or started closing) before its Create Payment, which would
     * have destroyed them: the card and CVV no longer wait in the vault for their TTL. Best effort, never a failure:
     * a vault that cannot be reached leaves them to that TTL, as Create Payment does.
     */
    discardHandOff: (input: DiscardHandOffInput): Promise<void> =>
      destroyQuietly(input.handles, {}, 'an unused card hand-off'),
  };

  /** Destroys vault hand-offs, never failing: one the vault cannot destroy now expires with its TTL (logged). */
  async function destroyQuietly(handles: readonly string[], fields: Record<string, unknown>, what: string) {
    for (const handle of handles) {
      await vault.destroy(handle).catch(() => {
        log('warn', fields, `could not destroy ${what}; it expires with its TTL`);
      });
    }
  }

  /** Generate OTP after a created payment, for a card payment still pending (see `thenGenerateOtp`). */
  async function otpAfterCreated(
    input: CreatePaymentInput,
    result: CreatePaymentResult,
    signal: AbortSignal,
  ): Promise<OtpGenerateResult | undefined> {
    const card = result.order.payments.find((p) => p.id === result.cardPaymentId);
    if (card === undefined || card.status !== PAYMENT_STATUS.PENDING) return undefined;
    return followUp(
      'Generate OTP after the created payment',
      (s) => generateOtp({ workflowId: input.workflowId, paymentId: card.id }, s),
      signal,
    );
  }

  /** The card behind `handle` as Plural's `card_details`: its number and expiry are required. */
  async function cardDetailsOf(handle: string): Promise<CardDetails> {
    const s = await secretOf(vault, handle, 'the card');
    if (!s.number || !s.expiryMonth || !s.expiryYear) throw cardUnavailable('the card number or expiry');
    return { name: s.name, card_number: s.number, cvv: s.cvv, expiry_month: s.expiryMonth, expiry_year: s.expiryYear };
  }

  /** Create Payment's `payments[]` for the instrument, with its card data read from the vault. */
  async function buildPayments(input: CreatePaymentInput, key: string): Promise<PaymentRequest[]> {
    const ref = referenceFor(key);
    const i = input.instrument;
    // 3-D Secure concerns the card: the browser details ride on the CARD payment only.
    const device_info = deviceInfoBody(input.deviceInfo);
    const cardPayment = (
      reference: string,
      amount: PaymentRequest['payment_amount'],
      payment_option: PaymentRequest['payment_option'],
    ): PaymentRequest => ({
      merchant_payment_reference: reference,
      payment_method: 'CARD',
      payment_amount: amount,
      pre_auth: input.preAuth,
      device_info,
      payment_option,
    });
    switch (i.kind) {
      case 'card': {
        const card = await cardDetailsOf(i.cardHandle);
        return [cardPayment(ref, input.amount, { card_details: { ...card, save: i.save || undefined } })];
      }
      case 'card_token': {
        const s = await secretOf(vault, i.cvvHandle, 'the CVV');
        return [
          cardPayment(ref, input.amount, {
            card_token_details: { token_id: i.tokenId, cvv: s.cvv, token_txn_type: 'NETWORK_TOKEN' },
          }),
        ];
      }
      case 'network_token': {
        const s = await secretOf(vault, i.handle, 'the network token');
        if (!s.token || !s.cryptogram || !s.expiryMonth || !s.expiryYear) {
          throw cardUnavailable('the network token, cryptogram or expiry');
        }
        return [
          cardPayment(ref, input.amount, {
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
          }),
        ];
      }
      case 'card_points': {
        const card = await cardDetailsOf(i.cardHandle);
        const cardValue = input.amount.value - i.pointsAmount.value;
        const payments: PaymentRequest[] = [];
        if (cardValue > 0) {
          payments.push(
            cardPayment(
              referenceFor(`${key}:card`),
              { value: cardValue, currency: input.amount.currency },
              { card_details: { ...card, registered_mobile_number: i.registeredMobileNumber } },
            ),
          );
        }
        payments.push({
          merchant_payment_reference: referenceFor(`${key}:points`),
          payment_method: 'POINTS',
          payment_amount: i.pointsAmount,
          pre_auth: input.preAuth,
          payment_option: {
            points_card_details: {
              card_number: card.card_number,
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
