/**
 * Signed, short-lived links to the merchant's return page. The callback redirects the browser there with
 * `merchant_order_reference` and `status`; a signer adds `expires` (Unix seconds) and `signature` (HMAC-SHA256 over
 * the three, base64url), so the page can show a payment to the browser the callback sent there, for a while, and to
 * no one who merely guesses or edits a reference.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The query parameters of a return link. */
export const RETURN_LINK_PARAM = {
  reference: 'merchant_order_reference',
  status: 'status',
  /** The merchant account, on a page merchants share, for any merchant but `default` (references are per merchant). */
  merchant: 'merchant_id',
  expires: 'expires',
  signature: 'signature',
} as const;

/** Why a return link is refused. */
export const RETURN_LINK_REFUSAL = {
  /** No `expires` / `signature` (or a parameter repeated or malformed). */
  UNSIGNED: 'unsigned',
  /** The signature does not match the reference, status and expiry. */
  INVALID: 'invalid',
  /** Correctly signed, but past its expiry. */
  EXPIRED: 'expired',
} as const;
export type ReturnLinkRefusal = (typeof RETURN_LINK_REFUSAL)[keyof typeof RETURN_LINK_REFUSAL];

export type ReturnLinkCheck =
  | { ok: true; reference: string; status: string; merchantId: string | undefined }
  | { ok: false; reason: ReturnLinkRefusal };

/** Signs and verifies return links with one key. */
export interface ReturnLinks {
  /** Adds `expires` and `signature` to `url`, whose query already holds the reference, the status (and merchant). */
  sign(url: URL): void;
  /** The reference, status (and merchant) of a link {@link sign} made and that has not expired, or why not. */
  verify(query: Readonly<Record<string, unknown>>): ReturnLinkCheck;
}

/** Options of {@link createReturnLinks}. */
export interface ReturnLinkOptions {
  /** HMAC key, at least 32 bytes; whoever verifies needs the same key. */
  key: Uint8Array;
  /** How long a link works, from the callback's redirect. @default 600 */
  ttlSeconds?: number;
  /** Clock, ms since epoch. @default Date.now */
  now?: () => number;
}

const EXPIRES = /^\d{1,12}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

/** @throws TypeError when the key is shorter than 32 bytes or the lifetime is not a positive number */
export function createReturnLinks(options: ReturnLinkOptions): ReturnLinks {
  if (options.key.length < 32) throw new TypeError('createReturnLinks: key must be at least 32 bytes');
  const ttlSeconds = options.ttlSeconds ?? 600;
  if (!(ttlSeconds > 0)) throw new TypeError('createReturnLinks: ttlSeconds must be positive');
  const key = Buffer.from(options.key);
  const now = options.now ?? Date.now;
  // JSON of the values: no separator can be smuggled inside one of them. The merchant, when named, is signed too.
  const mac = (reference: string, status: string, expires: string, merchant: string | undefined): Buffer =>
    createHmac('sha256', key)
      .update(
        JSON.stringify(merchant === undefined ? [reference, status, expires] : [reference, status, expires, merchant]),
      )
      .digest();

  return {
    sign(url) {
      const reference = url.searchParams.get(RETURN_LINK_PARAM.reference) ?? '';
      const status = url.searchParams.get(RETURN_LINK_PARAM.status) ?? '';
      const merchant = url.searchParams.get(RETURN_LINK_PARAM.merchant) ?? undefined;
      const expires = String(Math.floor(now() / 1000) + Math.ceil(ttlSeconds));
      url.searchParams.set(RETURN_LINK_PARAM.expires, expires);
      url.searchParams.set(
        RETURN_LINK_PARAM.signature,
        mac(reference, status, expires, merchant).toString('base64url'),
      );
    },
    verify(query) {
      const { reference, status, expires, signature, merchant } = {
        reference: query[RETURN_LINK_PARAM.reference],
        status: query[RETURN_LINK_PARAM.status],
        expires: query[RETURN_LINK_PARAM.expires],
        signature: query[RETURN_LINK_PARAM.signature],
        merchant: query[RETURN_LINK_PARAM.merchant],
      };
      if (
        typeof reference !== 'string' ||
        typeof status !== 'string' ||
        typeof expires !== 'string' ||
        typeof signature !== 'string' ||
        (merchant !== undefined && typeof merchant !== 'string') ||
        !EXPIRES.test(expires) ||
        !SIGNATURE.test(signature)
      ) {
        return { ok: false, reason: RETURN_LINK_REFUSAL.UNSIGNED };
      }
      // Compared as text: of the encodings that decode to the same bytes, only the one `sign` wrote is accepted.
      const expected = mac(reference, status, expires, merchant).toString('base64url');
      if (!timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) {
        return { ok: false, reason: RETURN_LINK_REFUSAL.INVALID };
      }
      if (Number(expires) * 1000 <= now()) return { ok: false, reason: RETURN_LINK_REFUSAL.EXPIRED };
      return { ok: true, reference, status, merchantId: merchant };
    },
  };
}
