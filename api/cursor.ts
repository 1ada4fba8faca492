/**
 * The list's opaque cursor: the engine's page token, signed so that a client can neither forge one nor carry one over
 * to other filters (a visibility page token is only valid for the query that returned it). A cursor is
 * `base64url(version ‖ MAC ‖ token)`, the MAC the first 16 bytes of an HMAC-SHA256 over the filters and the token.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { PaymentListFilters } from './engine';

const VERSION = 1;
const MAC_BYTES = 16;

/** Seals page tokens into cursors and opens them again. */
export interface CursorCodec {
  /** The cursor a client sends back for the page after this one. */
  seal(pageToken: Uint8Array, filters: PaymentListFilters): string;
  /** The page token, or undefined when the cursor was not sealed by this codec's key for these same filters. */
  open(cursor: string, filters: PaymentListFilters): Uint8Array | undefined;
}

/** The filters as one canonical string (statuses arrive deduplicated and in a fixed order). */
const canonical = (f: PaymentListFilters): string =>
  JSON.stringify([
    f.statuses ?? null,
    f.createdFrom?.toISOString() ?? null,
    f.createdTo?.toISOString() ?? null,
    f.referencePrefix ?? null,
  ]);

/**
 * A codec keyed from `secret` (the API's fingerprint key, which every instance shares and which survives restarts);
 * HKDF gives the cursor a key of its own, so a MAC made for one purpose is never valid for the other. Rotating the
 * secret invalidates outstanding cursors: the client starts again from the first page.
 */
export function createCursorCodec(secret: string): CursorCodec {
  const key = Buffer.from(hkdfSync('sha256', secret, '', 'plural-engine payment-list cursor v1', 32));
  const mac = (token: Uint8Array, filters: PaymentListFilters): Buffer =>
    createHmac('sha256', key)
      .update(`${VERSION}\n${canonical(filters)}\n`)
      .update(token)
      .digest()
      .subarray(0, MAC_BYTES);
  return {
    seal(pageToken, filters) {
      return Buffer.concat([Buffer.of(VERSION), mac(pageToken, filters), pageToken]).toString('base64url');
    },
    open(cursor, filters) {
      const bytes = Buffer.from(cursor, 'base64url');
      // Decoding is lenient (it skips what is not base64url): only a cursor that re-encodes to itself is ours.
      if (bytes.toString('base64url') !== cursor) return undefined;
      if (bytes.length <= 1 + MAC_BYTES || bytes[0] !== VERSION) return undefined;
      const token = bytes.subarray(1 + MAC_BYTES);
      return timingSafeEqual(bytes.subarray(1, 1 + MAC_BYTES), mac(token, filters)) ? new Uint8Array(token) : undefined;
    },
  };
}
