/**
 * `POST /v1/payments` takes the order's `notes`, the merchant's `merchant_metadata`, the customer's billing and
 * shipping addresses and the browser's 3-D Secure `device_info`, validates them at the edge (400 naming the field)
 * and hands them to the workflow in its own vocabulary; none of them is logged.
 */
import Ajv2020 from 'ajv/dist/2020';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../api/openapi';
import type { PaymentWorkflowInput } from '../../workflows/definitions';
import { CARDS } from '../support/cards';
import { auth, cardPayment, makeApi } from './helpers';
import type { TestApi } from './helpers';

const billing = {
  address1: '10 Downing Street Westminster London',
  address2: 'Oxford Street',
  pincode: '51524036',
  city: 'Westminster',
  state: 'Westminster',
  country: 'London',
};
const shipping = { address1: 'H.No 15, Sector 17', pincode: '144001', city: 'CHANDIGARH', country: 'INDIA' };
const deviceInfo = {
  device_channel: 'browser',
  browser_accept_header: '*/*',
  browser_user_agent: 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:72.0) Gecko/20100101 Firefox/72.0',
  browser_language: 'en-IN',
  browser_screen_height: '768',
  browser_screen_width: '1366',
  browser_timezone: '-330',
  browser_window_size: '1366x768',
  browser_screen_color_depth: '24',
  browser_java_enabled_val: 'false',
  browser_javascript_enabled_val: 'true',
};

function startInput(api: TestApi): PaymentWorkflowInput {
  const start = api.engine.calls.find((c) => c.method === 'create');
  expect(start).toBeDefined();
  return start!.args[0] as PaymentWorkflowInput;
}

const post = (api: TestApi, body: Record<string, unknown>) =>
  request(api.app).post('/v1/payments').set(auth).send(body);

async function rejected(body: Record<string, unknown>, path: string, code = 'invalid_request') {
  const api = makeApi();
  const res = await post(api, body);
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe(code);
  const issues = (res.body as { error: { issues: { path: string }[] } }).error.issues;
  expect(issues.map((i) => i.path)).toContain(path);
  expect(api.engine.mutatingCalls).toEqual([]);
  return res;
}

describe('pass-through fields of POST /v1/payments', () => {
  it('hands notes, metadata, both addresses and device_info to the workflow in its vocabulary', async () => {
    const api = makeApi();
    const res = await post(
      api,
      cardPayment('pt-1', {
        notes: 'order1',
        merchant_metadata: { key1: 'DD', key2: 'XOF' },
        customer: { customer_id: 'cust-1', billing_address: billing, shipping_address: shipping },
        device_info: deviceInfo,
      }),
    );
    expect(res.status).toBe(201);
    const input = startInput(api);
    expect(input.notes).toBe('order1');
    expect(input.merchantMetadata).toEqual({ key1: 'DD', key2: 'XOF' });
    expect(input.customer).toEqual({ customerId: 'cust-1', billingAddress: billing, shippingAddress: shipping });
    expect(input.deviceInfo).toEqual({
      deviceChannel: 'browser',
      browserAcceptHeader: '*/*',
      browserUserAgent: deviceInfo.browser_user_agent,
      browserLanguage: 'en-IN',
      browserScreenHeight: '768',
      browserScreenWidth: '1366',
      browserTimezone: '-330',
      browserWindowSize: '1366x768',
      browserScreenColorDepth: '24',
      browserJavaEnabled: 'false',
      browserJavascriptEnabled: 'true',
    });
  });

  it('documents them in the OpenAPI request schema', () => {
    const doc = buildOpenApiDocument({ serverUrl: 'x' });
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const validate = ajv.compile({ $ref: 'doc#/components/schemas/CreatePaymentRequest' });
    const body = cardPayment('pt-doc', {
      notes: 'order1',
      merchant_metadata: { key1: 'DD' },
      customer: { billing_address: billing, shipping_address: shipping },
      device_info: deviceInfo,
    });
    expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...body, device_info: { browser_screen_height: 768 } })).toBe(false);
  });

  it('leaves them out of the workflow input when they are not sent', async () => {
    const api = makeApi();
    expect((await post(api, cardPayment('pt-2'))).status).toBe(201);
    const input = startInput(api);
    expect(input).not.toHaveProperty('notes');
    expect(input).not.toHaveProperty('merchantMetadata');
    expect(input).not.toHaveProperty('deviceInfo');
  });

  it('logs none of them', async () => {
    const api = makeApi();
    await post(
      api,
      cardPayment('pt-3', {
        notes: 'leave at the blue door',
        merchant_metadata: { loyalty: 'GOLD-4711' },
        customer: { billing_address: { ...billing, address1: 'Flat 9 Marigold Lane' } },
        device_info: { browser_user_agent: 'QuirkyBrowser/9.1' },
      }),
    );
    const logs = api.logs.join('\n');
    for (const value of ['blue door', 'GOLD-4711', 'Marigold', 'QuirkyBrowser']) expect(logs).not.toContain(value);
  });

  it('refuses more than 10 metadata pairs (Plural’s limit), naming merchant_metadata', async () => {
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v']));
    await rejected(cardPayment('pt-4', { merchant_metadata: eleven }), 'merchant_metadata');
  });

  it('refuses a metadata value over 256 characters or of another type than string, naming its key', async () => {
    await rejected(cardPayment('pt-5', { merchant_metadata: { note: 'x'.repeat(257) } }), 'merchant_metadata.note');
    await rejected(cardPayment('pt-6', { merchant_metadata: { count: 3 } }), 'merchant_metadata.count');
  });

  it('does not name a metadata key that could be card data, and never echoes it', async () => {
    const res = await rejected(
      cardPayment('pt-7', { merchant_metadata: { [CARDS.nativeOtp]: 'x'.repeat(300) } }),
      'merchant_metadata.#1',
    );
    expect(res.text).not.toContain(CARDS.nativeOtp);
  });

  it('refuses notes over 500 characters, and unknown address or device_info fields', async () => {
    await rejected(cardPayment('pt-8', { notes: 'n'.repeat(501) }), 'notes');
    await rejected(cardPayment('pt-9', { customer: { billing_address: { street: 'x' } } }), 'customer.billing_address');
    await rejected(cardPayment('pt-10', { device_info: { browser_ip: '10.0.0.1' } }), 'device_info');
  });

  it('refuses device_info values that are not strings as the guides send them', async () => {
    await rejected(
      cardPayment('pt-11', { device_info: { browser_screen_height: 768 } }),
      'device_info.browser_screen_height',
    );
    await rejected(
      cardPayment('pt-12', { device_info: { browser_java_enabled_val: true } }),
      'device_info.browser_java_enabled_val',
    );
  });

  it('refuses device_info with hosted checkout (Plural’s page reads the browser itself)', async () => {
    await rejected(
      {
        merchant_order_reference: 'pt-13',
        amount: { value: 1000, currency: 'INR' },
        hosted_checkout: true,
        device_info: { device_channel: 'browser' },
      },
      'device_info',
    );
  });

  it('refuses a card number in notes, metadata, an address, an email or a postal code, without echoing it', async () => {
    for (const [body, path] of [
      [{ notes: `card ${CARDS.nativeOtp}` }, 'notes'],
      [{ merchant_metadata: { memo: CARDS.nativeOtp } }, 'merchant_metadata.memo'],
      [
        { customer: { shipping_address: { address1: `c/o ${CARDS.nativeOtp}` } } },
        'customer.shipping_address.address1',
      ],
      // Fields with patterns of their own that still let digits through: an email's local part, a postal code.
      [{ customer: { email: `${CARDS.nativeOtp}@example.com` } }, 'customer.email'],
      [{ customer: { billing_address: { pincode: CARDS.nativeOtp } } }, 'customer.billing_address.pincode'],
      // Plural's customer id is sent to Plural and echoed in errors: never a card number.
      [{ customer: { customer_id: CARDS.nativeOtp } }, 'customer.customer_id'],
    ] as const) {
      const res = await rejected(cardPayment('pt-14', body), path, 'card_number_in_text');
      expect(res.text).not.toContain(CARDS.nativeOtp);
    }
  });
});
