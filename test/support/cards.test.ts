import { describe, expect, it } from 'vitest';
import { profileForNumber } from '../../plural-sandbox/cards';
import { cardNumber, CARDS } from './cards';

describe('the sandbox test cards by role', () => {
  it('gives each role a card the sandbox treats as the role says', () => {
    expect(profileForNumber(CARDS.nativeOtp)).toMatchObject({ nativeOtp: true, outcome: 'approve' });
    expect(profileForNumber(CARDS.challenge)).toMatchObject({ nativeOtp: false, outcome: 'approve' });
    expect(profileForNumber(CARDS.declined)).toMatchObject({ nativeOtp: false, outcome: 'decline' });
    expect(profileForNumber(CARDS.insufficientFunds)).toMatchObject({
      nativeOtp: true,
      outcome: 'decline',
      errorCode: 'INSUFFICIENT_FUNDS',
    });
    expect(profileForNumber(CARDS.expired)).toMatchObject({ outcome: 'reject', errorCode: 'CARD_EXPIRED' });
    expect(profileForNumber(CARDS.captureDeclined)).toMatchObject({ nativeOtp: true, outcome: 'capture_decline' });
  });

  it('refuses a key the sandbox has no card for, listing the keys it has', () => {
    expect(() => cardNumber('visa-unknown')).toThrow(
      /the sandbox has no test card 'visa-unknown'; plural-sandbox\/cards\.ts has: visa-native-otp, /,
    );
  });
});
