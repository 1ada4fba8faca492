/**
 * The Plural sandbox's test cards, by the role tests give them, read from the sandbox's own table
 * (`plural-sandbox/cards.ts`): a test names the behaviour it needs and never carries a card number of its own.
 */
// The table's own module, not the sandbox's index: unit tests get the cards without the sandbox's server code.
import { TEST_CARDS } from '../../plural-sandbox/cards';

/**
 * The number of the sandbox's test card `key`.
 * @throws {Error} when the sandbox has no card with that key (its table changed)
 */
export function cardNumber(key: string): string {
  const card = TEST_CARDS.find((c) => c.key === key);
  if (!card) {
    const keys = TEST_CARDS.map((c) => c.key).join(', ');
    throw new Error(`the sandbox has no test card '${key}'; plural-sandbox/cards.ts has: ${keys}`);
  }
  return card.number;
}

/** The sandbox's test cards by role (what the simulated issuer does with each). */
export const CARDS = {
  /** VISA credit: native OTP (and pay-by-points), approves. */
  nativeOtp: cardNumber('visa-native-otp'),
  /** Mastercard credit: the 3-D Secure challenge page only (no native OTP), approves. */
  challenge: cardNumber('mastercard-challenge'),
  /** VISA debit: challenge page, then the issuer declines (PAYMENT_DECLINED). */
  declined: cardNumber('visa-declined'),
  /** VISA debit: native OTP, then the issuer declines (INSUFFICIENT_FUNDS). */
  insufficientFunds: cardNumber('visa-insufficient-funds'),
  /** VISA credit: expired, refused at payment creation (CARD_EXPIRED). */
  expired: cardNumber('visa-expired'),
  /** VISA credit: native OTP, authorizes, but the capture is declined (PAYMENT_DECLINED). */
  captureDeclined: cardNumber('visa-capture-declined'),
} as const;
