/**
 * Return URLs per payment: the merchant's page the customer's browser goes back to after Plural's pages. Two halves:
 * - **allowed hosts** ({@link checkReturnUrl}): a `return_url` is accepted only for a host (and port) the merchant
 *   configured, so the API is never an open redirect: `https:` only (`http:` for loopback hosts in development), no
 *   user info, no fragment, no backslash, whitespace or control character, at most {@link RETURN_URL_MAX_LENGTH}
 *   characters, and the host compared after WHATWG URL parsing (lower case, IDN as punycode, default port dropped);
 * - **a signed outcome** ({@link returnRedirectUrl}): the callback sends the browser there with
 *   `merchant_order_reference`, `status`, `timestamp` and `signature` = hex HMAC-SHA256, under the merchant's
 *   return-signing secret, of {@link returnSignatureCanonical}: `<timestamp>.<merchant_order_reference>.<status>`.
 *   No part can hold a `.` (a reference is letters, digits, `_`, `-`; a status capitals and `_`; a timestamp digits),
 *   so the string is unambiguous.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalHost, RETURN_SIGNING_SECRET_MIN_LENGTH } from '../config/fields';
import { DEFAULT_MERCHANT_ID } from '../workflows/definitions';

export { canonicalHost, DEFAULT_MERCHANT_ID, RETURN_SIGNING_SECRET_MIN_LENGTH };

/** Longest accepted `return_url`, characters (browsers and proxies handle far longer; the redirect adds ~150). */
export const RETURN_URL_MAX_LENGTH = 2048;

/** Error code of a refused `return_url`. */
export const RETURN_URL_NOT_ALLOWED = 'return_url_not_allowed';

/** The query parameters the callback adds to a payment's `return_url` (replacing any of the same name). */
export const RETURN_PARAM = {
  reference: 'merchant_order_reference',
  status: 'status',
  timestamp: 'timestamp',
  signature: 'signature',
} as const;

/** Where the allowed hosts and the return-signing secret of a merchant come from (configuration, per merchant). */
export interface ReturnUrlPolicy {
  /** The hosts (`host` or `host:port`, canonical form) a merchant's `return_url` may point at; empty: none. */
  returnUrlHostsFor(merchantId: string): readonly string[];
  /** The merchant's return-signing secret; undefined: the merchant takes no `return_url`. */
  returnSigningSecretFor(merchantId: string): string | undefined;
  /** `http:` is accepted for `localhost`, `127.0.0.1` and `[::1]` (development only; never in production mode). */
  allowHttpLoopback: boolean;
}

/** Where the policy finds each merchant's return hosts and signing secret (the merchant accounts). */
export interface ReturnUrlMerchants {
  returnUrlHostsFor(merchantId: string): readonly string[];
  returnSigningSecretFor(merchantId: string): string | undefined;
}

/** Options of {@link createReturnUrlPolicy}: the merchant accounts, or the hosts and secret of `default` alone. */
export interface ReturnUrlPolicyOptions {
  /** Every merchant's hosts and secret; when given, `hosts` and `signingSecret` are not used. */
  merchants?: ReturnUrlMerchants;
  /** `RETURN_URL_ALLOWED_HOSTS` of the default merchant. */
  hosts?: readonly string[];
  /** `RETURN_URL_SIGNING_SECRET` of the default merchant. */
  signingSecret?: string | undefined;
  /** @default false */
  allowHttpLoopback?: boolean;
}

/**
 * The return-URL policy of the merchant accounts (`options.merchants`), or of the single merchant
 * ({@link DEFAULT_MERCHANT_ID}) configured by `hosts` and `signingSecret`; a merchant without hosts has none allowed.
 */
export function createReturnUrlPolicy(options: ReturnUrlPolicyOptions): ReturnUrlPolicy {
  const allowHttpLoopback = options.allowHttpLoopback ?? false;
  const { merchants } = options;
  if (merchants) {
    // Hosts as the URL parser writes them (`shop.example:443` is `shop.example`), so that they compare as stored.
    const canonical = new Map<string, readonly string[]>();
    return {
      returnUrlHostsFor: (merchantId) => {
        let hosts = canonical.get(merchantId);
        if (hosts === undefined) {
          hosts = Object.freeze(
            merchants.returnUrlHostsFor(merchantId).flatMap((h) => {
              const c = canonicalHost(h);
              return c === undefined ? [] : [c];
            }),
          );
          canonical.set(merchantId, hosts);
        }
        return hosts;
      },
      returnSigningSecretFor: (merchantId) => merchants.returnSigningSecretFor(merchantId),
      allowHttpLoopback,
    };
  }
  const given = options.hosts ?? [];
  for (const host of given) {
    if (canonicalHost(host) !== host) {
      throw new TypeError(`createReturnUrlPolicy: ${JSON.stringify(host)} is not a host in canonical form`);
    }
  }
  if (options.signingSecret !== undefined && options.signingSecret.length < RETURN_SIGNING_SECRET_MIN_LENGTH) {
    throw new TypeError(
      `createReturnUrlPolicy: the signing secret must be at least ${RETURN_SIGNING_SECRET_MIN_LENGTH} characters`,
    );
  }
  const hosts = Object.freeze([...given]);
  return {
    returnUrlHostsFor: (merchantId) => (merchantId === DEFAULT_MERCHANT_ID ? hosts : []),
    returnSigningSecretFor: (merchantId) => (merchantId === DEFAULT_MERCHANT_ID ? options.signingSecret : undefined),
    allowHttpLoopback,
  };
}

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

export type ReturnUrlCheck = { ok: true; url: string } | { ok: false; message: string };

/**
 * Whether `raw` may be a payment's return URL for a merchant allowed `hosts`: the URL as it will be stored and
 * redirected to (normalized by the WHATWG parser), or why not (a message naming the rule, never the value).
 */
export function checkReturnUrl(
  raw: string,
  hosts: readonly string[],
  options: { allowHttpLoopback?: boolean } = {},
): ReturnUrlCheck {
  const refuse = (message: string): ReturnUrlCheck => ({ ok: false, message });
  if (raw.length > RETURN_URL_MAX_LENGTH) return refuse(`must be at most ${RETURN_URL_MAX_LENGTH} characters`);
  // Browsers read a backslash as a slash and drop tabs and newlines: what they would do is not guessed at, but refused.
  if (/[\\\s\p{Cc}\p{Cf}]/u.test(raw)) {
    return refuse('must not contain backslashes, whitespace or control characters');
  }
  // Absolute, with its two slashes: no scheme-relative `//host`, no `https:host`, no `javascript:` and the like.
  if (!/^https?:\/\/[^/]/i.test(raw)) return refuse('must be an absolute https:// URL');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('must be an absolute https:// URL');
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback && options.allowHttpLoopback === true)) {
    return refuse(
      options.allowHttpLoopback === true
        ? 'must be an https:// URL (http:// only for localhost, 127.0.0.1 or [::1])'
        : 'must be an https:// URL',
    );
  }
  // Also an empty one (`https://@host`): an `@` in the authority is always refused.
  const authority = /^https?:\/\/([^/?#]*)/i.exec(raw)?.[1] ?? '';
  if (url.username !== '' || url.password !== '' || authority.includes('@')) {
    return refuse('must not contain user information (user@host)');
  }
  if (url.hash !== '' || raw.includes('#')) return refuse('must not contain a fragment (#)');
  if (hosts.length === 0) return refuse('is not accepted: no return URL hosts are configured for this merchant');
  // For http: the port is compared as written for https (`host:port`); `localhost` alone means port 80 then.
  if (!hosts.includes(url.host)) {
    return refuse('must point at one of the hosts configured for this merchant (exact host and port)');
  }
  return { ok: true, url: url.href };
}

/** The string the return signature is computed over. */
export function returnSignatureCanonical(timestamp: string, reference: string, status: string): string {
  return `${timestamp}.${reference}.${status}`;
}

/** Hex HMAC-SHA256 of {@link returnSignatureCanonical} under `secret` (its UTF-8 bytes). */
export function returnSignature(secret: string, timestamp: string, reference: string, status: string): string {
  return createHmac('sha256', secret)
    .update(returnSignatureCanonical(timestamp, reference, status))
    .digest('hex');
}

/**
 * The browser's destination: `returnUrl` with the payment's reference and status, the time (Unix seconds) and the
 * signature set (any parameter of the same name in `returnUrl` replaced).
 */
export function returnRedirectUrl(
  returnUrl: string,
  outcome: { reference: string; status: string },
  secret: string,
  nowMs: number,
): string {
  const url = new URL(returnUrl);
  const timestamp = String(Math.floor(nowMs / 1000));
  url.searchParams.set(RETURN_PARAM.reference, outcome.reference);
  url.searchParams.set(RETURN_PARAM.status, outcome.status);
  url.searchParams.set(RETURN_PARAM.timestamp, timestamp);
  url.searchParams.set(RETURN_PARAM.signature, returnSignature(secret, timestamp, outcome.reference, outcome.status));
  return url.href;
}

export type ReturnVerification =
  | { ok: true; reference: string; status: string; timestamp: number }
  | { ok: false; reason: 'missing' | 'invalid_signature' | 'expired' };

/**
 * What a merchant's return page does (the README's snippet in TypeScript): the parameters are there once each, the
 * signature matches in constant time, and the timestamp is within `toleranceSeconds` of now.
 */
export function verifyReturn(
  query: URLSearchParams,
  secret: string,
  options: { nowMs?: number; toleranceSeconds?: number } = {},
): ReturnVerification {
  const one = (name: string): string | undefined => {
    const all = query.getAll(name);
    return all.length === 1 ? all[0] : undefined;
  };
  const reference = one(RETURN_PARAM.reference);
  const status = one(RETURN_PARAM.status);
  const timestamp = one(RETURN_PARAM.timestamp);
  const signature = one(RETURN_PARAM.signature);
  if (reference === undefined || status === undefined || timestamp === undefined || signature === undefined) {
    return { ok: false, reason: 'missing' };
  }
  if (!/^\d{1,12}$/.test(timestamp) || !/^[0-9a-f]{64}$/.test(signature))
    return { ok: false, reason: 'invalid_signature' };
  const expected = returnSignature(secret, timestamp, reference, status);
  if (!timingSafeEqual(Buffer.from(signature), Buffer.from(expected)))
    return { ok: false, reason: 'invalid_signature' };
  const nowSeconds = Math.floor((options.nowMs ?? Date.now()) / 1000);
  if (Math.abs(nowSeconds - Number(timestamp)) > (options.toleranceSeconds ?? 600)) {
    return { ok: false, reason: 'expired' };
  }
  return { ok: true, reference, status, timestamp: Number(timestamp) };
}
