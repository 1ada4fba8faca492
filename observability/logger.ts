/**
 * The one application logger: pino, JSON lines, with card data and secrets removed in three layers — the caller's
 * arguments are deep-scrubbed before pino sees them, pino's `redact` paths catch known shapes, and the finished line
 * is masked again for PAN-looking runs and known secret values.
 */
import pino from 'pino';
import type { DestinationStream, Logger, LoggerOptions } from 'pino';
import { REDACTED, scrub, scrubErrorForLog, scrubJsonLine, scrubString } from './scrub';

/** Log levels accepted by {@link createLogger} (pino's names). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The application logger type (a pino logger). */
export type AppLogger = Logger;

/**
 * pino `redact` paths for the usual shapes of card data and credentials. The deep scrub in the `logMethod` hook
 * already covers any depth; these keep the guarantee if a caller bypasses the hook (e.g. child bindings).
 */
export const REDACT_PATHS: readonly string[] = [
  'card_number',
  'cvv',
  'otp',
  'access_token',
  'client_secret',
  'token',
  'authorization',
  'card.number',
  'card.cvv',
  '*.card_number',
  '*.cardNumber',
  '*.pan',
  '*.cvv',
  '*.cvc',
  '*.otp',
  '*.token',
  '*.token_id',
  '*.cryptogram',
  '*.access_token',
  '*.accessToken',
  '*.refresh_token',
  '*.client_secret',
  '*.clientSecret',
  '*.password',
  '*.secret',
  '*.authorization',
  '*.Authorization',
  '*.card.number',
  '*.card.cvv',
  '*.card.name',
  '*.card_details.card_number',
  '*.card_details.cvv',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.headers.cookie',
  'merchant_metadata',
  'notes',
  'purchase_details',
  'device_info',
  '*.merchant_metadata',
  '*.merchantMetadata',
  '*.notes',
  '*.purchase_details',
  '*.billing_address',
  '*.billingAddress',
  '*.shipping_address',
  '*.shippingAddress',
  '*.device_info',
  '*.deviceInfo',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/** Options for {@link createLogger}. */
export interface CreateLoggerOptions {
  /** @default 'info' */
  level?: LogLevel;
  /** Added to every line as `name` (e.g. `worker`, `api`). */
  name?: string;
  /**
   * Exact secret values from configuration (client secret, webhook secret, vault token...) to mask wherever they
   * appear, even in free text. Values shorter than 6 characters are ignored.
   */
  knownSecrets?: readonly string[];
  /**
   * Where lines go; tests pass a stream that collects them.
   * @default stdout (pino's default destination)
   */
  destination?: DestinationStream;
  /** Bindings added to every line. @default pid and hostname */
  base?: Record<string, unknown>;
}

/** Creates the application logger. See the module comment for what is removed from every line. */
export function createLogger(options: CreateLoggerOptions = {}): AppLogger {
  const knownSecrets = (options.knownSecrets ?? []).filter((s) => s.length >= 6);
  const pinoOptions: LoggerOptions = {
    level: options.level ?? 'info',
    ...(options.name !== undefined ? { name: options.name } : {}),
    ...(options.base !== undefined ? { base: options.base } : {}),
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    serializers: {
      err: (err: unknown) => scrubErrorForLog(err, knownSecrets),
      error: (err: unknown) => scrubErrorForLog(err, knownSecrets),
    },
    formatters: {
      // Child bindings skip the logMethod hook, so scrub them here (called once per child).
      bindings: (bindings) => scrub(bindings, knownSecrets) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        const scrubbed: unknown[] = [];
        const [first, ...rest]: unknown[] = args;
        if (first instanceof Error) {
          scrubbed.push({ err: scrub(first, knownSecrets) });
          if (rest.length === 0) scrubbed.push(scrubString(first.message, knownSecrets));
        } else if (typeof first === 'string') {
          scrubbed.push(scrubString(first, knownSecrets));
        } else {
          scrubbed.push(scrub(first, knownSecrets));
        }
        for (const arg of rest)
          scrubbed.push(typeof arg === 'string' ? scrubString(arg, knownSecrets) : scrub(arg, knownSecrets));
        method.apply(this, scrubbed as Parameters<typeof method>);
      },
      streamWrite: (line) => scrubJsonLine(line, knownSecrets),
    },
  };
  const logger = options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
  // pino resets the bindings formatter for children; scrub child bindings here instead. Children inherit this
  // override through their prototype chain, so grandchildren are covered too.
  const pinoChild = (Object.getPrototypeOf(logger) as { child: (this: Logger, ...a: unknown[]) => Logger }).child;
  logger.child = function child(this: Logger, bindings: Record<string, unknown>, childOptions?: unknown): Logger {
    return pinoChild.call(this, scrub(bindings, knownSecrets), childOptions);
  } as unknown as Logger['child'];
  return logger;
}
