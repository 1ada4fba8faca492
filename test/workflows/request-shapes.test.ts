import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { UPDATE_REJECTION } from '../../workflows/definitions';
import {
  cancelRequest,
  captureRequest,
  operatorRequest,
  refundRequest,
  submitOtpRequest,
} from '../../workflows/request-shapes';

/** The refusal `check` throws: an InvalidRequest ApplicationFailure naming the Update. */
function refusal(check: () => unknown): ApplicationFailure {
  try {
    check();
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    const f = err as ApplicationFailure;
    expect(f).toMatchObject({ type: UPDATE_REJECTION.INVALID_REQUEST, nonRetryable: true });
    expect(f.details).toEqual([{ code: 'invalid_request' }]);
    return f;
  }
  throw new Error('expected the request to be refused');
}

const INR = (value: unknown) => ({ value, currency: 'INR' });

describe('the shapes the Updates take (requests an operator types by hand)', () => {
  it('takes what the API sends', () => {
    expect(submitOtpRequest({ otpHandle: 'h-1', otpDigest: 'otp1:ab' })).toEqual({
      otpHandle: 'h-1',
      otpDigest: 'otp1:ab',
    });
    expect(captureRequest({ amount: INR(2_000) })).toEqual({ amount: INR(2_000) });
    expect(cancelRequest({ reason: 'customer asked' })).toEqual({ reason: 'customer asked' });
    expect(refundRequest({ merchantRefundReference: 'r-1', amount: INR(100) })).toMatchObject({
      merchantRefundReference: 'r-1',
    });
    expect(operatorRequest('operatorRetry', { operator: 'alice' })).toEqual({ operator: 'alice' });
  });

  it('takes a missing request where every field is optional, as an empty one', () => {
    for (const missing of [undefined, null]) {
      expect(captureRequest(missing)).toEqual({});
      expect(cancelRequest(missing)).toEqual({});
      expect(operatorRequest('operatorGiveUp', missing)).toEqual({});
    }
  });

  it('refuses any other shape, saying what the Update takes', () => {
    expect(refusal(() => submitOtpRequest(undefined)).message).toMatch(/^the submitOtp Update takes \{ "otpHandle"/);
    refusal(() => submitOtpRequest({ otpHandle: '' }));
    refusal(() => submitOtpRequest({ otpHandle: 'h', otpDigest: 5 }));
    for (const amount of [INR('2000'), INR(0), INR(-5), INR(12.5), INR(2 ** 60), { value: 100 }, 'all']) {
      expect(refusal(() => captureRequest({ amount })).message).toMatch(/^the capture Update takes/);
      refusal(() => refundRequest({ merchantRefundReference: 'r-1', amount }));
    }
    refusal(() => captureRequest('all'));
    refusal(() => cancelRequest({ reason: 7 }));
    refusal(() => cancelRequest(['why']));
    refusal(() => refundRequest({ amount: INR(100) }));
    refusal(() => refundRequest({ merchantRefundReference: 'r-1', reason: {} }));
    expect(refusal(() => operatorRequest('operatorGiveUp', 'alice')).message).toMatch(/^the operatorGiveUp Update/);
    refusal(() => operatorRequest('operatorRetry', { operator: 1 }));
  });
});
