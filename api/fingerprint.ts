/**
 * Request fingerprints for idempotent payment creation: the same reference and body again answers 200, a different
 * body 409. Only an HMAC of the request is stored (with the workflow), keyed with the API's fingerprint key, and the
 * text it is computed over never holds a card secret:
 *
 * - `v2:` (written now) identifies the card itself by a keyed hash of its full number (of the token for a saved
 *   card or a network token), computed in memory and kept nowhere, so the same reference with another card that
 *   happens to share the last 4 digits and the expiry is a conflicting repeat. CVVs, cryptograms, names and the
 *   browser's `device_info` (which a retry from another session may change) are left out.
 * - `v1:` (payments created before) reduced a card to its last 4 digits and expiry. A stored `v1:` fingerprint is
 *   still compared the `v1` way, so repeats of those payments keep answering as they did.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CreatePaymentRequest } from './schemas';

/** The request with card secrets replaced by what a merchant can see on a receipt (the `v1:` form). */
function v1Form(body: CreatePaymentRequest): unknown {
  return {
    merchant_order_reference: body.merchant_order_reference,
    amount: body.amount,
    pre_auth: body.pre_auth,
    card: body.card && {
      last4: body.card.number.slice(-4),
      expiry_month: body.card.expiry_month,
      expiry_year: body.card.expiry_year,
      save: body.card.save ?? false,
    },
    card_token: body.card_token && { token_id: body.card_token.token_id },
    network_token: body.network_token && {
      last4: body.network_token.last4,
      expiry_month: body.network_token.expiry_month,
      expiry_year: body.network_token.expiry_year,
    },
    points: body.points,
    hosted_checkout: body.hosted_checkout ?? false,
    customer: body.customer,
  };
}

/** Keyed hash of one card secret, domain-separated by what it is; never stored, only hashed again. */
function keyedHash(key: string, what: string, value: string): string {
  return createHmac('sha256', key).update(`${what}\u0000${value}`).digest('hex');
}

/** The `v2:` form: the `v1` form with each card identified by a keyed hash, plus the order's notes, metadata and return URL. */
function v2Form(body: CreatePaymentRequest, key: string): unknown {
  return {
    merchant_order_reference: body.merchant_order_reference,
    amount: body.amount,
    pre_auth: body.pre_auth,
    card: body.card && {
      number_hmac: keyedHash(key, 'card-number', body.card.number),
      last4: body.card.number.slice(-4),
      expiry_month: body.card.expiry_month,
      expiry_year: body.card.expiry_year,
      save: body.card.save ?? false,
    },
    card_token: body.card_token && { token_id_hmac: keyedHash(key, 'card-token', body.card_token.token_id) },
    network_token: body.network_token && {
      token_hmac: keyedHash(key, 'network-token', body.network_token.token),
      last4: body.network_token.last4,
      expiry_month: body.network_token.expiry_month,
      expiry_year: body.network_token.expiry_year,
    },
    points: body.points,
    hosted_checkout: body.hosted_checkout ?? false,
    customer: body.customer,
    notes: body.notes,
    merchant_metadata: body.merchant_metadata,
    // Absent (undefined, dropped) unless sent: fingerprints of requests without it are as before.
    return_url: body.return_url,
  };
}

/** Deepest nesting `canonicalJson` takes: far beyond any request the API accepts (its schemas nest four levels). */
export const MAX_CANONICAL_DEPTH = 64;

/** A value nested deeper than {@link MAX_CANONICAL_DEPTH}: no request the API takes, refused before hashing. */
export class NestedTooDeepError extends Error {
  override readonly name = 'NestedTooDeepError';
  constructor() {
    super(`the request body is nested more than ${MAX_CANONICAL_DEPTH} levels deep`);
  }
}

/**
 * JSON with object keys sorted at every level and `undefined` members dropped, so equal requests hash equally.
 * @throws {NestedTooDeepError} past {@link MAX_CANONICAL_DEPTH} levels (instead of exhausting the stack).
 */
export function canonicalJson(value: unknown, depth = 0): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (depth >= MAX_CANONICAL_DEPTH) throw new NestedTooDeepError();
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, depth + 1)}`).join(',')}}`;
}

const hmacHex = (key: string, text: string): string => createHmac('sha256', key).update(text).digest('hex');

/** The fingerprint stored with a new payment: `v2:` + hex HMAC-SHA256 of its canonical `v2` form. */
export function requestFingerprint(body: CreatePaymentRequest, key: string): string {
  return `v2:${hmacHex(key, canonicalJson(v2Form(body, key)))}`;
}

/** The `v1:` fingerprint of a request, to compare with payments created before `v2`. */
export function legacyRequestFingerprint(body: CreatePaymentRequest, key: string): string {
  return `v1:${hmacHex(key, canonicalJson(v1Form(body)))}`;
}

/**
 * Whether `body` is the request that created a payment whose stored fingerprint is `stored`, computed the way that
 * fingerprint was (`v2:` or `v1:`). False for a payment started elsewhere (no fingerprint) or an unknown version.
 */
export function fingerprintMatches(body: CreatePaymentRequest, key: string, stored: string | undefined): boolean {
  if (stored === undefined) return false;
  const computed = stored.startsWith('v2:')
    ? requestFingerprint(body, key)
    : stored.startsWith('v1:')
      ? legacyRequestFingerprint(body, key)
      : undefined;
  if (computed === undefined || computed.length !== stored.length) return false;
  return timingSafeEqual(Buffer.from(computed), Buffer.from(stored));
}

/**
 * The keyed hash of an OTP submitted for one payment (`otp1:` + 32 hex), which the submission carries so the
 * workflow can tell the same OTP sent again: keyed with the API's fingerprint key and the payment's workflow id, so
 * history holds nothing an OTP could be looked up by.
 */
export function otpDigestOf(key: string, workflowId: string, otp: string): string {
  return `otp1:${hmacHex(key, `otp\u0000${workflowId}\u0000${otp}`).slice(0, 32)}`;
}
