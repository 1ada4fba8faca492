/**
 * Plural signatures: the redirect/callback signature (HMAC-SHA256 over sorted `key=value` pairs, hex secret,
 * uppercase hex digest, as the guides' Java sample) and webhook signatures (Standard-Webhooks style headers,
 * HMAC-SHA256 with the secret's raw bytes over `id.timestamp.rawBody`, base64). Verification is constant-time.
 * The signing functions exist for the sandbox and tests.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

// ---------------------------------------------------------------------------------------------------------------
// Callback (return URL) signature
// ---------------------------------------------------------------------------------------------------------------

/** Fields posted to the merchant's return URL; every field except `signature` is signed. */
export type CallbackFields = Readonly<Record<string, string>>;

/**
 * The string Plural signs: every field but `signature`, as `key=value`, sorted by key (ascending, by UTF-16 code
 * unit like Java's `String.compareTo`) and joined with `&`. Values are used as received, not URL-encoded.
 */
export function callbackSigningString(fields: CallbackFields): string {
  return Object.keys(fields)
    .filter((k) => k !== 'signature')
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((k) => `${k}=${fields[k]}`)
    .join('&');
}

/** Decode the merchant's hex secret to key bytes; throws (without echoing the secret) when it is not hex. */
function hexSecretBytes(hexSecret: string): Buffer {
  if (hexSecret.length === 0 || hexSecret.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hexSecret)) {
    throw new TypeError('Plural callback secret must be a non-empty, even-length hex string');
  }
  return Buffer.from(hexSecret, 'hex');
}

function callbackDigest(fields: CallbackFields, hexSecret: string): Buffer {
  return createHmac('sha256', hexSecretBytes(hexSecret)).update(callbackSigningString(fields), 'utf8').digest();
}

/** Sign callback fields: uppercase hex HMAC-SHA256 keyed with the hex-decoded secret. */
export function signCallback(fields: CallbackFields, hexSecret: string): string {
  return callbackDigest(fields, hexSecret).toString('hex').toUpperCase();
}

/**
 * Verify the `signature` field of a callback, in constant time. Hex case is ignored (Plural's sample uppercases,
 * its documented examples are lowercase). Returns false for a missing or malformed signature.
 * @throws {TypeError} when `hexSecret` is not a hex string (a configuration error, not a bad callback)
 */
export function verifyCallbackSignature(fields: CallbackFields, hexSecret: string): boolean {
  const expected = callbackDigest(fields, hexSecret);
  const given = fields.signature;
  if (typeof given !== 'string' || !/^[0-9a-fA-F]{64}$/.test(given)) return false;
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}

// ---------------------------------------------------------------------------------------------------------------
// Webhook signature
// ---------------------------------------------------------------------------------------------------------------

/** Default replay window for webhook timestamps, in seconds (Plural's Magento plugin uses 300). */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/** The webhook headers, as Node delivers them (`IncomingHttpHeaders`) or as a plain record; names are case-insensitive. */
export type WebhookHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Input to {@link signWebhook}. */
export interface WebhookSignInput {
  /** `webhook-id` (stable across resends). */
  id: string;
  /** `webhook-timestamp`, unix seconds. */
  timestamp: number;
  /** The exact body bytes that will be sent. */
  body: string | Buffer;
  /** The webhook secret; its raw UTF-8 bytes are the HMAC key. */
  secret: string;
}

function webhookDigest(id: string, timestamp: string, body: string | Buffer, secret: string): Buffer {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`${id}.${timestamp}.`, 'utf8')
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest();
}

/** Sign a webhook: returns the `webhook-signature` header value, `v1,<base64 HMAC-SHA256>`. */
export function signWebhook(input: WebhookSignInput): string {
  return `v1,${webhookDigest(input.id, String(input.timestamp), input.body, input.secret).toString('base64')}`;
}

/** Headers for a signed webhook delivery (for the sandbox and tests). */
export function webhookHeaders(input: WebhookSignInput): Record<string, string> {
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(input.timestamp),
    'webhook-signature': signWebhook(input),
  };
}

/** Why a webhook failed verification (safe to log and to return in a 4xx body). */
export const WEBHOOK_VERIFICATION_FAILURE = {
  MISSING_HEADERS: 'missing_headers',
  INVALID_TIMESTAMP: 'invalid_timestamp',
  TIMESTAMP_TOO_OLD: 'timestamp_too_old',
  TIMESTAMP_TOO_NEW: 'timestamp_too_new',
  /** A `v1,` entry that is not exactly the canonical base64 of one HMAC-SHA256 (trailing bytes, junk, bad padding). */
  MALFORMED_SIGNATURE: 'malformed_signature',
  NO_MATCHING_SIGNATURE: 'no_matching_signature',
} as const;
export type WebhookVerificationFailure =
  (typeof WEBHOOK_VERIFICATION_FAILURE)[keyof typeof WEBHOOK_VERIFICATION_FAILURE];

/** Result of {@link verifyWebhook}. */
export type WebhookVerificationResult =
  { ok: true; id: string; timestamp: number } | { ok: false; reason: WebhookVerificationFailure };

/** Input to {@link verifyWebhook}. */
export interface WebhookVerifyInput {
  headers: WebhookHeaders;
  /** The body exactly as received (before any JSON parsing). */
  rawBody: string | Buffer;
  secret: string;
  /** Current time in unix seconds. @default Math.floor(Date.now() / 1000) */
  nowSeconds?: number;
  /** Accepted clock difference in seconds, both directions. @default 300 */
  toleranceSeconds?: number;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== name) continue;
    const value = Array.isArray(v) ? (v as readonly string[]).join(' ') : (v as string | undefined);
    return value === undefined || value === '' ? undefined : value;
  }
  return undefined;
}

/**
 * Verify a webhook delivery: `webhook-id`, `webhook-timestamp` within the tolerance, and at least one `v1,<base64>`
 * entry of the space-separated `webhook-signature` matching HMAC-SHA256(secret, `id.timestamp.rawBody`). An entry
 * must be the canonical base64 of the 32-byte digest and nothing else: no trailing bytes, junk or missing padding.
 * Comparison is constant-time. Never throws for a bad delivery; returns the reason instead.
 */
export function verifyWebhook(input: WebhookVerifyInput): WebhookVerificationResult {
  const id = header(input.headers, 'webhook-id');
  const ts = header(input.headers, 'webhook-timestamp');
  const sigHeader = header(input.headers, 'webhook-signature');
  if (id === undefined || ts === undefined || sigHeader === undefined) {
    return { ok: false, reason: WEBHOOK_VERIFICATION_FAILURE.MISSING_HEADERS };
  }
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: WEBHOOK_VERIFICATION_FAILURE.INVALID_TIMESTAMP };
  const timestamp = Number(ts);
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = input.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS;
  if (timestamp < now - tolerance) return { ok: false, reason: WEBHOOK_VERIFICATION_FAILURE.TIMESTAMP_TOO_OLD };
  if (timestamp > now + tolerance) return { ok: false, reason: WEBHOOK_VERIFICATION_FAILURE.TIMESTAMP_TOO_NEW };

  const expected = webhookDigest(id, ts, input.rawBody, input.secret);
  let matched = false;
  let malformed = false;
  for (const entry of sigHeader.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const given = strictDigest(entry.slice(comma + 1));
    if (given === undefined) {
      malformed = true;
      continue;
    }
    // Check every entry (no early exit) so timing does not reveal which one matched.
    if (timingSafeEqual(given, expected)) matched = true;
  }
  if (matched) return { ok: true, id, timestamp };
  return {
    ok: false,
    reason: malformed
      ? WEBHOOK_VERIFICATION_FAILURE.MALFORMED_SIGNATURE
      : WEBHOOK_VERIFICATION_FAILURE.NO_MATCHING_SIGNATURE,
  };
}

/** Bytes of one HMAC-SHA256. */
const DIGEST_BYTES = 32;

/**
 * The digest a `v1,` entry carries, or undefined unless the entry is exactly the canonical base64 of 32 bytes.
 * Node's base64 decoder is lenient (it skips junk, stops at `=`, accepts the URL-safe alphabet and missing padding),
 * so `v1,<valid>!!` or `v1,<valid>=junk` would decode to the valid digest: re-encoding and comparing refuses them.
 */
function strictDigest(encoded: string): Buffer | undefined {
  const decoded = Buffer.from(encoded, 'base64');
  return decoded.length === DIGEST_BYTES && decoded.toString('base64') === encoded ? decoded : undefined;
}
