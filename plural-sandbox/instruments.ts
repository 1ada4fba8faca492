import { profileByKey, profileForNumber, type CardProfile } from './cards';
import { ERROR_CODES, invalidRequest, PluralError } from './errors';
import type { GatewayCore } from './gateway-core';
import type { PaymentInput, PointsBalanceInput } from './schemas';
import { PAYMENT_STATUS } from './state-machine';
import type { OrderRecord, PaymentRecord } from './store';

const POINTS_REDEEMABLE_SHARE = 0.7;
const RUPEES_PER_POINT_MINOR = 25;

/** Payment instruments: cards (new, saved token, network/alt token), reward points, card details. */
export class Instruments {
  constructor(private readonly gateway: GatewayCore) {}

  cardPayment(
    order: OrderRecord,
    input: PaymentInput,
    id: string,
    now: number,
  ): { payment: PaymentRecord; number: string | undefined } {
    const { card_details: details, card_token_details: tokenDetails } = input.payment_option;
    if ((details ? 1 : 0) + (tokenDetails ? 1 : 0) !== 1) {
      throw invalidRequest('payment_option: a CARD payment needs exactly one of card_details or card_token_details');
    }
    let profile: CardProfile;
    let last4: string | undefined;
    let expiry: { month: string; year: string } | undefined;
    let tokenTxnType: string | undefined;
    let number: string | undefined;
    let save = false;
    if (details) {
      number = details.card_number;
      profile = profileForNumber(number);
      last4 = number.slice(-4);
      expiry = { month: details.expiry_month, year: details.expiry_year };
      save = details.save === true && order.customerId !== undefined;
      tokenTxnType = 'ALT_TOKEN';
    } else if (tokenDetails?.token_id !== undefined) {
      const saved = this.gateway.store.tokens.get(tokenDetails.token_id);
      if (!saved) {
        throw new PluralError(
          422,
          ERROR_CODES.INVALID_TOKEN,
          `token_id ${tokenDetails.token_id} is not a saved card token`,
        );
      }
      if (tokenDetails.cvv === undefined) throw invalidRequest('payment_option.card_token_details.cvv is required');
      profile = profileByKey(saved.cardKey) ?? profileForNumber('0');
      last4 = saved.last4;
      expiry = saved.expiry;
      tokenTxnType = tokenDetails.token_txn_type ?? 'NETWORK_TOKEN';
    } else {
      const t = tokenDetails;
      if (t?.token === undefined || t.cryptogram === undefined) {
        throw invalidRequest('payment_option.card_token_details needs token_id, or token with cryptogram');
      }
      if (t.expiry_month === undefined || t.expiry_year === undefined) {
        throw invalidRequest('payment_option.card_token_details.expiry_month and expiry_year are required with token');
      }
      number = t.token;
      profile = profileForNumber(t.token);
      last4 = t.last4_digit ?? t.token.slice(-4);
      expiry = { month: t.expiry_month, year: t.expiry_year };
      tokenTxnType = t.token_txn_type ?? 'ALT_TOKEN';
    }
    if (profile.outcome === 'reject') {
      throw new PluralError(422, profile.errorCode ?? ERROR_CODES.PAYMENT_DECLINED, profile.errorMessage ?? 'declined');
    }
    if (expiry && this.isExpired(expiry)) {
      throw new PluralError(422, ERROR_CODES.CARD_EXPIRED, `card expired ${expiry.month}/${expiry.year}`);
    }
    return {
      number,
      payment: {
        id,
        orderId: order.id,
        merchantPaymentReference: input.merchant_payment_reference ?? this.gateway.dice.uuid('payment-ref', id),
        method: 'CARD',
        status: PAYMENT_STATUS.PENDING,
        amount: { ...input.payment_amount },
        cardKey: profile.key,
        last4,
        expiry,
        tokenTxnType,
        saveCard: save,
        errorDetail: undefined,
        captures: [],
        acquirerReference: this.gateway.dice.digits('acq', id, 15),
        otp: { generated: false, attempts: 0, resends: 0, lastSentAt: 0 },
        createdAt: now,
        updatedAt: now,
      },
    };
  }

  pointsPayment(
    order: OrderRecord,
    input: PaymentInput,
    id: string,
    cardNumber: string | undefined,
    now: number,
  ): PaymentRecord {
    const details = input.payment_option.points_card_details;
    if (!details) throw invalidRequest('payment_option.points_card_details is required for a POINTS payment');
    const number = details.card_number ?? cardNumber;
    if (number === undefined) throw invalidRequest('payment_option.points_card_details.card_number is required');
    const profile = profileForNumber(number);
    const redeemable = this.redeemable(profile, order.amount.value);
    if (redeemable === 0) {
      throw new PluralError(422, ERROR_CODES.POINTS_NOT_ELIGIBLE, 'the card is not eligible for pay by points');
    }
    if (input.payment_amount.value > redeemable) {
      throw new PluralError(
        422,
        ERROR_CODES.AMOUNT_LIMIT_EXCEEDED,
        `points payment ${input.payment_amount.value} exceeds the redeemable amount ${redeemable}`,
      );
    }
    return {
      id,
      orderId: order.id,
      merchantPaymentReference: input.merchant_payment_reference ?? this.gateway.dice.uuid('payment-ref', id),
      method: 'POINTS',
      status: PAYMENT_STATUS.PENDING,
      amount: { ...input.payment_amount },
      cardKey: profile.key,
      last4: number.slice(-4),
      expiry: undefined,
      tokenTxnType: undefined,
      saveCard: false,
      errorDetail: undefined,
      captures: [],
      acquirerReference: this.gateway.dice.digits('acq', id, 15),
      otp: undefined,
      createdAt: now,
      updatedAt: now,
    };
  }

  private isExpired(expiry: { month: string; year: string }): boolean {
    const year = expiry.year.length === 2 ? 2000 + Number(expiry.year) : Number(expiry.year);
    const month = Number(expiry.month);
    const d = new Date(this.gateway.now());
    const nowYear = d.getUTCFullYear();
    const nowMonth = d.getUTCMonth() + 1;
    return year < nowYear || (year === nowYear && month < nowMonth);
  }

  private redeemable(profile: CardProfile, orderAmount: number): number {
    return Math.min(profile.pointsBalance, Math.floor(orderAmount * POINTS_REDEEMABLE_SHARE));
  }

  pointsBalance(input: PointsBalanceInput): Record<string, unknown> {
    const { points_card_details: details } = input.payment_option;
    if (details.card_number === undefined) {
      throw invalidRequest('payment_option.points_card_details.card_number is required');
    }
    const profile = profileForNumber(details.card_number);
    const currency = input.order_details.order_amount.currency;
    const redeemable = this.redeemable(profile, input.order_details.order_amount.value);
    return {
      balance: { value: profile.pointsBalance, currency },
      redeemable_amount: { value: redeemable, currency },
      redeemable_points: Math.floor(redeemable / RUPEES_PER_POINT_MINOR),
      is_eligible: redeemable > 0,
    };
  }

  cardDetails(numbers: readonly string[], currency = 'INR'): Record<string, unknown> {
    return {
      card_payment_details: numbers.map((n) => {
        const p = profileForNumber(n);
        return {
          card_network: p.network,
          card_issuer: p.issuer,
          card_type: p.type,
          card_category: p.category,
          is_international_card: false,
          is_native_otp_supported: p.nativeOtp,
          country_code: 'IND',
          currency,
          is_currency_supported: true,
        };
      }),
    };
  }
}
