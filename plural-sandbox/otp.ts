import { profileByKey } from './cards';
import { ERROR_CODES, PluralError, type ErrorCode } from './errors';
import type { GatewayCore } from './gateway-core';
import { PAYMENT_STATUS } from './state-machine';
import type { OrderRecord, PaymentRecord } from './store';

/** Body of a successful OTP call. */
export interface OtpResponse {
  status?: 'SUCCESS';
  next?: string[];
  meta_data?: { resend_after: string };
}

/** Native OTP (generate, submit, resend); the rules are in README "OTP rules". */
export class NativeOtp {
  constructor(private readonly gateway: GatewayCore) {}

  private pendingCardPayment(paymentId: string): { order: OrderRecord; payment: PaymentRecord } {
    const orderId = this.gateway.store.orderByPayment.get(paymentId);
    const order = orderId === undefined ? undefined : this.gateway.store.orders.get(orderId);
    const payment = order?.payments.find((p) => p.id === paymentId);
    if (!order || !payment) {
      throw new PluralError(404, ERROR_CODES.PAYMENT_NOT_FOUND, `payment ${paymentId} not found`);
    }
    this.gateway.catchUp(order);
    const profile = profileByKey(payment.cardKey);
    if (payment.method !== 'CARD' || !profile?.nativeOtp) {
      throw new PluralError(422, ERROR_CODES.OTP_NOT_ELIGIBLE, `payment ${paymentId} is not eligible for native OTP`, {
        next: ['NONE'],
      });
    }
    if (payment.status !== PAYMENT_STATUS.PENDING) {
      throw new PluralError(
        422,
        ERROR_CODES.OTP_NOT_ELIGIBLE,
        `payment ${paymentId} is ${payment.status}; OTP is only possible while PENDING`,
        { next: ['NONE'] },
      );
    }
    return { order, payment };
  }

  private otpNext(payment: PaymentRecord): string[] {
    const canResend = (payment.otp?.resends ?? 0) < this.gateway.options.otp.maxResends;
    return canResend ? ['SUBMIT_OTP', 'RESEND_OTP'] : ['SUBMIT_OTP'];
  }

  private resendAfter(payment: PaymentRecord): string {
    const otp = payment.otp;
    if (!otp) return '0';
    const readyAt = otp.lastSentAt + this.gateway.options.otp.resendAfterSeconds * 1000;
    return String(Math.max(0, Math.ceil((readyAt - this.gateway.now()) / 1000)));
  }

  /** Generate OTP. Idempotent: a repeat returns the current state without sending a new OTP. */
  generate(paymentId: string): OtpResponse {
    const { payment } = this.pendingCardPayment(paymentId);
    const otp = payment.otp;
    if (otp && !otp.generated) {
      otp.generated = true;
      otp.lastSentAt = this.gateway.now();
    }
    return { next: this.otpNext(payment), meta_data: { resend_after: this.resendAfter(payment) } };
  }

  submit(paymentId: string, submitted: string): OtpResponse {
    const { order, payment } = this.pendingCardPayment(paymentId);
    const otp = payment.otp;
    if (!otp?.generated) {
      throw new PluralError(422, ERROR_CODES.OTP_NOT_ELIGIBLE, `no OTP was generated for payment ${paymentId}`, {
        next: ['NONE'],
      });
    }
    if (submitted === this.gateway.options.otp.correctOtp) {
      this.gateway.authenticate(order, true);
      if (payment.status === PAYMENT_STATUS.FAILED) {
        const detail = payment.errorDetail;
        throw new PluralError(
          422,
          (detail?.code ?? ERROR_CODES.PAYMENT_DECLINED) as ErrorCode,
          detail?.message ?? 'declined',
          {
            next: ['NONE'],
          },
        );
      }
      return { status: 'SUCCESS' };
    }
    otp.attempts += 1;
    const left = this.gateway.options.otp.maxAttempts - otp.attempts;
    if (left <= 0) {
      this.gateway.authenticate(order, false);
      throw new PluralError(
        422,
        ERROR_CODES.USER_AUTHENTICATION_FAILED,
        `incorrect OTP; attempt limit of ${this.gateway.options.otp.maxAttempts} reached, payment ${paymentId} failed`,
        { next: ['NONE'] },
      );
    }
    throw new PluralError(422, ERROR_CODES.INVALID_OTP, `incorrect OTP; ${left} attempt(s) left`, {
      next: this.otpNext(payment),
      meta_data: { resend_after: this.resendAfter(payment) },
    });
  }

  resend(paymentId: string): OtpResponse {
    const { payment } = this.pendingCardPayment(paymentId);
    const otp = payment.otp;
    if (!otp?.generated) {
      throw new PluralError(422, ERROR_CODES.OTP_NOT_ELIGIBLE, `no OTP was generated for payment ${paymentId}`, {
        next: ['NONE'],
      });
    }
    if (otp.resends >= this.gateway.options.otp.maxResends) {
      throw new PluralError(
        422,
        ERROR_CODES.RESEND_LIMIT_EXCEEDED,
        `resend limit of ${this.gateway.options.otp.maxResends} reached for payment ${paymentId}`,
        { next: ['SUBMIT_OTP'] },
      );
    }
    const wait = this.resendAfter(payment);
    if (wait !== '0') {
      throw new PluralError(422, ERROR_CODES.RESEND_NOT_ALLOWED, `resend allowed in ${wait} s`, {
        next: ['SUBMIT_OTP'],
        meta_data: { resend_after: wait },
      });
    }
    otp.resends += 1;
    otp.lastSentAt = this.gateway.now();
    return {
      status: 'SUCCESS',
      next: this.otpNext(payment),
      meta_data: { resend_after: String(this.gateway.options.otp.resendAfterSeconds) },
    };
  }
}
