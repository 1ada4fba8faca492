/**
 * What the merchant sends beyond the card reaches Plural's request bodies as the guides show them: `notes` on the
 * order, `purchase_details.merchant_metadata` beside the customer, the addresses in
 * `purchase_details.customer.billing_address` / `shipping_address`, and the 3-D Secure `device_info` on the card
 * payment. Plural is faked with undici's MockAgent (the exact bodies), then the sandbox takes and echoes the same order.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Interceptable, MockAgent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import type { CreateOrderInput, CreatePaymentInput } from '../../activities';
import { InMemoryCardVault } from '../../card-vault';
import { PluralClient } from '../../plural-client';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import type { DeviceInfo } from '../../workflows/definitions';
import {
  BASE_URL,
  CLIENT_ID,
  CLIENT_SECRET,
  envelope,
  interceptToken,
  newMockAgent,
  order,
  ORDER_ID,
  payment,
  recordingReply,
} from '../plural-client/fixtures';
import type { SeenRequest } from '../plural-client/fixtures';
import { CARDS } from '../support/cards';
import { putCard } from './harness';
import { pluralClientFor } from '../support/plural';

const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
  new MockActivityEnvironment({ attempt: 1 }).run<A, R, typeof fn>(fn, ...args);

const billing = {
  address1: '10 Downing Street Westminster London',
  address2: 'Oxford Street Westminster London',
  pincode: '51524036',
  city: 'Westminster',
  state: 'Westminster',
  country: 'London',
};
const shipping = { address1: 'H.No 15, Sector 17', pincode: '144001123', city: 'CHANDIGARH', country: 'INDIA' };
const metadata = { key1: 'DD', key2: 'XOF' };
const device: DeviceInfo = {
  deviceChannel: 'browser',
  browserAcceptHeader: '*/*',
  browserUserAgent: 'mozilla/5.0+x11;+ubuntu;+linux+x86_64;+rv:72.0)+gecko/20100101+firefox/72.0',
  browserLanguage: 'en',
  browserScreenHeight: '768',
  browserScreenWidth: '1366',
  browserTimezone: '-330',
  browserWindowSize: '1366x768',
  browserScreenColorDepth: '24',
  browserJavaEnabled: 'true',
  browserJavascriptEnabled: 'true',
};
/** `device` in Plural's words, exactly as the 3-D Secure guide's Create Payment sample sends it. */
const deviceOnTheWire = {
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
  device_channel: 'browser',
};

const orderInput = (ref: string): CreateOrderInput => ({
  workflowId: `payment:${ref}`,
  merchantOrderReference: ref,
  amount: { value: 1100, currency: 'INR' },
  preAuth: false,
  customer: { firstName: 'Kevin', email: 'kevin.bob@example.com', billingAddress: billing, shippingAddress: shipping },
  callbackUrl: 'https://merchant.example/callback',
  notes: 'order1',
  merchantMetadata: metadata,
});

describe('pass-through fields on the wire (MockAgent)', () => {
  let agent: MockAgent;
  let pool: Interceptable;
  let plural: PluralClient;
  let vault: InMemoryCardVault;
  let acts: ReturnType<typeof createActivities>;

  beforeEach(() => {
    ({ agent, pool } = newMockAgent());
    interceptToken(pool);
    plural = new PluralClient({
      baseUrl: BASE_URL,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      dispatcher: agent,
    });
    vault = new InMemoryCardVault();
    acts = createActivities({ plural, vault });
  });
  afterEach(async () => {
    agent.assertNoPendingInterceptors();
    vault.close();
    await agent.close();
  });

  it('sends notes, merchant_metadata and both addresses in Create Order where the guides put them', async () => {
    const seen: SeenRequest[] = [];
    pool
      .intercept({ path: '/api/pay/v1/orders', method: 'POST' })
      .reply(recordingReply(seen, 200, envelope(order({ pre_auth: false }))));
    await run(acts.createOrder, orderInput('pt-order-1'));
    expect(seen[0]!.body).toEqual({
      merchant_order_reference: 'pt-order-1',
      order_amount: { value: 1100, currency: 'INR' },
      pre_auth: false,
      notes: 'order1',
      callback_url: 'https://merchant.example/callback',
      purchase_details: {
        customer: {
          first_name: 'Kevin',
          email_id: 'kevin.bob@example.com',
          billing_address: billing,
          shipping_address: shipping,
        },
        merchant_metadata: metadata,
      },
    });
  });

  it('limits a pre-auth hosted checkout link to cards (Plural pre-authorizes cards only), and a sale to nothing', async () => {
    const seen: SeenRequest[] = [];
    const link = { order_id: ORDER_ID, redirect_url: 'https://checkout.example/pay', token: 't' };
    pool.intercept({ path: '/api/checkout/v1/orders', method: 'POST' }).reply(recordingReply(seen, 200, link));
    pool.intercept({ path: '/api/checkout/v1/orders', method: 'POST' }).reply(recordingReply(seen, 200, link));
    await run(acts.createCheckoutLink, { ...orderInput('pt-link-1'), preAuth: true });
    await run(acts.createCheckoutLink, orderInput('pt-link-2'));
    expect(seen[0]!.body).toMatchObject({ pre_auth: true, allowed_payment_methods: ['CARD'] });
    expect(seen[1]!.body).not.toHaveProperty('allowed_payment_methods');
  });

  it('sends merchant_metadata without a customer, and no purchase_details at all when there is neither', async () => {
    const seen: SeenRequest[] = [];
    pool
      .intercept({ path: '/api/pay/v1/orders', method: 'POST' })
      .reply(recordingReply(seen, 200, envelope(order({ pre_auth: false }))))
      .times(2);
    const { customer: _customer, ...noCustomer } = orderInput('pt-order-2');
    await run(acts.createOrder, noCustomer);
    await run(acts.createOrder, { ...noCustomer, merchantOrderReference: 'pt-order-3', merchantMetadata: undefined });
    expect((seen[0]!.body as { purchase_details: unknown }).purchase_details).toEqual({ merchant_metadata: metadata });
    expect(seen[1]!.body).not.toHaveProperty('purchase_details');
  });

  it('sends the 3-D Secure device_info with the card payment, every value a string', async () => {
    const seen: SeenRequest[] = [];
    pool
      .intercept({ path: `/api/pay/v1/orders/${ORDER_ID}/payments`, method: 'POST' })
      .reply(recordingReply(seen, 200, envelope(order({ status: 'PENDING', payments: [payment()] }))));
    const input: CreatePaymentInput = {
      workflowId: 'payment:pt-pay-1',
      orderId: ORDER_ID,
      amount: { value: 1100, currency: 'INR' },
      preAuth: false,
      instrument: { kind: 'card', cardHandle: await putCard(vault, CARDS.challenge), save: false },
      deviceInfo: device,
    };
    await run(acts.createPayment, input);
    const sent = (seen[0]!.body as { payments: Record<string, unknown>[] }).payments;
    expect(sent).toHaveLength(1);
    expect(sent[0]!.device_info).toEqual(deviceOnTheWire);
  });

  it('puts device_info on the CARD payment of a card + points split only', async () => {
    const seen: SeenRequest[] = [];
    pool
      .intercept({ path: `/api/pay/v1/orders/${ORDER_ID}/payments`, method: 'POST' })
      .reply(recordingReply(seen, 200, envelope(order({ status: 'PENDING', payments: [payment()] }))));
    await run(acts.createPayment, {
      workflowId: 'payment:pt-pay-2',
      orderId: ORDER_ID,
      amount: { value: 5000, currency: 'INR' },
      preAuth: false,
      instrument: {
        kind: 'card_points',
        cardHandle: await putCard(vault, CARDS.nativeOtp),
        last4: '1112',
        registeredMobileNumber: '9876543210',
        pointsAmount: { value: 3500, currency: 'INR' },
      },
      deviceInfo: { browserLanguage: 'en-IN' },
    });
    const sent = (seen[0]!.body as { payments: { payment_method: string; device_info?: unknown }[] }).payments;
    expect(sent.map((p) => [p.payment_method, p.device_info])).toEqual([
      ['CARD', { browser_language: 'en-IN' }],
      ['POINTS', undefined],
    ]);
  });
});

describe('pass-through fields at the sandbox', () => {
  let sandbox: RunningSandbox;
  let plural: PluralClient;
  let vault: InMemoryCardVault;
  let acts: ReturnType<typeof createActivities>;

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 11 });
    plural = pluralClientFor(sandbox);
    vault = new InMemoryCardVault();
    acts = createActivities({ plural, vault });
  });
  afterAll(async () => {
    await sandbox?.stop();
    await plural?.close();
    vault?.close();
  });

  it('accepts the order and the payment with them, and Get Order answers notes and purchase_details back', async () => {
    const ref = `pt-sbx-${Date.now()}`;
    const created = await run(acts.createOrder, orderInput(ref));
    await run(acts.createPayment, {
      workflowId: `payment:${ref}`,
      orderId: created.orderId,
      amount: { value: 1100, currency: 'INR' },
      preAuth: false,
      instrument: { kind: 'card', cardHandle: await putCard(vault, CARDS.challenge), save: false },
      deviceInfo: device,
    });
    const stored = await plural.getOrder(created.orderId);
    expect(stored).toMatchObject({
      notes: 'order1',
      purchase_details: {
        customer: { billing_address: billing, shipping_address: shipping },
        merchant_metadata: metadata,
      },
    });
    expect(stored.payments).toHaveLength(1);
  });
});
