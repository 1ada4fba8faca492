/**
 * Customers and saved cards: `POST /v1/customers`, `GET /v1/customers/{id}/tokens`, the payment's `saved_card` once
 * the workflow has it, and Plural's TOKEN_* / CUSTOMER_* webhooks (verified, acknowledged, only their type logged).
 * The routes run over the real adapter and the sandbox; the port's error mapping over a fake directory.
 */
import Ajv2020 from 'ajv/dist/2020';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SavedCardSnapshot } from '../../activities/types';
import {
  CustomerExistsError,
  CustomerNotFoundError,
  GatewayRejectedError,
  GatewayUnavailableError,
} from '../../api/customers';
import type { CustomerDirectory } from '../../api/customers';
import { buildOpenApiDocument } from '../../api/openapi';
import { createPluralCustomerDirectory } from '../../api/plural-customers';
import type { PluralClient } from '../../plural-client';
import { webhookHeaders } from '../../plural-client';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import type { PaymentState } from '../../workflows/definitions';
import { CARDS } from '../support/cards';
import { auth, cardPayment, makeApi, WEBHOOK_SECRET } from './helpers';
import { pluralClientFor } from '../support/plural';

let sandbox: RunningSandbox;
let plural: PluralClient;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 5 });
  plural = pluralClientFor(sandbox, 2_000);
});
afterAll(async () => {
  await plural?.close();
  await sandbox?.stop();
});

const withSandbox = () => makeApi({}, { customers: createPluralCustomerDirectory({ plural, timeoutMs: 2_000 }) });
const unique = (prefix: string) => `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

/** A directory whose every call fails with `err`. */
const failing = (err: Error): CustomerDirectory => ({
  create: () => Promise.reject(err),
  savedCards: () => Promise.reject(err),
});

describe('POST /v1/customers', () => {
  it('creates the customer at Plural and answers 201 with its customer_id, echoing no personal data', async () => {
    const api = withSandbox();
    const ref = unique('cust');
    const res = await request(api.app)
      .post('/v1/customers')
      .set(auth)
      .send({
        merchant_customer_reference: ref,
        first_name: 'Kevin',
        last_name: 'Bob',
        email: 'kevin.bob@example.com',
        mobile_number: '9876543210',
        country_code: '91',
        billing_address: { address1: '10 Downing Street', city: 'Westminster', pincode: '51524036' },
        merchant_metadata: { tier: 'gold' },
      });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      object: 'customer',
      customer_id: expect.stringMatching(/^cust-v1-/),
      merchant_customer_reference: ref,
      status: 'INACTIVE',
      created_at: expect.any(String),
    });
    expect(res.headers.location).toBe(`/v1/customers/${res.body.customer_id}/tokens`);
    expect(res.text).not.toContain('kevin.bob');
    expect(api.logs.join('\n')).not.toMatch(/Downing|kevin\.bob|9876543210|gold/);
  });

  it('answers 409 customer_exists for a reference Plural already has', async () => {
    const api = withSandbox();
    const body = { merchant_customer_reference: unique('dup') };
    expect((await request(api.app).post('/v1/customers').set(auth).send(body)).status).toBe(201);
    const again = await request(api.app).post('/v1/customers').set(auth).send(body);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('customer_exists');
  });

  it('answers 400 naming the field for a bad request, calling nothing', async () => {
    const calls: string[] = [];
    const api = makeApi(
      {},
      {
        customers: {
          create: () => (calls.push('create'), Promise.reject(new Error('unreachable'))),
          savedCards: () => Promise.resolve([]),
        },
      },
    );
    for (const [body, path] of [
      [{}, 'merchant_customer_reference'],
      [{ merchant_customer_reference: 'a b' }, 'merchant_customer_reference'],
      [{ merchant_customer_reference: 'c1', first_name: 'Ke\u0000vin' }, 'first_name'],
      [{ merchant_customer_reference: 'c1', email: 'not-an-email' }, 'email'],
      [{ merchant_customer_reference: 'c1', card: { number: CARDS.nativeOtp } }, '(body)'],
    ] as const) {
      const res = await request(api.app).post('/v1/customers').set(auth).send(body);
      expect(res.status).toBe(400);
      expect((res.body as { error: { issues: { path: string }[] } }).error.issues.map((i) => i.path)).toContain(path);
      expect(res.text).not.toContain(CARDS.nativeOtp);
    }
    expect(calls).toEqual([]);
  });

  it('needs an API key', async () => {
    const res = await request(withSandbox().app).post('/v1/customers').send({ merchant_customer_reference: 'x' });
    expect(res.status).toBe(401);
  });

  it('answers 503 customers_unavailable when the API has no Plural credentials', async () => {
    const res = await request(makeApi().app).post('/v1/customers').set(auth).send({ merchant_customer_reference: 'x' });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('customers_unavailable');
  });

  it('answers 503 gateway_unavailable with Retry-After while Plural fails, naming only the HTTP status', async () => {
    const api = withSandbox();
    sandbox.setFaults({ errorRate: 1, paths: ['/api/v1/customer'] });
    try {
      const res = await request(api.app)
        .post('/v1/customers')
        .set(auth)
        .send({ merchant_customer_reference: unique('f') });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body.error.code).toBe('gateway_unavailable');
      expect(res.body.error.message).toMatch(/HTTP 50\d/);
    } finally {
      sandbox.setFaults({ errorRate: 0, paths: [] });
    }
  });

  it.each([
    [new CustomerExistsError('r'), 409, 'customer_exists'],
    [new CustomerNotFoundError('c'), 404, 'customer_not_found'],
    [new GatewayRejectedError('customer creation', 'INVALID_REQUEST', 400), 400, 'gateway_rejected'],
    [new GatewayUnavailableError('customer creation', 'HTTP 503'), 503, 'gateway_unavailable'],
  ])('maps %s to %i %s', async (err, status, code) => {
    const api = makeApi({}, { customers: failing(err) });
    const res = await request(api.app).post('/v1/customers').set(auth).send({ merchant_customer_reference: 'r' });
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
  });
});

describe('GET /v1/customers/{customer_id}/tokens', () => {
  it('lists the cards Plural saved for the customer: token id, status, last 4, expiry', async () => {
    const api = withSandbox();
    const customer = await plural.createCustomer({ merchant_customer_reference: unique('tok') });
    const none = await request(api.app).get(`/v1/customers/${customer.customer_id}/tokens`).set(auth);
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ object: 'list', customer_id: customer.customer_id, data: [] });

    // A save: true payment for this customer, authorized at the sandbox (its native OTP), saves the card.
    const order = await plural.createOrder({
      merchant_order_reference: unique('o'),
      order_amount: { value: 5000, currency: 'INR' },
      pre_auth: true,
      purchase_details: { customer: { customer_id: customer.customer_id } },
    });
    const paid = await plural.createPayment(order.order_id, {
      payments: [
        {
          merchant_payment_reference: unique('p'),
          payment_method: 'CARD',
          payment_amount: { value: 5000, currency: 'INR' },
          payment_option: {
            card_details: {
              card_number: CARDS.nativeOtp,
              cvv: '123',
              expiry_month: '12',
              expiry_year: '2031',
              save: true,
            },
          },
        },
      ],
    });
    await plural.generateOtp({ payment_id: paid.payments[0]!.id });
    await plural.submitOtp({ payment_id: paid.payments[0]!.id, otp: '123456' });

    const res = await request(api.app).get(`/v1/customers/${customer.customer_id}/tokens`).set(auth);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([
      {
        object: 'saved_card',
        token_id: expect.stringMatching(/^token-v1-/),
        status: 'ACTIVE',
        last4: '1112',
        expiry_month: '12',
        expiry_year: '2031',
        network: null,
        expires_at: null,
        created_at: expect.any(String),
      },
    ]);
    expect(api.logs.join('\n')).not.toContain(res.body.data[0].token_id);
  });

  it('answers 404 for a customer Plural does not know, and 400 for a malformed id', async () => {
    const api = withSandbox();
    const unknown = await request(api.app).get('/v1/customers/cust-v1-nobody/tokens').set(auth);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('customer_not_found');
    const bad = await request(api.app).get('/v1/customers/a%20b/tokens').set(auth);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_customer_id');
    // A card number where the id goes is neither sent to Plural nor echoed.
    const pan = await request(api.app).get(`/v1/customers/${CARDS.nativeOtp}/tokens`).set(auth);
    expect(pan.status).toBe(400);
    expect(pan.body.error.code).toBe('card_number_in_text');
    expect(pan.text).not.toContain(CARDS.nativeOtp);
  });
});

describe('the payment’s saved card', () => {
  it('shows saved_card once the workflow has the token, null before', async () => {
    const api = makeApi();
    const created = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(
        cardPayment('save-1', {
          card: { number: CARDS.nativeOtp, name: 'A', expiry_month: '12', expiry_year: '2030', cvv: '123', save: true },
          customer: { customer_id: 'cust-1' },
        }),
      );
    expect(created.status).toBe(201);
    expect(created.body.saved_card).toBeNull();
    const savedCard: SavedCardSnapshot = {
      tokenId: 'token-v1-0811030624-bb-RBDgpR',
      status: 'ACTIVE',
      last4: '1112',
      expiryMonth: '12',
      expiryYear: '2030',
    };
    (api.engine.payments.get('save-1')!.state as PaymentState & { savedCard?: SavedCardSnapshot }).savedCard =
      savedCard;
    const res = await request(api.app).get('/v1/payments/save-1').set(auth);
    expect(res.body.saved_card).toEqual({
      token_id: 'token-v1-0811030624-bb-RBDgpR',
      status: 'ACTIVE',
      last4: '1112',
      expiry_month: '12',
      expiry_year: '2030',
    });
    const doc = buildOpenApiDocument({ serverUrl: 'x' });
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const validate = ajv.compile({ $ref: 'doc#/components/schemas/Payment' });
    expect(validate(res.body), JSON.stringify(validate.errors)).toBe(true);
  });
});

describe('TOKEN_* and CUSTOMER_* webhooks', () => {
  it.each(['TOKEN_ACTIVATED', 'TOKEN_DEACTIVATED', 'TOKEN_PROVISION_FAILED', 'CUSTOMER_ACTIVATED', 'CUSTOMER_DELETED'])(
    'verifies %s, answers 200 delivered=false, signals nothing and logs only the event type',
    async (eventType) => {
      const api = makeApi();
      const body = JSON.stringify({
        event_type: eventType,
        data: {
          token_id: 'token-v1-0811030624-bb-SECRET',
          customer_id: 'cust-v1-0811030624-aa-RBDgpR',
          card_data: { last4_digit: '4895' },
        },
      });
      const headers = webhookHeaders({
        id: `msg_${eventType}`,
        timestamp: Math.floor(Date.now() / 1000),
        body,
        secret: WEBHOOK_SECRET,
      });
      const res = await request(api.app)
        .post('/v1/webhooks/plural')
        .set({ ...headers, 'content-type': 'application/json' })
        .send(body);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ received: true, delivered: false });
      expect(api.engine.mutatingCalls).toEqual([]);
      const logs = api.logs.join('\n');
      expect(logs).toContain(eventType);
      expect(logs).not.toContain('token-v1-0811030624-bb-SECRET');
      expect(logs).not.toContain('cust-v1-0811030624-aa-RBDgpR');
    },
  );

  it('still refuses a TOKEN_* webhook with a bad signature (401)', async () => {
    const api = makeApi();
    const body = JSON.stringify({ event_type: 'TOKEN_ACTIVATED', data: {} });
    const headers = webhookHeaders({ id: 'm', timestamp: Math.floor(Date.now() / 1000), body, secret: 'wrong-secret' });
    const res = await request(api.app)
      .post('/v1/webhooks/plural')
      .set({ ...headers, 'content-type': 'application/json' })
      .send(body);
    expect(res.status).toBe(401);
  });
});
