/**
 * zod schemas for individual environment variables. Every message says what is expected and never echoes the value
 * (some values are secrets).
 */
import { z } from 'zod';
import { LOG_LEVELS } from '../observability/logger';

const required = (what: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? `is required (${what})` : `must be ${what}`;

/** A required non-empty string. */
export function requiredString(what: string, opts: { minLength?: number; maxLength?: number } = {}) {
  const min = opts.minLength ?? 1;
  const max = opts.maxLength ?? 4096;
  return z
    .string({ error: required(what) })
    .min(min, { error: `must be at least ${min} characters (${what})` })
    .max(max, { error: `must be at most ${max} characters` });
}

/**
 * A bearer token: printable ASCII without spaces (`\x21`-`\x7e`), as an `Authorization: Bearer` header carries it and
 * the routes that check one read it. A passphrase with a space would pass a length check and be refused at every call.
 */
export function bearerToken(what: string, opts: { minLength: number; maxLength?: number }) {
  return requiredString(what, opts).regex(/^[\x21-\x7e]+$/, {
    error: `must be printable ASCII without spaces (${what}, sent as a bearer token)`,
  });
}

/** An integer in `[min, max]`, with a default when unset. */
export function integer(opts: { min: number; max: number; default: number; unit?: string }) {
  return optionalInteger(opts).default(opts.default);
}

/** An optional integer in `[min, max]`. */
export function optionalInteger(opts: { min: number; max: number; unit?: string }) {
  const range = `an integer between ${opts.min} and ${opts.max}${opts.unit ? ` (${opts.unit})` : ''}`;
  return z
    .string({ error: `must be ${range}` })
    .regex(/^-?\d+$/, { error: `must be ${range}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(opts.min, { error: `must be ${range}` })
        .max(opts.max, { error: `must be ${range}` }),
    )
    .optional();
}

/** Whether `value` is an `http:` or `https:` URL without user name or password. */
function isHttpUrlWithoutCredentials(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

/** `text` held to be an `http:` or `https:` URL without credentials, trailing slashes removed. */
export function asHttpUrl(text: z.ZodString, what: string) {
  return text
    .refine(isHttpUrlWithoutCredentials, { error: `must be an http(s) URL without credentials (${what})` })
    .transform((value) => value.replace(/\/+$/, ''));
}

/** An `http:` or `https:` URL (trailing slashes removed): a base URL that paths are appended to. */
export function httpUrl(what: string) {
  return asHttpUrl(z.string({ error: required(`an http(s) URL, ${what}`) }), what);
}

/**
 * `text` held to be an `http:` or `https:` URL without credentials, kept exactly as written: a page or an endpoint,
 * whose path is the merchant's (`/hooks/payments/` and `/hooks/payments` can be two routes, and a redirect from one to
 * the other is not followed).
 */
export function asPageUrl(text: z.ZodString, what: string) {
  return text.refine(isHttpUrlWithoutCredentials, { error: `must be an http(s) URL without credentials (${what})` });
}

/** An `http:` or `https:` page or endpoint URL, kept as written (see {@link asPageUrl}). */
export function pageUrl(what: string) {
  return asPageUrl(z.string({ error: required(`an http(s) URL, ${what}`) }), what);
}

/** A listen address: a host name or an IP address (IPv6 bare or in brackets). */
export function listenHost(defaultValue: string) {
  return z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+|[0-9a-fA-F:]+)$/, { error: 'must be a host name or IP address' })
    .default(defaultValue);
}

/** `host:port` (IPv6 hosts in brackets). */
export function hostPort(defaultValue: string) {
  return z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: 'must be host:port, e.g. 127.0.0.1:7233' })
    .refine((v) => !/:\d+$/.test(v) || Number(v.slice(v.lastIndexOf(':') + 1)) <= 65_535, {
      error: 'must have a port of at most 65535',
    })
    .default(defaultValue);
}

/** A hex string of at least `minBytes` bytes (e.g. an HMAC key). */
export function hexSecret(what: string, minBytes: number) {
  return requiredString(what)
    .regex(/^(?:[0-9a-fA-F]{2})+$/, {
      error: `must be an even-length hex string of at least ${minBytes} bytes (${what})`,
    })
    .refine((v) => !/^(?:[0-9a-fA-F]{2})+$/.test(v) || v.length >= minBytes * 2, {
      error: `must be at least ${minBytes} bytes of hex (${what})`,
    });
}

/** pino log level. */
export const logLevel = z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info');

/** A Temporal namespace or task-queue name. */
export function temporalName(defaultValue: string) {
  return z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$/, { error: 'must be 1-255 letters, digits, ".", "_", ":" or "-"' })
    .default(defaultValue);
}

/** Shortest accepted return-signing secret (a merchant's `RETURN_URL_SIGNING_SECRET`), characters. */
export const RETURN_SIGNING_SECRET_MIN_LENGTH = 32;

/**
 * `host` or `host:port` as the WHATWG URL parser writes an `https:` URL's host (lower case, IDN as punycode, IPv6 in
 * brackets, port 443 dropped), or undefined when it is not one.
 */
export function canonicalHost(entry: string): string | undefined {
  if (!/^[A-Za-z0-9.:[\]-]{1,260}$/.test(entry)) return undefined;
  try {
    const url = new URL(`https://${entry}/`);
    return url.username === '' && url.password === '' && url.pathname === '/' ? url.host : undefined;
  } catch {
    return undefined;
  }
}
