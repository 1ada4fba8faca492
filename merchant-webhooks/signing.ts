/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com) through the specification's own library,
 * `standardwebhooks`: `webhook-signature: v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`
 * with the endpoint's `whsec_<base64>` secret.
 */
import { randomBytes } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

/** The three headers of a signed delivery. */
export interface StandardWebhookHeaders {
  'webhook-id': string;
  /** Unix seconds of this attempt. */
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** `whsec_` followed by standard base64 of at least 24 bytes (the specification asks for 24 to 64). */
export const WEBHOOK_SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/;

/** A new endpoint secret: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** Signs `body` (the exact bytes sent) for one attempt at `at`. */
export function signWebhook(secret: string, id: string, at: Date, body: string): StandardWebhookHeaders {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  };
}

/** What {@link verifyWebhook} says: the parsed body, or why it was refused (never the secret). */
export type VerifyResult = { ok: true; id: string; payload: unknown } | { ok: false; reason: string };

/**
 * Verifies a delivery as a merchant would: the signature over the raw body, and a timestamp within 5 minutes of now
 * (the library's tolerance, against replays).
 */
export function verifyWebhook(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  rawBody: string,
): VerifyResult {
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (typeof value === 'string') flat[key.toLowerCase()] = value;
  }
  try {
    const payload = new Webhook(secret).verify(rawBody, flat);
    return { ok: true, id: flat['webhook-id'] ?? '', payload };
  } catch (err) {
    if (err instanceof WebhookVerificationError) return { ok: false, reason: err.message };
    if (err instanceof SyntaxError) return { ok: false, reason: 'body is not JSON' };
    throw err;
  }
}
