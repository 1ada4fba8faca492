import { ERROR_CODES, type ErrorCode } from './errors';

/** What the simulated issuer does with a card. */
export type CardOutcome =
  /** Authorizes after successful authentication. */
  | 'approve'
  /** Authentication succeeds, then the issuer declines the authorization (payment FAILED, order ATTEMPTED). */
  | 'decline'
  /** Refused synchronously by Create Payment with a 422 (nothing is created). */
  | 'reject'
  /** Authorizes, but the capture is declined (order FAILED). */
  | 'capture_decline';

export interface CardProfile {
  /** Stable key used by the hosted checkout page (no card number ever reaches HTML). */
  readonly key: string;
  readonly label: string;
  readonly network: string;
  readonly type: 'CREDIT' | 'DEBIT';
  readonly issuer: string;
  readonly category: string;
  readonly nativeOtp: boolean;
  readonly outcome: CardOutcome;
  readonly errorCode?: ErrorCode;
  readonly errorMessage?: string;
  /** Reward points balance in minor units of the order currency (0 = not a points card). */
  readonly pointsBalance: number;
}

export interface TestCard extends CardProfile {
  readonly number: string;
}

/** The sandbox's test cards; the README's table is generated from the same facts. */
export const TEST_CARDS: readonly TestCard[] = [
  {
    number: '4012001037141112',
    key: 'visa-native-otp',
    label: 'VISA credit, native OTP, pay-by-points, approves',
    network: 'VISA',
    type: 'CREDIT',
    issuer: 'INTL HDQTRS-CENTER OWNED',
    category: 'NONE',
    nativeOtp: true,
    outcome: 'approve',
    pointsBalance: 23_718_050,
  },
  {
    number: '5555555555554444',
    key: 'mastercard-challenge',
    label: 'Mastercard credit, challenge page only (no native OTP), approves',
    network: 'MASTERCARD',
    type: 'CREDIT',
    issuer: 'HDFC',
    category: 'CONSUMER',
    nativeOtp: false,
    outcome: 'approve',
    pointsBalance: 0,
  },
  {
    number: '4000000000000002',
    key: 'visa-declined',
    label: 'VISA debit, declined by issuer (PAYMENT_DECLINED)',
    network: 'VISA',
    type: 'DEBIT',
    issuer: 'ICICI',
    category: 'CONSUMER',
    nativeOtp: false,
    outcome: 'decline',
    errorCode: ERROR_CODES.PAYMENT_DECLINED,
    errorMessage: 'Payment declined by the issuer',
    pointsBalance: 0,
  },
  {
    number: '4000000000009995',
    key: 'visa-insufficient-funds',
    label: 'VISA debit, native OTP, insufficient funds (INSUFFICIENT_FUNDS)',
    network: 'VISA',
    type: 'DEBIT',
    issuer: 'AXIS',
    category: 'CONSUMER',
    nativeOtp: true,
    outcome: 'decline',
    errorCode: ERROR_CODES.INSUFFICIENT_FUNDS,
    errorMessage: 'Insufficient funds in the account',
    pointsBalance: 0,
  },
  {
    number: '4000000000000069',
    key: 'visa-expired',
    label: 'VISA credit, expired card (CARD_EXPIRED, refused at payment creation)',
    network: 'VISA',
    type: 'CREDIT',
    issuer: 'SBI',
    category: 'CONSUMER',
    nativeOtp: false,
    outcome: 'reject',
    errorCode: ERROR_CODES.CARD_EXPIRED,
    errorMessage: 'The card has expired',
    pointsBalance: 0,
  },
  {
    number: '4000000000000119',
    key: 'visa-capture-declined',
    label: 'VISA credit, native OTP, authorizes but the capture is declined (PAYMENT_DECLINED)',
    network: 'VISA',
    type: 'CREDIT',
    issuer: 'KOTAK',
    category: 'CONSUMER',
    nativeOtp: true,
    outcome: 'capture_decline',
    errorCode: ERROR_CODES.PAYMENT_DECLINED,
    errorMessage: 'Capture declined by the acquirer',
    pointsBalance: 0,
  },
];

const byNumber = new Map(TEST_CARDS.map((card) => [card.number, card]));
const byKey = new Map<string, CardProfile>(TEST_CARDS.map((card) => [card.key, card]));

function networkOf(number: string): string {
  if (number.startsWith('4')) return 'VISA';
  if (/^(5[1-5]|2[2-7])/.test(number)) return 'MASTERCARD';
  if (/^3[47]/.test(number)) return 'AMEX';
  if (/^(60|65|81|82|508)/.test(number)) return 'RUPAY';
  return 'UNKNOWN';
}

/** Any card number not in the table: approves after the challenge page, no native OTP. */
function genericProfile(network: string): CardProfile {
  const key = `generic-${network.toLowerCase()}`;
  const existing = byKey.get(key);
  if (existing) return existing;
  const profile: CardProfile = {
    key,
    label: `${network} credit (generic), challenge page, approves`,
    network,
    type: 'CREDIT',
    issuer: 'NONE',
    category: 'CONSUMER',
    nativeOtp: false,
    outcome: 'approve',
    pointsBalance: 0,
  };
  byKey.set(key, profile);
  return profile;
}

/** The profile for a card (or network token) number; digits only. */
export function profileForNumber(number: string): CardProfile {
  return byNumber.get(number) ?? genericProfile(networkOf(number));
}

/** The profile stored on a payment, by key. */
export function profileByKey(key: string): CardProfile | undefined {
  return byKey.get(key);
}

/** Test cards offered on the hosted checkout page. */
export function testCardByKey(key: string): TestCard | undefined {
  return TEST_CARDS.find((card) => card.key === key);
}
