import type { Interceptable, MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ORDER_STATUS, PAYMENT_STATUS, PLURAL_ERROR_TYPE, PluralClient } from '../../plural-client';
import type { PluralError } from '../../plural-client';
import {
  BASE_URL,
  CARD_NUMBER,
  CLIENT_ID,
  CLIENT_SECRET,
  CVV,
  envelope,
  interceptToken,
  memoryLogger,
  newMockAgent,
  order,
  ORDER_ID,
  payment,
  PAYMENT_ID,
  recordingReply,
} from './fixtures';
import type { SeenRequest } from './fixtures';

const NOW = Date.parse('2026-01-15T10:00:00.000Z');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let agent: MockAgent;
let pool: Interceptable;
let client: PluralClient;
let logger: ReturnType<typeof memoryLogger>;
let tokenSeen: SeenRequest[] | undefined;

beforeEach(() => {
  ({ agent, pool } = newMockAgent());
  logger = memoryLogger();
  client = new PluralClient({
    baseUrl: BASE_URL,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    dispatcher: agent,
    logger,
    now: () => NOW,
  });
  tokenSeen = undefined;
});

afterEach(async () => {
  agent.assertNoPendingInterceptors();
  await agent.close();
});

/** Intercept one API call (and, the first time in a test, the token request it needs). */
function intercept(method: string, path: string, statusCode: number, data: unknown): SeenRequest[] {
  tokenSeen ??= interceptToken(pool);
  const seen: SeenRequest[] = [];
  pool.intercept({ path, method }).reply(recordingReply(seen, statusCode, data));
  return seen;
}

async function rejection(p: Promise<unknown>): Promise<PluralError> {
  try {
    await p;
  } catch (err) {
    return err as PluralError;
  }
  throw new Error('expected the call to reject');
}

describe('headers', () => {
  it('sends Request-ID, Request-Timestamp, bearer token and JSON headers on every call', async () => {
    const seen = intercept('GET', `/api/pay/v1/orders/${ORDER_ID}`, 200, envelope(order()));
    await client.getOrder(ORDER_ID);
    const h = seen[0]!.headers;
    expect(h['request-id']).toMatch(UUID);
    expect(h['request-timestamp']).toBe('2026-01-15T10:00:00.000Z');
    expect(h.authorization).toBe('Bearer access-token-1');
    expect(h.accept).toBe('application/json');
    expect(h['idempotency-key']).toBeUndefined();
  });

  it('uses the caller-supplied request id', async () => {
    const seen = intercept('GET', `/api/pay/v1/orders/${ORDER_ID}`, 200, envelope(order()));
    await client.getOrder(ORDER_ID, { requestId: 'req-42' });
    expect(seen[0]!.headers['request-id']).toBe('req-42');
  });

  it('sends the token request with client credentials and both tracing headers, without Authorization', async () => {
    intercept('GET', `/api/pay/v1/orders/${ORDER_ID}`, 200, envelope(order()));
    await client.getOrder(ORDER_ID);
    expect(tokenSeen![0]!.body).toEqual({
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_type: 'client_credentials',
    });
    expect(tokenSeen![0]!.headers['request-id']).toMatch(UUID);
    expect(tokenSeen![0]!.headers['request-timestamp']).toBe('2026-01-15T10:00:00.000Z');
    expect(tokenSeen![0]!.headers.authorization).toBeUndefined();
  });
});

describe('orders', () => {
  const createInput = {
    merchant_order_reference: 'wf-1-order',
    order_amount: { value: 1100, currency: 'INR' },
    pre_auth: true,
    allowed_payment_methods: ['CARD' as const, 'POINTS' as const],
    callback_url: 'https://merchant.test/return',
    purchase_details: { customer: { email_id: 'kevin.bob@example.com', mobile_number: '9876543210' } },
  };

  it('createOrder posts the order, sends the reference as Idempotency-Key, returns the parsed order', async () => {
    const seen = intercept(
      'POST',
      '/api/pay/v1/orders',
      200,
      envelope(order({ merchant_order_reference: 'wf-1-order' })),
    );
    const result = await client.createOrder(createInput);
    expect(seen[0]!.body).toEqual(createInput);
    expect(seen[0]!.headers['idempotency-key']).toBe('wf-1-order');
    expect(seen[0]!.headers['content-type']).toBe('application/json');
    expect(result.order_id).toBe(ORDER_ID);
    expect(result.status).toBe(ORDER_STATUS.CREATED);
    expect(result.order_amount).toEqual({ value: 1100, currency: 'INR' });
    expect(result.payments).toEqual([]);
  });

  it('createOrder uses the idempotency key as merchant_order_reference when none is given', async () => {
    const seen = intercept('POST', '/api/pay/v1/orders', 200, envelope(order()));
    const { merchant_order_reference: _ref, ...noRef } = createInput;
    await client.createOrder(noRef, { idempotencyKey: 'wf-2-create-order' });
    expect((seen[0]!.body as Record<string, unknown>).merchant_order_reference).toBe('wf-2-create-order');
    expect(seen[0]!.headers['idempotency-key']).toBe('wf-2-create-order');
  });

  it('createOrder without a reference or an idempotency key is rejected before sending', async () => {
    const { merchant_order_reference: _ref, ...noRef } = createInput;
    const err = await rejection(client.createOrder(noRef));
    expect(err.type).toBe(PLURAL_ERROR_TYPE.REQUEST_VALIDATION);
    expect(err.retryable).toBe(false);
  });

  it('createOrder rejects a fractional amount before sending (money is integer minor units)', async () => {
    const err = await rejection(client.createOrder({ ...createInput, order_amount: { value: 10.5, currency: 'INR' } }));
    expect(err.type).toBe(PLURAL_ERROR_TYPE.REQUEST_VALIDATION);
    expect(err.message).toContain('order_amount.value');
  });

  it('getOrder returns payments with their statuses and error details', async () => {
    const failed = payment({
      status: 'FAILED',
      error_detail: { code: 'USER_AUTHENTICATION_FAILED', message: 'Consumer Authentication Required' },
    });
    intercept(
      'GET',
      `/api/pay/v1/orders/${ORDER_ID}`,
      200,
      envelope(order({ status: 'ATTEMPTED', payments: [failed], payment_retries_remaining: 2 })),
    );
    const result = await client.getOrder(ORDER_ID);
    expect(result.status).toBe(ORDER_STATUS.ATTEMPTED);
    expect(result.payment_retries_remaining).toBe(2);
    expect(result.payments[0]!.status).toBe(PAYMENT_STATUS.FAILED);
    expect(result.payments[0]!.error_detail?.code).toBe('USER_AUTHENTICATION_FAILED');
  });

  it('getOrderByReference URL-encodes the reference', async () => {
    const seen = intercept('GET', '/api/pay/v1/orders/reference/wf%3A1%2Forder', 200, envelope(order()));
    const result = await client.getOrderByReference('wf:1/order');
    expect(seen).toHaveLength(1);
    expect(result.order_id).toBe(ORDER_ID);
  });

  it('tolerates null in optional response fields and reads payments: null as []', async () => {
    intercept(
      'GET',
      `/api/pay/v1/orders/${ORDER_ID}`,
      200,
      envelope(order({ challenge_url: null, notes: null, payments: null, merchant_order_reference: 112345 })),
    );
    const result = await client.getOrder(ORDER_ID);
    expect(result.payments).toEqual([]);
    expect(result.challenge_url).toBeNull();
    expect(result.merchant_order_reference).toBe('112345');
  });

  it('keeps unknown response fields (loose parsing)', async () => {
    intercept('GET', `/api/pay/v1/orders/${ORDER_ID}`, 200, envelope(order({ brand_new_field: { x: 1 } })));
    const result = await client.getOrder(ORDER_ID);
    expect((result as Record<string, unknown>).brand_new_field).toEqual({ x: 1 });
  });
});

describe('payments', () => {
  const challenge = 'https://api.pluralpay.in/web/auth/landing/?token=S50%2B0lOo';
  const pendingOrder = envelope(order({ status: 'PENDING', challenge_url: challenge, payments: [payment()] }));

  it('createPayment with a new card sends card_details and returns challenge_url and payment id', async () => {
    const seen = intercept('POST', `/api/pay/v1/orders/${ORDER_ID}/payments`, 200, pendingOrder);
    const card = {
      name: 'Kevin Bob',
      card_number: CARD_NUMBER,
      cvv: CVV,
      expiry_month: '12',
      expiry_year: '2030',
      save: true,
    };
    const result = await client.createPayment(
      ORDER_ID,
      {
        payments: [
          {
            payment_method: 'CARD',
            payment_amount: { value: 1100, currency: 'INR' },
            payment_option: { card_details: card },
          },
        ],
      },
      { idempotencyKey: 'wf-1:payment:1' },
    );
    expect(seen[0]!.body).toEqual({
      payments: [
        {
          merchant_payment_reference: 'wf-1:payment:1',
          payment_method: 'CARD',
          payment_amount: { value: 1100, currency: 'INR' },
          payment_option: { card_details: card },
        },
      ],
    });
    expect(seen[0]!.headers['idempotency-key']).toBe('wf-1:payment:1');
    expect(result.challenge_url).toBe(challenge);
    expect(result.payments[0]!.id).toBe(PAYMENT_ID);
  });

  it('createPayment sends the 3-D Secure device_info with every value a string, as the guides show it', async () => {
    const seen = intercept('POST', `/api/pay/v1/orders/${ORDER_ID}/payments`, 200, pendingOrder);
    const deviceInfo = {
      device_channel: 'browser',
      browser_accept_header: '*/*',
      browser_user_agent: 'mozilla/5.0+x11;+ubuntu;+linux+x86_64;+rv:72.0)+gecko/20100101+firefox/72.0',
      browser_language: 'en',
      browser_screen_height: '768',
      browser_screen_width: '1366',
      browser_timezone: '-330',
      browser_window_size: '1366x768',
      browser_screen_color_depth: '24',
      browser_java_enabled_val: 'true',
      browser_javascript_enabled_val: 'true',
    };
    const payments = [
      {
        payment_method: 'CARD' as const,
        payment_amount: { value: 1100, currency: 'INR' },
        payment_option: { card_details: { card_number: CARD_NUMBER, cvv: CVV, expiry_month: '03', expiry_year: '30' } },
        device_info: deviceInfo,
      },
    ];
    await client.createPayment(ORDER_ID, { payments }, { idempotencyKey: 'wf-3ds:payment' });
    expect((seen[0]!.body as { payments: { device_info: unknown }[] }).payments[0]!.device_info).toEqual(deviceInfo);
    const numeric = [{ ...payments[0]!, device_info: { browser_screen_height: 768 } }];
    const err = await rejection(
      client.createPayment(ORDER_ID, { payments: numeric as never }, { idempotencyKey: 'k' }),
    );
    expect(err.type).toBe(PLURAL_ERROR_TYPE.REQUEST_VALIDATION);
    expect(err.message).toContain('device_info.browser_screen_height');
  });

  it('createPayment with a card saved on Plural sends card_token_details.token_id', async () => {
    const seen = intercept('POST', `/api/pay/v1/orders/${ORDER_ID}/payments`, 200, pendingOrder);
    const tokenDetails = { token_id: 'token-v1-0811030624-bb-RBDgpR', cvv: CVV, token_txn_type: 'NETWORK_TOKEN' };
    await client.createPayment(ORDER_ID, {
      payments: [
        {
          merchant_payment_reference: 'pay-ref-1',
          payment_method: 'CARD',
          payment_amount: { value: 50000, currency: 'INR' },
          payment_option: { card_token_details: tokenDetails },
        },
      ],
    });
    const sent = seen[0]!.body as { payments: { payment_option: unknown }[] };
    expect(sent.payments[0]!.payment_option).toEqual({ card_token_details: tokenDetails });
    expect(seen[0]!.headers['idempotency-key']).toBe('pay-ref-1');
  });

  it('createPayment with a network token from another PA/PG sends token and cryptogram', async () => {
    const seen = intercept('POST', `/api/pay/v1/orders/${ORDER_ID}/payments`, 200, pendingOrder);
    const networkToken = {
      name: 'SOME_RANDOM_NAME',
      last4_digit: '4026',
      cvv: '123',
      expiry_month: '03',
      expiry_year: '2030',
      token: '4122980000000008',
      cryptogram: 'AgAAAGQkm6LscccAAAA5gz4AAAA=',
      token_txn_type: 'ALT_TOKEN',
    };
    await client.createPayment(
      ORDER_ID,
      {
        payments: [
          {
            payment_method: 'CARD',
            payment_amount: { value: 10000, currency: 'INR' },
            pre_auth: false,
            payment_option: { card_token_details: networkToken },
          },
        ],
      },
      { idempotencyKey: 'wf-3:payment' },
    );
    const sent = seen[0]!.body as { payments: { payment_option: unknown; pre_auth: boolean }[] };
    expect(sent.payments[0]!.payment_option).toEqual({ card_token_details: networkToken });
    expect(sent.payments[0]!.pre_auth).toBe(false);
  });

  it('createPayment splits card + POINTS and suffixes the derived payment references', async () => {
    const points = payment({
      id: 'v1-240902072711-aa-KAw3iP-pt-P',
      payment_method: 'POINTS',
      payment_amount: { value: 3500, currency: 'INR' },
    });
    const seen = intercept(
      'POST',
      `/api/pay/v1/orders/${ORDER_ID}/payments`,
      200,
      envelope(
        order({ status: 'PENDING', order_amount: { value: 5000, currency: 'INR' }, payments: [payment(), points] }),
      ),
    );
    const result = await client.createPayment(
      ORDER_ID,
      {
        payments: [
          {
            payment_method: 'CARD',
            payment_amount: { value: 1500, currency: 'INR' },
            payment_option: {
              card_details: {
                name: 'Kevin Bob',
                card_number: CARD_NUMBER,
                cvv: '123',
                expiry_month: '12',
                expiry_year: '2030',
                registered_mobile_number: '9876543210',
              },
            },
          },
          {
            payment_method: 'POINTS',
            payment_amount: { value: 3500, currency: 'INR' },
            payment_option: {
              points_card_details: {
                registered_mobile_number: '9876543210',
                card_last4: '1112',
                card_number: CARD_NUMBER,
              },
            },
          },
        ],
      },
      { idempotencyKey: 'wf-4:payment' },
    );
    const sent = seen[0]!.body as { payments: { merchant_payment_reference: string; payment_method: string }[] };
    expect(sent.payments.map((p) => [p.payment_method, p.merchant_payment_reference])).toEqual([
      ['CARD', 'wf-4:payment-1'],
      ['POINTS', 'wf-4:payment-2'],
    ]);
    expect(result.payments.map((p) => p.payment_amount.value)).toEqual([1100, 3500]);
  });

  it('createPayment rejects a CARD payment without card details, without echoing card data', async () => {
    const err = await rejection(
      client.createPayment(ORDER_ID, {
        payments: [
          {
            payment_method: 'CARD',
            payment_amount: { value: 1100, currency: 'INR' },
            payment_option: {
              points_card_details: { card_last4: '1112', card_number: CARD_NUMBER, registered_mobile_number: '98' },
            },
          },
        ],
      }),
    );
    expect(err.type).toBe(PLURAL_ERROR_TYPE.REQUEST_VALIDATION);
    expect(err.message).toContain('payments.0.payment_option');
    expect(err.message).not.toContain(CARD_NUMBER);
  });

  it('createPayment rejects a malformed card number and CVV without echoing them', async () => {
    const badCard = '4012 0010 3714 111X';
    const err = await rejection(
      client.createPayment(ORDER_ID, {
        payments: [
          {
            payment_method: 'CARD',
            payment_amount: { value: 1100, currency: 'INR' },
            payment_option: {
              card_details: { card_number: badCard, cvv: '12345', expiry_month: '13', expiry_year: '2030' },
            },
          },
        ],
      }),
    );
    expect(err.message).toContain('card_number');
    expect(err.message).toContain('cvv');
    expect(err.message).not.toContain(badCard);
    expect(err.message).not.toContain('12345');
  });

  it('getCardDetails posts the card and returns native OTP support', async () => {
    const seen = intercept('POST', '/api/pay/v1/getCardDetails', 200, {
      card_payment_details: [
        {
          card_network: 'VISA',
          card_issuer: 'INTL HDQTRS-CENTER OWNED',
          card_type: 'CREDIT',
          card_category: 'NONE',
          is_international_card: false,
          is_native_otp_supported: true,
          country_code: 'IND',
          currency: 'INR',
          is_currency_supported: true,
        },
      ],
    });
    const result = await client.getCardDetails({
      amount: 100,
      card_details: [{ payment_identifier: CARD_NUMBER, payment_reference_type: 'CARD' }],
    });
    expect(seen[0]!.body).toEqual({
      amount: '100',
      card_details: [{ payment_identifier: CARD_NUMBER, payment_reference_type: 'CARD' }],
    });
    expect(result.card_payment_details[0]!.is_native_otp_supported).toBe(true);
  });
});

describe('native OTP', () => {
  it('generateOtp returns next actions and resend_after in seconds', async () => {
    const seen = intercept('POST', '/api/pay/v1/otp/generate', 200, {
      next: ['SUBMIT_OTP', 'RESEND_OTP'],
      meta_data: { resend_after: '180' },
    });
    const result = await client.generateOtp({ payment_id: PAYMENT_ID }, { idempotencyKey: 'wf-1:otp-generate' });
    expect(seen[0]!.body).toEqual({ payment_id: PAYMENT_ID });
    expect(seen[0]!.headers['idempotency-key']).toBe('wf-1:otp-generate');
    expect(result.next).toEqual(['SUBMIT_OTP', 'RESEND_OTP']);
    expect(result.meta_data?.resend_after).toBe(180);
  });

  it('submitOtp sends the OTP as a string and parses SUCCESS', async () => {
    const seen = intercept('POST', '/api/pay/v1/otp/submit', 200, { status: 'SUCCESS' });
    const result = await client.submitOtp({ payment_id: PAYMENT_ID, otp: '012345' });
    expect(seen[0]!.body).toEqual({ payment_id: PAYMENT_ID, otp: '012345' });
    expect(result.status).toBe('SUCCESS');
  });

  it('submitOtp rejects a non-numeric OTP without echoing it', async () => {
    const err = await rejection(client.submitOtp({ payment_id: PAYMENT_ID, otp: '12ab56' }));
    expect(err.type).toBe(PLURAL_ERROR_TYPE.REQUEST_VALIDATION);
    expect(err.message).not.toContain('12ab56');
  });

  it('submitOtp with an incorrect OTP throws with next actions and resend_after, never the OTP', async () => {
    intercept('POST', '/api/pay/v1/otp/submit', 422, {
      code: 'INVALID_OTP',
      message: 'Incorrect OTP entered',
      next: ['SUBMIT_OTP', 'RESEND_OTP'],
      meta_data: { resend_after: '30' },
    });
    const err = await rejection(client.submitOtp({ payment_id: PAYMENT_ID, otp: '987654' }));
    expect(err.type).toBe(PLURAL_ERROR_TYPE.API);
    expect(err.statusCode).toBe(422);
    expect(err.code).toBe('INVALID_OTP');
    expect(err.retryable).toBe(false);
    expect(err).toMatchObject({ next: ['SUBMIT_OTP', 'RESEND_OTP'], resendAfterSeconds: 30 });
    expect(err.message).toBe(
      `OTP submission for payment ${PAYMENT_ID} rejected: INVALID_OTP (HTTP 422): Incorrect OTP entered`,
    );
    expect(JSON.stringify(logger.lines)).not.toContain('987654');
  });

  it('masks the OTP and card data it sent wherever Plural’s error answer echoes them, in the error and the log', async () => {
    intercept('POST', '/api/pay/v1/otp/submit', 422, {
      code: 'INVALID_OTP',
      message: 'entered code 482913 does not match',
      next: ['SUBMIT_OTP'],
    });
    const otpErr = await rejection(client.submitOtp({ payment_id: PAYMENT_ID, otp: '482913' }));
    expect(otpErr.message).toContain('entered code [REDACTED] does not match');
    intercept('POST', `/api/pay/v1/orders/${ORDER_ID}/payments`, 422, {
      code: 'PAYMENT_DECLINED',
      message: 'declined: cvc check 739 failed, cryptogram AgAAAAAAAIR8CQrXcIhbQAAAAAA= unknown',
    });
    const cardErr = await rejection(
      client.createPayment(ORDER_ID, {
        payments: [
          {
            payment_method: 'CARD',
            payment_amount: { value: 5000, currency: 'INR' },
            payment_option: {
              card_token_details: {
                name: 'SOME_RANDOM_NAME',
                last4_digit: '5678',
                cvv: '739',
                expiry_month: '12',
                expiry_year: '2030',
                token: '4895370012345678',
                cryptogram: 'AgAAAAAAAIR8CQrXcIhbQAAAAAA=',
                token_txn_type: 'ALT_TOKEN',
              },
            },
          },
        ],
      }),
    );
    expect(cardErr.message).toContain('declined: cvc check [REDACTED] failed, cryptogram [REDACTED] unknown');
    const logged = JSON.stringify(logger.lines);
    for (const secret of ['482913', '739', 'AgAAAAAAAIR8CQrXcIhbQAAAAAA=']) expect(logged).not.toContain(secret);
  });

  it('resendOtp returns status, next actions and resend_after', async () => {
    intercept('POST', '/api/pay/v1/otp/resend', 200, {
      status: 'SUCCESS',
      next: ['SUBMIT_OTP', 'RESEND_OTP'],
      meta_data: { resend_after: '180' },
    });
    const result = await client.resendOtp({ payment_id: PAYMENT_ID });
    expect(result).toMatchObject({
      status: 'SUCCESS',
      next: ['SUBMIT_OTP', 'RESEND_OTP'],
      meta_data: { resend_after: 180 },
    });
  });

  it('resendOtp past the resend limit throws a non-retryable API error with next = [NONE]', async () => {
    intercept('POST', '/api/pay/v1/otp/resend', 422, {
      code: 'OTP_RESEND_LIMIT',
      message: 'limit reached',
      next: ['NONE'],
    });
    const err = await rejection(client.resendOtp({ payment_id: PAYMENT_ID }));
    expect(err).toMatchObject({
      type: PLURAL_ERROR_TYPE.API,
      code: 'OTP_RESEND_LIMIT',
      next: ['NONE'],
      retryable: false,
    });
  });
});

describe('capture, cancel, refund', () => {
  const captured = (value: number, status = 'PROCESSED') =>
    envelope(
      order({
        status,
        payments: [
          payment({
            status: 'PROCESSED',
            capture_data: [
              { merchant_capture_reference: 'cap-1', capture_amount: { value, currency: 'INR' }, created_at: 'x' },
            ],
          }),
        ],
      }),
    );

  it('captureOrder without an amount is a full capture', async () => {
    const seen = intercept('PUT', `/api/pay/v1/orders/${ORDER_ID}/capture`, 200, captured(1100));
    const result = await client.captureOrder(ORDER_ID, {}, { idempotencyKey: 'wf-1:capture' });
    expect(seen[0]!.body).toEqual({ merchant_capture_reference: 'wf-1:capture' });
    expect(seen[0]!.headers['idempotency-key']).toBe('wf-1:capture');
    expect(result.status).toBe(ORDER_STATUS.PROCESSED);
    expect(result.payments[0]!.capture_data?.[0]!.capture_amount.value).toBe(1100);
  });

  it('captureOrder with capture_amount is the single partial capture', async () => {
    const seen = intercept('PUT', `/api/pay/v1/orders/${ORDER_ID}/capture`, 200, captured(400, 'PARTIALLY_CAPTURED'));
    const result = await client.captureOrder(ORDER_ID, {
      merchant_capture_reference: 'cap-1',
      capture_amount: { value: 400, currency: 'INR' },
    });
    expect(seen[0]!.body).toEqual({
      merchant_capture_reference: 'cap-1',
      capture_amount: { value: 400, currency: 'INR' },
    });
    expect(result.status).toBe(ORDER_STATUS.PARTIALLY_CAPTURED);
  });

  it('a rejected capture says what happened to which order', async () => {
    intercept('PUT', `/api/pay/v1/orders/${ORDER_ID}/capture`, 422, {
      code: 'INVALID_REQUEST',
      message: 'Capture amount exceeds authorized amount',
      additional_error_details: { source: 'capture', step: 'validation', reason: 'amount' },
    });
    const err = await rejection(
      client.captureOrder(ORDER_ID, { capture_amount: { value: 5000, currency: 'INR' } }, { idempotencyKey: 'k' }),
    );
    expect(err.message).toBe(
      `capture of order ${ORDER_ID} rejected: INVALID_REQUEST (HTTP 422): Capture amount exceeds authorized amount`,
    );
    expect(err).toMatchObject({ details: { source: 'capture', step: 'validation', reason: 'amount' } });
  });

  it('cancelOrder sends PUT without a body and returns the cancelled order', async () => {
    const seen = intercept(
      'PUT',
      `/api/pay/v1/orders/${ORDER_ID}/cancel`,
      200,
      envelope(order({ status: 'CANCELLED', payments: [payment({ status: 'CANCELLED' })] })),
    );
    const result = await client.cancelOrder(ORDER_ID, { idempotencyKey: 'wf-1:cancel' });
    expect(seen[0]!.body).toBeUndefined();
    expect(seen[0]!.headers['idempotency-key']).toBe('wf-1:cancel');
    expect(result.status).toBe(ORDER_STATUS.CANCELLED);
    expect(result.payments[0]!.status).toBe(PAYMENT_STATUS.CANCELLED);
  });

  it('refundOrder posts the refund with its reference and returns the refund order', async () => {
    const seen = intercept(
      'POST',
      `/api/pay/v1/refunds/${ORDER_ID}`,
      200,
      envelope(
        order({
          order_id: 'v1-refund-1',
          parent_order_id: ORDER_ID,
          type: 'REFUND',
          status: 'PROCESSED',
          order_amount: { value: 500, currency: 'INR' },
        }),
      ),
    );
    const result = await client.refundOrder(
      ORDER_ID,
      { order_amount: { value: 500, currency: 'INR' } },
      { idempotencyKey: 'wf-1:refund-1' },
    );
    expect(seen[0]!.body).toEqual({
      merchant_order_reference: 'wf-1:refund-1',
      order_amount: { value: 500, currency: 'INR' },
    });
    expect(result).toMatchObject({ order_id: 'v1-refund-1', parent_order_id: ORDER_ID, type: 'REFUND' });
  });

  it('refundOrder rejects less than ₹1 before sending', async () => {
    const err = await rejection(
      client.refundOrder(ORDER_ID, { order_amount: { value: 99, currency: 'INR' } }, { idempotencyKey: 'k' }),
    );
    expect(err.type).toBe(PLURAL_ERROR_TYPE.REQUEST_VALIDATION);
  });
});

describe('customers, points, hosted checkout', () => {
  it('createCustomer posts the customer and returns customer_id', async () => {
    const seen = intercept('POST', '/api/v1/customer', 200, {
      customer_id: 'cust-v1-0811030624-aa-RBDgpR',
      merchant_customer_reference: 'cust-ref-1',
      first_name: 'Kevin',
      status: 'INACTIVE',
      created_at: '2024-10-04T13:11:29.645591Z',
    });
    const result = await client.createCustomer({
      merchant_customer_reference: 'cust-ref-1',
      first_name: 'Kevin',
      country_code: '91',
      mobile_number: '9876543210',
    });
    expect(seen[0]!.body).toMatchObject({ merchant_customer_reference: 'cust-ref-1', mobile_number: '9876543210' });
    expect(seen[0]!.headers['idempotency-key']).toBe('cust-ref-1');
    expect(result.customer_id).toBe('cust-v1-0811030624-aa-RBDgpR');
  });

  it('listCustomerTokens reads the saved cards of a customer (Get Customer Tokens)', async () => {
    intercept('GET', '/api/v1/customer/cust-v1-0811030624-aa-RBDgpR/tokens', 200, {
      customer_id: 'cust-v1-0811030624-aa-RBDgpR',
      total_tokens: 1,
      tokens: [
        {
          token_id: 'token-v1-0811030624-bb-RBDgpR',
          customer_id: 'cust-v1-0811030624-aa-RBDgpR',
          status: 'ACTIVE',
          payment_method: 'CARD',
          card_data: { last4_digit: '4895', card_type: 'CREDIT', network_name: 'VISA', cvv_required: true },
          created_at: '2024-10-04T13:11:29.645591Z',
        },
      ],
    });
    const result = await client.listCustomerTokens('cust-v1-0811030624-aa-RBDgpR');
    expect(result.tokens).toHaveLength(1);
    expect(result.tokens[0]).toMatchObject({ token_id: 'token-v1-0811030624-bb-RBDgpR', status: 'ACTIVE' });
    expect(result.tokens[0]!.card_data?.last4_digit).toBe('4895');
  });

  it('listCustomerTokens reads tokens: null as no saved card, and refuses an empty customer id before sending', async () => {
    intercept('GET', '/api/v1/customer/cust-2/tokens', 200, { customer_id: 'cust-2', tokens: null });
    expect((await client.listCustomerTokens('cust-2')).tokens).toEqual([]);
    const err = await rejection(client.listCustomerTokens(' '));
    expect(err.type).toBe(PLURAL_ERROR_TYPE.REQUEST_VALIDATION);
  });

  it('getPointsBalance posts to /payment-option and returns the redeemable amount', async () => {
    const seen = intercept('POST', '/payment-option', 200, {
      balance: { value: 23718050, currency: 'INR' },
      redeemable_amount: { value: 3500, currency: 'INR' },
      redeemable_points: 140,
      is_eligible: true,
    });
    const input = {
      payment_option: {
        points_card_details: { card_last4: '1112', card_number: CARD_NUMBER, registered_mobile_number: '7827709063' },
      },
      order_details: { order_amount: { value: 5000, currency: 'INR' } },
    };
    const result = await client.getPointsBalance(input);
    expect(seen[0]!.body).toEqual(input);
    expect(result.redeemable_amount).toEqual({ value: 3500, currency: 'INR' });
    expect(result.is_eligible).toBe(true);
  });

  it('createCheckoutLink posts to the checkout API and returns redirect_url', async () => {
    const seen = intercept('POST', '/api/checkout/v1/orders', 200, {
      token: 'redirect-token',
      order_id: ORDER_ID,
      redirect_url: 'https://api.pluralonline.com/api/v3/checkout-bff/redirect/checkout?token=redirect-token',
      response_code: 200,
      response_message: 'Order Creation Successful.',
    });
    const result = await client.createCheckoutLink(
      { order_amount: { value: 500, currency: 'INR' }, pre_auth: true, allowed_payment_methods: ['CARD'] },
      { idempotencyKey: 'wf-5:checkout' },
    );
    expect(seen[0]!.body).toEqual({
      merchant_order_reference: 'wf-5:checkout',
      order_amount: { value: 500, currency: 'INR' },
      pre_auth: true,
      allowed_payment_methods: ['CARD'],
    });
    expect(result.order_id).toBe(ORDER_ID);
    expect(result.redirect_url).toContain('checkout-bff');
  });
});

describe('secrets stay out of logs', () => {
  it('logs one line per exchange with no card number, CVV, token, secret or body', async () => {
    intercept('POST', `/api/pay/v1/orders/${ORDER_ID}/payments`, 200, envelope(order({ payments: [payment()] })));
    await client.createPayment(ORDER_ID, {
      payments: [
        {
          payment_method: 'CARD',
          payment_amount: { value: 1100, currency: 'INR' },
          payment_option: {
            card_details: { card_number: CARD_NUMBER, cvv: CVV, expiry_month: '12', expiry_year: '30' },
          },
        },
      ],
    });
    const text = JSON.stringify(logger.lines);
    expect(logger.lines.length).toBe(2); // token exchange + payment exchange
    for (const secret of [CARD_NUMBER, `"${CVV}"`, 'access-token-1', CLIENT_SECRET]) expect(text).not.toContain(secret);
    expect(text).toContain(`payment creation on order ${ORDER_ID}`);
  });
});

describe('every endpoint', () => {
  const o = { idempotencyKey: 'wf-9:step', requestId: 'rid-9' };
  const card = { card_number: CARD_NUMBER, cvv: CVV, expiry_month: '12', expiry_year: '2030' };
  const points = { card_last4: '1112', card_number: CARD_NUMBER, registered_mobile_number: '9876543210' };
  const money = { value: 1100, currency: 'INR' };
  const otpReply = { status: 'SUCCESS', next: ['SUBMIT_OTP'], meta_data: { resend_after: '30' } };
  const cases: [string, string, string, unknown, (c: PluralClient) => Promise<unknown>][] = [
    ['createOrder', 'POST', '/api/pay/v1/orders', envelope(order()), (c) => c.createOrder({ order_amount: money }, o)],
    ['getOrder', 'GET', `/api/pay/v1/orders/${ORDER_ID}`, envelope(order()), (c) => c.getOrder(ORDER_ID, o)],
    [
      'getOrderByReference',
      'GET',
      '/api/pay/v1/orders/reference/r1',
      envelope(order()),
      (c) => c.getOrderByReference('r1', o),
    ],
    [
      'createPayment',
      'POST',
      `/api/pay/v1/orders/${ORDER_ID}/payments`,
      envelope(order()),
      (c) =>
        c.createPayment(
          ORDER_ID,
          { payments: [{ payment_method: 'CARD', payment_amount: money, payment_option: { card_details: card } }] },
          o,
        ),
    ],
    [
      'getCardDetails',
      'POST',
      '/api/pay/v1/getCardDetails',
      { card_payment_details: [{ is_native_otp_supported: false }] },
      (c) => c.getCardDetails({ card_details: [{ payment_identifier: CARD_NUMBER }] }, o),
    ],
    ['generateOtp', 'POST', '/api/pay/v1/otp/generate', otpReply, (c) => c.generateOtp({ payment_id: PAYMENT_ID }, o)],
    [
      'submitOtp',
      'POST',
      '/api/pay/v1/otp/submit',
      otpReply,
      (c) => c.submitOtp({ payment_id: PAYMENT_ID, otp: '1234' }, o),
    ],
    ['resendOtp', 'POST', '/api/pay/v1/otp/resend', otpReply, (c) => c.resendOtp({ payment_id: PAYMENT_ID }, o)],
    [
      'captureOrder',
      'PUT',
      `/api/pay/v1/orders/${ORDER_ID}/capture`,
      envelope(order()),
      (c) => c.captureOrder(ORDER_ID, {}, o),
    ],
    [
      'cancelOrder',
      'PUT',
      `/api/pay/v1/orders/${ORDER_ID}/cancel`,
      envelope(order()),
      (c) => c.cancelOrder(ORDER_ID, o),
    ],
    [
      'refundOrder',
      'POST',
      `/api/pay/v1/refunds/${ORDER_ID}`,
      envelope(order()),
      (c) => c.refundOrder(ORDER_ID, { order_amount: money }, o),
    ],
    [
      'createCustomer',
      'POST',
      '/api/v1/customer',
      { customer_id: 'cust-1' },
      (c) => c.createCustomer({ first_name: 'K' }, o),
    ],
    [
      'listCustomerTokens',
      'GET',
      '/api/v1/customer/cust-1/tokens',
      { tokens: [] },
      (c) => c.listCustomerTokens('cust-1', o),
    ],
    [
      'getPointsBalance',
      'POST',
      '/payment-option',
      { redeemable_amount: money, is_eligible: true },
      (c) =>
        c.getPointsBalance(
          { payment_option: { points_card_details: points }, order_details: { order_amount: money } },
          o,
        ),
    ],
    [
      'createCheckoutLink',
      'POST',
      '/api/checkout/v1/orders',
      { order_id: ORDER_ID, redirect_url: 'https://x.test/r' },
      (c) => c.createCheckoutLink({ order_amount: money }, o),
    ],
  ];

  it.each(cases)(
    '%s sends %s %s with Request-ID, Request-Timestamp, bearer and idempotency headers',
    async (_n, method, path, reply, invoke) => {
      const seen = intercept(method, path, 200, reply);
      await invoke(client);
      const h = seen[0]!.headers;
      expect(h['request-id']).toBe('rid-9');
      expect(h['request-timestamp']).toBe('2026-01-15T10:00:00.000Z');
      expect(h.authorization).toBe('Bearer access-token-1');
      expect(h['idempotency-key']).toBe(method === 'GET' ? undefined : 'wf-9:step');
    },
  );
});
