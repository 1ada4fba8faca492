/** Builds the API over the fake engine and vault, with a log collector, for supertest. */
import type { Express } from 'express';
import { createApp } from '../../api/app';
import type { ApiOptions } from '../../api/options';
import { createMetrics } from '../../api/metrics';
import { createLogger } from '../../observability';
import type { PaymentWorkflowInput } from '../../workflows/definitions';
import { CARDS } from '../support/cards';
import { FakeEngine, FakeVault } from './fake-engine';
import type { FakeEngineOptions } from './fake-engine';

export const API_KEY = 'sk_test_merchant_key_0123456789';
export const OTHER_API_KEY = 'sk_test_second_key_abcdefghij';
export const CALLBACK_SECRET_HEX = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
export const WEBHOOK_SECRET = 'whsec_test_secret_for_api_tests';
export const SUCCESS_URL = 'https://merchant.example.test/paid';
export const FAILURE_URL = 'https://merchant.example.test/failed';

export const auth = { Authorization: `Bearer ${API_KEY}` };

export interface TestApi {
  app: Express;
  engine: FakeEngine;
  vault: FakeVault;
  /** Every log line written, as text. */
  logs: string[];
  metrics: ReturnType<typeof createMetrics>;
}

export function makeApi(engineOptions: FakeEngineOptions = {}, overrides: Partial<ApiOptions> = {}): TestApi {
  const vault = new FakeVault();
  const engine = new FakeEngine(engineOptions, vault);
  const logs: string[] = [];
  const metrics = createMetrics();
  const app = createApp({
    engine,
    vault,
    apiKeys: [API_KEY, OTHER_API_KEY],
    callbackSecretHex: CALLBACK_SECRET_HEX,
    webhookSecret: WEBHOOK_SECRET,
    fingerprintKey: 'fingerprint-key-for-tests',
    publicBaseUrl: 'http://api.example.test',
    returnUrls: { success: SUCCESS_URL, failure: FAILURE_URL },
    logger: createLogger({
      name: 'api',
      level: 'debug',
      destination: { write: (line: string) => void logs.push(line) },
    }),
    metrics,
    timings: { startWaitMs: 1_000, actionWaitMs: 1_000, readyTimeoutMs: 200 },
    ...overrides,
  });
  return { app, engine, vault, logs, metrics };
}

/** The workflow input of a hosted-checkout payment the engine already runs (for `FakeEngine.seed`). */
export function seededInput(ref: string): PaymentWorkflowInput {
  return {
    merchantOrderReference: ref,
    amount: { value: 10_000, currency: 'INR' },
    preAuth: true,
    method: { kind: 'hosted_checkout' },
    callbackUrl: 'http://api.example.test/v1/callbacks/plural',
    failureCallbackUrl: 'http://api.example.test/v1/callbacks/plural',
  };
}

/** A valid card payment request. */
export function cardPayment(ref: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    merchant_order_reference: ref,
    amount: { value: 150_000, currency: 'INR' },
    pre_auth: true,
    card: { number: CARDS.nativeOtp, name: 'Asha Rao', expiry_month: '12', expiry_year: '2030', cvv: '123' },
    ...overrides,
  };
}

/** A signed-webhook body for an order event. */
export function orderWebhookBody(
  ref: string,
  orderId: string,
  status = 'AUTHORIZED',
  event = 'ORDER_AUTHORIZED',
): string {
  return JSON.stringify({
    event_type: event,
    data: {
      order_id: orderId,
      merchant_order_reference: ref,
      status,
      order_amount: { value: 150_000, currency: 'INR' },
      pre_auth: true,
      payments: [
        {
          id: `v1-pay-${ref}`,
          status,
          payment_amount: { value: 150_000, currency: 'INR' },
          payment_method: 'CARD',
        },
      ],
    },
  });
}
