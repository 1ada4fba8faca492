import { z } from 'zod';
import { startSandbox } from './index';
import { faultConfigSchema, SandboxOptionsError } from './options';

/** `npm run sandbox`: starts the sandbox from environment variables (see README "Running"). */

const rate = z.coerce.number().min(0).max(1).optional();
const ms = z.coerce.number().int().min(0).optional();
const flag = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1')
  .optional();
const envSchema = z.object({
  SANDBOX_PORT: z.coerce.number().int().min(0).max(65_535).default(8090),
  SANDBOX_HOST: z.string().min(1).default('127.0.0.1'),
  SANDBOX_PUBLIC_URL: z.url().optional(),
  SANDBOX_CONTROL_TOKEN: z.string().min(16).optional(),
  SANDBOX_CLIENT_ID: z.string().min(1).optional(),
  SANDBOX_CLIENT_SECRET: z.string().min(1).optional(),
  SANDBOX_CALLBACK_SECRET_HEX: z
    .string()
    .regex(/^(?:[0-9a-fA-F]{2})+$/)
    .optional(),
  SANDBOX_WEBHOOK_SECRET: z.string().min(1).optional(),
  SANDBOX_WEBHOOK_URL: z.url().optional(),
  SANDBOX_WEBHOOK_ALLOWED_HOSTS: z.string().optional(),
  SANDBOX_WEBHOOK_RETRY_SCALE: z.coerce.number().min(0).optional(),
  SANDBOX_TOKEN_TTL_SECONDS: z.coerce.number().int().min(1).optional(),
  SANDBOX_LATENCY_MS: ms,
  SANDBOX_SEED: z.coerce.number().int().min(0).optional(),
  SANDBOX_CALLBACK_MODE: z.enum(['form_post', 'redirect']).optional(),
  SANDBOX_CALLBACK_STATUS_FIELD: z.enum(['payment_status', 'status']).optional(),
  SANDBOX_CHECKOUT_PRE_AUTH_OTHER_METHODS: z.enum(['drop', 'reject']).optional(),
  SANDBOX_OTP_MAX_ATTEMPTS: z.coerce.number().int().min(1).optional(),
  SANDBOX_OTP_RESEND_AFTER_SECONDS: z.coerce.number().int().min(0).optional(),
  SANDBOX_OTP_MAX_RESENDS: z.coerce.number().int().min(0).optional(),
  SANDBOX_MAX_PAYMENT_ATTEMPTS: z.coerce.number().int().min(1).optional(),
  SANDBOX_PAYMENT_TIMEOUT_SECONDS: z.coerce.number().positive().optional(),
  SANDBOX_ORDER_EXPIRY_SECONDS: z.coerce.number().min(0).optional(),
  SANDBOX_REFUND_PENDING_MS: ms,
  SANDBOX_SALE_THROUGH_AUTHORIZED: flag,
  SANDBOX_SALE_SETTLE_DELAY_MS: ms,
  SANDBOX_FAULT_ERROR_RATE: rate,
  SANDBOX_FAULT_ERROR_AFTER_COMMIT_RATE: rate,
  SANDBOX_FAULT_RATE_LIMIT_RATE: rate,
  SANDBOX_FAULT_TIMEOUT_RATE: rate,
  SANDBOX_FAULT_TIMEOUT_AFTER_COMMIT_RATE: rate,
  SANDBOX_FAULT_LATENCY_MS: ms,
  SANDBOX_FAULT_LATENCY_JITTER_MS: ms,
  SANDBOX_FAULT_PATHS: z.string().optional(),
  SANDBOX_FAULT_WEBHOOK_DROP_RATE: rate,
  SANDBOX_FAULT_WEBHOOK_DUPLICATE_RATE: rate,
  SANDBOX_FAULT_WEBHOOK_REORDER_RATE: rate,
  SANDBOX_FAULT_WEBHOOK_DELAY_RATE: rate,
  SANDBOX_FAULT_WEBHOOK_DELAY_MS: ms,
});

/** The entries of `o` that are set (an unset variable must not override a default). */
function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

async function main(): Promise<void> {
  const parsed = envSchema.safeParse(process.env);
  if (!parsed.success) {
    process.stderr.write(`plural-sandbox: bad environment:\n${z.prettifyError(parsed.error)}\n`);
    process.exit(2);
  }
  const env = parsed.data;
  const faultSettings = faultConfigSchema.partial().safeParse(
    Object.fromEntries(
      Object.entries({
        errorRate: env.SANDBOX_FAULT_ERROR_RATE,
        errorAfterCommitRate: env.SANDBOX_FAULT_ERROR_AFTER_COMMIT_RATE,
        rateLimitRate: env.SANDBOX_FAULT_RATE_LIMIT_RATE,
        timeoutRate: env.SANDBOX_FAULT_TIMEOUT_RATE,
        timeoutAfterCommitRate: env.SANDBOX_FAULT_TIMEOUT_AFTER_COMMIT_RATE,
        latencyMs: env.SANDBOX_FAULT_LATENCY_MS,
        latencyJitterMs: env.SANDBOX_FAULT_LATENCY_JITTER_MS,
        paths: env.SANDBOX_FAULT_PATHS?.split(',').filter((p) => p.length > 0),
        webhookDropRate: env.SANDBOX_FAULT_WEBHOOK_DROP_RATE,
        webhookDuplicateRate: env.SANDBOX_FAULT_WEBHOOK_DUPLICATE_RATE,
        webhookReorderRate: env.SANDBOX_FAULT_WEBHOOK_REORDER_RATE,
        webhookDelayRate: env.SANDBOX_FAULT_WEBHOOK_DELAY_RATE,
        webhookDelayMs: env.SANDBOX_FAULT_WEBHOOK_DELAY_MS,
      }).filter(([, v]) => v !== undefined),
    ),
  );
  if (!faultSettings.success) {
    // The same limits as the control API's PUT /_sandbox/faults (latencies at most 600000 ms, say): named, no stack.
    process.stderr.write(
      `plural-sandbox: bad SANDBOX_FAULT_* environment (fault field names):\n${z.prettifyError(faultSettings.error)}\n`,
    );
    process.exit(2);
  }
  const faults = faultSettings.data;
  const sandbox = await startSandbox({
    port: env.SANDBOX_PORT,
    host: env.SANDBOX_HOST,
    publicUrl: env.SANDBOX_PUBLIC_URL,
    controlToken: env.SANDBOX_CONTROL_TOKEN,
    clientId: env.SANDBOX_CLIENT_ID,
    clientSecret: env.SANDBOX_CLIENT_SECRET,
    callbackSecretHex: env.SANDBOX_CALLBACK_SECRET_HEX,
    webhookSecret: env.SANDBOX_WEBHOOK_SECRET,
    webhookUrl: env.SANDBOX_WEBHOOK_URL,
    webhookAllowedHosts: env.SANDBOX_WEBHOOK_ALLOWED_HOSTS?.split(',').filter((h) => h.trim().length > 0),
    webhookRetryScale: env.SANDBOX_WEBHOOK_RETRY_SCALE,
    tokenTtlSeconds: env.SANDBOX_TOKEN_TTL_SECONDS,
    latencyMs: env.SANDBOX_LATENCY_MS,
    seed: env.SANDBOX_SEED,
    callbackMode: env.SANDBOX_CALLBACK_MODE,
    callbackStatusField: env.SANDBOX_CALLBACK_STATUS_FIELD,
    checkoutPreAuthOtherMethods: env.SANDBOX_CHECKOUT_PRE_AUTH_OTHER_METHODS,
    otp: defined({
      maxAttempts: env.SANDBOX_OTP_MAX_ATTEMPTS,
      resendAfterSeconds: env.SANDBOX_OTP_RESEND_AFTER_SECONDS,
      maxResends: env.SANDBOX_OTP_MAX_RESENDS,
    }),
    maxPaymentAttempts: env.SANDBOX_MAX_PAYMENT_ATTEMPTS,
    paymentTimeoutSeconds: env.SANDBOX_PAYMENT_TIMEOUT_SECONDS,
    orderExpirySeconds: env.SANDBOX_ORDER_EXPIRY_SECONDS,
    refundPendingMs: env.SANDBOX_REFUND_PENDING_MS,
    saleSettlement: defined({
      throughAuthorized: env.SANDBOX_SALE_THROUGH_AUTHORIZED,
      delayMs: env.SANDBOX_SALE_SETTLE_DELAY_MS,
    }),
    faults,
  });
  const shutdown = (): void => {
    void sandbox.stop().then(() => process.exit(0));
  };
  // Before the start-up lines: whoever reads them may signal at once.
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  // Configured secrets are not printed: where to find the sandbox, whether webhooks go anywhere, and the control
  // token only when it was made here (the tester has no other way to learn it).
  process.stdout.write(
    `plural-sandbox listening on ${sandbox.baseUrl} (bound to ${sandbox.host}; webhooks: ${env.SANDBOX_WEBHOOK_URL ? 'on' : 'off'})\n`,
  );
  process.stdout.write(
    env.SANDBOX_CONTROL_TOKEN === undefined
      ? `control API token (made at start): ${sandbox.controlToken}\n`
      : 'control API token: SANDBOX_CONTROL_TOKEN\n',
  );
}

main().catch((err: unknown) => {
  // An option that cannot work is the operator's to fix: one line naming it, no stack.
  if (err instanceof SandboxOptionsError) {
    process.stderr.write(`plural-sandbox: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
});
