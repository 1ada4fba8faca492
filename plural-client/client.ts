/**
 * HTTP client for Plural (Pine Labs) online payments: one method per operation Plural offers, each checking its input
 * and naming its path and answer schema. How a call travels (token, deadline, errors) is `transport.ts`. Knows HTTP
 * and Plural's schemas, nothing of Temporal.
 */
import type { z } from 'zod';
import { PLURAL_PATHS } from './constants';
import { requestValidationError, validationIssues } from './errors';
import {
  CaptureRequestSchema,
  CardDetailsRequestSchema,
  CardDetailsResponseSchema,
  CheckoutLinkResponseSchema,
  CreateCustomerRequestSchema,
  CreateOrderRequestSchema,
  CreatePaymentRequestSchema,
  CustomerSchema,
  CustomerTokensResponseSchema,
  OrderEnvelopeSchema,
  OtpGenerateResponseSchema,
  OtpPaymentRequestSchema,
  OtpResendResponseSchema,
  OtpSubmitRequestSchema,
  OtpSubmitResponseSchema,
  PointsBalanceRequestSchema,
  PointsBalanceResponseSchema,
  RefundRequestSchema,
} from './schemas';
import type {
  CaptureRequest,
  CardDetailsRequest,
  CardDetailsResponse,
  CheckoutLinkResponse,
  CreateCustomerRequest,
  CreateOrderRequest,
  CreatePaymentRequest,
  Customer,
  CustomerTokens,
  Order,
  OtpGenerateResponse,
  OtpPaymentRequest,
  OtpResendResponse,
  OtpSubmitRequest,
  OtpSubmitResponse,
  PointsBalanceRequest,
  PointsBalanceResponse,
  RefundRequest,
} from './schemas';
import { PluralTransport } from './transport';
import type { PluralCallOptions, PluralClientOptions } from './transport';

/**
 * Client for Plural's online payment APIs: orders, payments (card, saved token, network token, card + points),
 * native OTP, capture, cancel, refund, customers, points balance and hosted checkout links.
 *
 * Every call sends `Request-ID` and `Request-Timestamp`, authenticates with a cached access token (refreshed before
 * expiry, one refresh in flight at a time), validates its input and Plural's response with zod, and honours a
 * per-call timeout and `AbortSignal`.
 *
 * Retries: the client retries only once, after a 401, with a freshly fetched token. It does NOT retry 5xx, 429,
 * timeouts or connection errors: it throws a {@link PluralError} whose `retryable` flag says whether a retry can
 * help, and the caller (a Temporal activity) retries with backoff and the same idempotency key.
 *
 * @throws {PluralError} every failure is a `PluralError` subclass, discriminated by `type`.
 */
export class PluralClient {
  private readonly transport: PluralTransport;

  /** @throws {TypeError} when `baseUrl` is not an http(s) URL or a credential is empty */
  constructor(options: PluralClientOptions) {
    this.transport = new PluralTransport(options);
  }

  /** Close the dispatcher if the client created it; a dispatcher passed in is left to its owner. */
  async close(): Promise<void> {
    await this.transport.close();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Orders
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Create an order (`POST /api/pay/v1/orders`); set `pre_auth: true` to authorize now and capture later.
   * `merchant_order_reference` defaults to `options.idempotencyKey`; one of the two is required.
   */
  async createOrder(input: CreateOrderRequest, options: PluralCallOptions = {}): Promise<Order> {
    const body = this.parseInput(CreateOrderRequestSchema, input, 'order creation', options);
    const ref = this.requireReference(body.merchant_order_reference, 'order creation', options);
    const res = await this.transport.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.orders,
        operation: `creation of order with reference ${ref}`,
        body: { ...body, merchant_order_reference: ref },
        schema: OrderEnvelopeSchema,
        idempotencyKey: options.idempotencyKey ?? ref,
      },
      options,
    );
    return res.data;
  }

  /** Get an order by Plural order id (`GET /api/pay/v1/orders/{order_id}`). */
  async getOrder(orderId: string, options: PluralCallOptions = {}): Promise<Order> {
    this.requireId(orderId, 'order id', 'order lookup', options);
    const res = await this.transport.call(
      {
        method: 'GET',
        path: PLURAL_PATHS.order(orderId),
        operation: `lookup of order ${orderId}`,
        schema: OrderEnvelopeSchema,
      },
      options,
    );
    return res.data;
  }

  /** Get an order by merchant reference (`GET /api/pay/v1/orders/reference/{merchant_order_reference}`). */
  async getOrderByReference(merchantOrderReference: string, options: PluralCallOptions = {}): Promise<Order> {
    this.requireId(merchantOrderReference, 'merchant order reference', 'order lookup', options);
    const res = await this.transport.call(
      {
        method: 'GET',
        path: PLURAL_PATHS.orderByReference(merchantOrderReference),
        operation: `lookup of order with reference ${merchantOrderReference}`,
        schema: OrderEnvelopeSchema,
      },
      options,
    );
    return res.data;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Payments
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Create a payment on an order (`POST /api/pay/v1/orders/{order_id}/payments`): a new card (`card_details`),
   * a card saved on Plural or a network/alt token from another PA/PG (`card_token_details`), or a card + `POINTS`
   * split. A missing `merchant_payment_reference` defaults to `options.idempotencyKey` (suffixed `-1`, `-2` for a
   * split). The returned order carries `challenge_url` and `payments[].id` (needed for native OTP).
   */
  async createPayment(orderId: string, input: CreatePaymentRequest, options: PluralCallOptions = {}): Promise<Order> {
    this.requireId(orderId, 'order id', 'payment creation', options);
    const operation = `payment creation on order ${orderId}`;
    const body = this.parseInput(CreatePaymentRequestSchema, input, operation, options);
    const key = options.idempotencyKey;
    const payments = body.payments.map((p, i) => ({
      ...p,
      merchant_payment_reference:
        p.merchant_payment_reference ??
        (key === undefined ? undefined : body.payments.length === 1 ? key : `${key}-${i + 1}`),
    }));
    const res = await this.transport.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.payments(orderId),
        operation,
        body: { ...body, payments },
        schema: OrderEnvelopeSchema,
        idempotencyKey: key ?? payments[0]?.merchant_payment_reference,
      },
      options,
    );
    return res.data;
  }

  /** Look up card network, issuer and native-OTP support (`POST /api/pay/v1/getCardDetails`). */
  async getCardDetails(input: CardDetailsRequest, options: PluralCallOptions = {}): Promise<CardDetailsResponse> {
    const body = this.parseInput(CardDetailsRequestSchema, input, 'card details lookup', options);
    return this.transport.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.cardDetails,
        operation: 'card details lookup',
        body,
        schema: CardDetailsResponseSchema,
        idempotencyKey: options.idempotencyKey,
      },
      options,
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // Native OTP
  // -------------------------------------------------------------------------------------------------------------

  /** Send an OTP to the card holder (`POST /api/pay/v1/otp/generate`); returns `next[]` and `resend_after`. */
  async generateOtp(input: OtpPaymentRequest, options: PluralCallOptions = {}): Promise<OtpGenerateResponse> {
    const body = this.parseInput(OtpPaymentRequestSchema, input, 'OTP generation', options);
    return this.transport.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.otpGenerate,
        operation: `OTP generation for payment ${body.payment_id}`,
        body,
        schema: OtpGenerateResponseSchema,
        idempotencyKey: options.idempotencyKey,
      },
      options,
    );
  }

  /**
   * Submit the card holder's OTP (`POST /api/pay/v1/otp/submit`). An incorrect OTP is a 422 `PluralApiError` whose
   * `next` and `resendAfterSeconds` say what the customer can do next. The OTP never appears in errors or logs.
   */
  async submitOtp(input: OtpSubmitRequest, options: PluralCallOptions = {}): Promise<OtpSubmitResponse> {
    const body = this.parseInput(OtpSubmitRequestSchema, input, 'OTP submission', options);
    return this.transport.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.otpSubmit,
        operation: `OTP submission for payment ${body.payment_id}`,
        body,
        schema: OtpSubmitResponseSchema,
        idempotencyKey: options.idempotencyKey,
      },
      options,
    );
  }

  /** Resend the OTP (`POST /api/pay/v1/otp/resend`); a 422 means the resend limit is reached. */
  async resendOtp(input: OtpPaymentRequest, options: PluralCallOptions = {}): Promise<OtpResendResponse> {
    const body = this.parseInput(OtpPaymentRequestSchema, input, 'OTP resend', options);
    return this.transport.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.otpResend,
        operation: `OTP resend for payment ${body.payment_id}`,
        body,
        schema: OtpResendResponseSchema,
        idempotencyKey: options.idempotencyKey,
      },
      options,
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // Capture, cancel, refund
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Capture an AUTHORIZED order (`PUT /api/pay/v1/orders/{order_id}/capture`). Omit `capture_amount` for a full
   * capture. Plural allows ONE partial capture per order and reverses the remainder, so the caller must not capture
   * twice. `merchant_capture_reference` defaults to `options.idempotencyKey`; one of the two is required.
   */
  async captureOrder(orderId: string, input: CaptureRequest = {}, options: PluralCallOptions = {}): Promise<Order> {
    this.requireId(orderId, 'order id', 'capture', options);
    const operation = `capture of order ${orderId}`;
    const body = this.parseInput(CaptureRequestSchema, input, operation, options);
    const ref = this.requireReference(body.merchant_capture_reference, operation, options);
    const res = await this.transport.call(
      {
        method: 'PUT',
        path: PLURAL_PATHS.capture(orderId),
        operation,
        body: { ...body, merchant_capture_reference: ref },
        schema: OrderEnvelopeSchema,
        idempotencyKey: options.idempotencyKey ?? ref,
      },
      options,
    );
    return res.data;
  }

  /** Cancel (void) an AUTHORIZED order (`PUT /api/pay/v1/orders/{order_id}/cancel`). */
  async cancelOrder(orderId: string, options: PluralCallOptions = {}): Promise<Order> {
    this.requireId(orderId, 'order id', 'cancellation', options);
    const res = await this.transport.call(
      {
        method: 'PUT',
        path: PLURAL_PATHS.cancel(orderId),
        operation: `cancellation of order ${orderId}`,
        schema: OrderEnvelopeSchema,
        idempotencyKey: options.idempotencyKey,
      },
      options,
    );
    return res.data;
  }

  /**
   * Refund a PROCESSED order (`POST /api/pay/v1/refunds/{order_id}`); returns the refund order (`type: REFUND`,
   * `parent_order_id`). `merchant_order_reference` (the refund's own reference, Plural's idempotency handle) defaults
   * to `options.idempotencyKey`; one of the two is required.
   */
  async refundOrder(orderId: string, input: RefundRequest, options: PluralCallOptions = {}): Promise<Order> {
    this.requireId(orderId, 'order id', 'refund', options);
    const operation = `refund of order ${orderId}`;
    const body = this.parseInput(RefundRequestSchema, input, operation, options);
    const ref = this.requireReference(body.merchant_order_reference, operation, options);
    const res = await this.transport.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.refund(orderId),
        operation,
        body: { ...body, merchant_order_reference: ref },
        schema: OrderEnvelopeSchema,
        idempotencyKey: options.idempotencyKey ?? ref,
      },
      options,
    );
    return res.data;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Customers, points, hosted checkout
  // -------------------------------------------------------------------------------------------------------------

  /** Create a customer (`POST /api/v1/customer`); `merchant_customer_reference` defaults to the idempotency key. */
  async createCustomer(input: CreateCustomerRequest, options: PluralCallOptions = {}): Promise<Customer> {
    const body = this.parseInput(CreateCustomerRequestSchema, input, 'customer creation', options);
    const ref = body.merchant_customer_reference || options.idempotencyKey;
    return this.transport.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.customers,
        operation: ref ? `creation of customer with reference ${ref}` : 'customer creation',
        body: ref === undefined ? body : { ...body, merchant_customer_reference: ref },
        schema: CustomerSchema,
        idempotencyKey: options.idempotencyKey ?? ref,
      },
      options,
    );
  }

  /**
   * The cards saved for a customer (`GET /api/v1/customer/{customer_id}/tokens`, Plural's API reference): token id,
   * status and card data (last 4 digits). Token ids pay with `card_token_details.token_id`; never log them.
   */
  async listCustomerTokens(customerId: string, options: PluralCallOptions = {}): Promise<CustomerTokens> {
    this.requireId(customerId, 'customer id', 'customer tokens lookup', options);
    return this.transport.call(
      {
        method: 'GET',
        path: PLURAL_PATHS.customerTokens(customerId),
        operation: `lookup of the saved cards of customer ${customerId}`,
        schema: CustomerTokensResponseSchema,
      },
      options,
    );
  }

  /** Check a card's reward-points balance and redeemable amount for an order amount (`POST /payment-option`). */
  async getPointsBalance(input: PointsBalanceRequest, options: PluralCallOptions = {}): Promise<PointsBalanceResponse> {
    const body = this.parseInput(PointsBalanceRequestSchema, input, 'points balance check', options);
    return this.transport.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.pointsBalance,
        operation: 'points balance check',
        body,
        schema: PointsBalanceResponseSchema,
        idempotencyKey: options.idempotencyKey,
      },
      options,
    );
  }

  /**
   * Create a Plural-hosted checkout link (`POST /api/checkout/v1/orders`); redirect the customer to `redirect_url`.
   * `merchant_order_reference` defaults to `options.idempotencyKey`; one of the two is required.
   */
  async createCheckoutLink(input: CreateOrderRequest, options: PluralCallOptions = {}): Promise<CheckoutLinkResponse> {
    const body = this.parseInput(CreateOrderRequestSchema, input, 'checkout link creation', options);
    const ref = this.requireReference(body.merchant_order_reference, 'checkout link creation', options);
    return this.transport.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.checkoutOrders,
        operation: `checkout link creation for reference ${ref}`,
        body: { ...body, merchant_order_reference: ref },
        schema: CheckoutLinkResponseSchema,
        idempotencyKey: options.idempotencyKey ?? ref,
      },
      options,
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // Checks of the caller's input (nothing is sent when one fails)
  // -------------------------------------------------------------------------------------------------------------

  private parseInput<S extends z.ZodType>(
    schema: S,
    input: unknown,
    operation: string,
    options: PluralCallOptions,
  ): z.output<S> {
    const parsed = schema.safeParse(input);
    if (parsed.success) return parsed.data;
    throw requestValidationError(operation, options.requestId, validationIssues(parsed.error.issues));
  }

  private requireReference(ref: string | undefined, operation: string, options: PluralCallOptions): string {
    const resolved = ref || options.idempotencyKey;
    if (resolved) return resolved;
    throw requestValidationError(operation, options.requestId, [
      { path: 'merchant reference', message: 'give a merchant reference or an idempotencyKey' },
    ]);
  }

  private requireId(id: string, what: string, operation: string, options: PluralCallOptions): void {
    if (typeof id === 'string' && id.trim().length > 0) return;
    throw requestValidationError(operation, options.requestId, [{ path: what, message: 'must be a non-empty string' }]);
  }
}
