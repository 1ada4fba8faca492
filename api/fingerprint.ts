/**
 * Request fingerprints for idempotent payment creation: the same reference and body again answers 200, a different
 * body 409. Only an HMAC of the request *without* card secrets is stored (with the workflow), so the stored value
 * cannot be brute-forced back to a CVV or PAN: numbers and tokens are reduced to their last 4 digits and CVVs,
 * cryptograms and names are left out entirely.
 */
import { createHmac } from 'node:crypto';
import type { CreatePaymentRequest } from './schemas';

/** The request with card secrets replaced by what a merchant can see on a receipt. */
function cardFreeForm(body: CreatePaymentRequest): unknown {
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

/** JSON with object keys sorted at every level and `undefined` members dropped, so equal requests hash equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** `v1:` + hex HMAC-SHA256 of the card-free canonical request, keyed with the API's fingerprint key. */
export function requestFingerprint(body: CreatePaymentRequest, key: string): string {
  return `v1:${createHmac('sha256', key)
    .update(canonicalJson(cardFreeForm(body)))
    .digest('hex')}`;
}
