/**
 * Payment durations and limits from the environment. The workflow takes them as optional input, so the process that
 * starts workflows (the API) reads them here and passes them in; unset keys fall back to the workflow's own defaults
 * (`DEFAULT_DURATIONS` / `DEFAULT_LIMITS` in workflows/definitions/terms.ts).
 */
import { z } from 'zod';
import { DEFAULT_DURATIONS, DEFAULT_LIMITS } from '../workflows/definitions';
import type { PaymentDurations, PaymentLimits } from '../workflows/definitions';
import { CONFIG_KEYS as K } from './keys';
import { optionalInteger } from './fields';
import { parseEnv } from './load';
import type { Env } from './load';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const ms = (min: number, max: number) => optionalInteger({ min, max, unit: 'ms' });

/** Environment key of each duration, with its allowed range. */
const DURATION_KEYS = {
  otpWindowMs: [K.PAYMENT_OTP_WINDOW_MS, ms(MINUTE, DAY)],
  challengeWindowMs: [K.PAYMENT_CHALLENGE_WINDOW_MS, ms(MINUTE, DAY)],
  checkoutWindowMs: [K.PAYMENT_CHECKOUT_WINDOW_MS, ms(MINUTE, DAY)],
  reconcileInitialDelayMs: [K.PAYMENT_RECONCILE_INITIAL_DELAY_MS, ms(1_000, DAY)],
  reconcileMaxDelayMs: [K.PAYMENT_RECONCILE_MAX_DELAY_MS, ms(1_000, DAY)],
  closingReconcileMaxDelayMs: [K.PAYMENT_CLOSING_RECONCILE_MAX_DELAY_MS, ms(1_000, DAY)],
  autoCancelAfterMs: [K.PAYMENT_AUTO_CANCEL_AFTER_MS, ms(MINUTE, 7 * DAY)],
  authorizationLifetimeMs: [K.PAYMENT_AUTHORIZATION_LIFETIME_MS, ms(MINUTE, 30 * DAY)],
  refundWindowMs: [K.PAYMENT_REFUND_WINDOW_MS, ms(MINUTE, 400 * DAY)],
  refundReconcileMaxDelayMs: [K.PAYMENT_REFUND_RECONCILE_MAX_DELAY_MS, ms(1_000, 7 * DAY)],
} as const satisfies Record<keyof PaymentDurations, readonly [string, unknown]>;

const durationsSchema = z
  .object(Object.fromEntries(Object.values(DURATION_KEYS).map(([key, schema]) => [key, schema])))
  .superRefine((env, ctx) => {
    const get = (field: keyof PaymentDurations): number => env[DURATION_KEYS[field][0]] ?? DEFAULT_DURATIONS[field];
    if (get('reconcileInitialDelayMs') > get('reconcileMaxDelayMs')) {
      ctx.addIssue({
        code: 'custom',
        path: [K.PAYMENT_RECONCILE_INITIAL_DELAY_MS],
        message: `must not exceed ${K.PAYMENT_RECONCILE_MAX_DELAY_MS}`,
      });
    }
    if (get('autoCancelAfterMs') >= get('authorizationLifetimeMs')) {
      ctx.addIssue({
        code: 'custom',
        path: [K.PAYMENT_AUTO_CANCEL_AFTER_MS],
        message: `must be less than ${K.PAYMENT_AUTHORIZATION_LIFETIME_MS} so the authorization is cancelled before it expires`,
      });
    }
  });

/**
 * Reads the payment duration overrides: only keys that are set appear in the result (pass it as the workflow
 * input's `durations`).
 * @throws {ConfigError} listing every bad key.
 */
export function loadPaymentDurations(env: Env, processName = 'payment'): Partial<PaymentDurations> {
  const parsed = parseEnv(durationsSchema, env, processName);
  const out: Partial<PaymentDurations> = {};
  for (const field of Object.keys(DURATION_KEYS) as (keyof PaymentDurations)[]) {
    const key = DURATION_KEYS[field][0];
    const value = parsed[key];
    if (value !== undefined) out[field] = value;
  }
  return out;
}

/** Environment key of each limit the environment may set (the merchant webhooks' retry schedule), with its range. */
const LIMIT_KEYS = {
  webhookRetryInitialIntervalMs: [K.PAYMENT_WEBHOOK_RETRY_INITIAL_MS, ms(100, 60 * MINUTE)],
  webhookRetryMaximumIntervalMs: [K.PAYMENT_WEBHOOK_RETRY_MAX_MS, ms(100, DAY)],
  webhookDeliveryWindowMs: [K.PAYMENT_WEBHOOK_DELIVERY_WINDOW_MS, ms(MINUTE, 7 * DAY)],
} as const satisfies Partial<Record<keyof PaymentLimits, readonly [string, unknown]>>;
type LimitField = keyof typeof LIMIT_KEYS;

const limitsSchema = z
  .object(Object.fromEntries(Object.values(LIMIT_KEYS).map(([key, schema]) => [key, schema])))
  .superRefine((env, ctx) => {
    const get = (field: LimitField): number => env[LIMIT_KEYS[field][0]] ?? DEFAULT_LIMITS[field];
    if (get('webhookRetryInitialIntervalMs') > get('webhookRetryMaximumIntervalMs')) {
      ctx.addIssue({
        code: 'custom',
        path: [K.PAYMENT_WEBHOOK_RETRY_INITIAL_MS],
        message: `must not exceed ${K.PAYMENT_WEBHOOK_RETRY_MAX_MS}`,
      });
    }
  });

/**
 * Reads the payment limit overrides the environment may set: only keys that are set appear in the result (pass it as
 * the workflow input's `limits`).
 * @throws {ConfigError} listing every bad key.
 */
export function loadPaymentLimits(env: Env, processName = 'payment'): Partial<PaymentLimits> {
  const parsed = parseEnv(limitsSchema, env, processName);
  const out: Partial<PaymentLimits> = {};
  for (const field of Object.keys(LIMIT_KEYS) as LimitField[]) {
    const value = parsed[LIMIT_KEYS[field][0]];
    if (value !== undefined) out[field] = value;
  }
  return out;
}
