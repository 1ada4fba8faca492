import { createHmac } from 'node:crypto';

/**
 * Callback signature as in Plural's Java sample: HMAC-SHA256 keyed with the merchant secret decoded from HEX,
 * over `key=value` pairs of every field but `signature`, sorted by key, joined with `&`; uppercase hex.
 */
export function signCallback(fields: Readonly<Record<string, string>>, secretHex: string): string {
  const message = Object.keys(fields)
    .filter((key) => key !== 'signature')
    .sort()
    .map((key) => `${key}=${fields[key]}`)
    .join('&');
  return createHmac('sha256', Buffer.from(secretHex, 'hex')).update(message, 'utf8').digest('hex').toUpperCase();
}

/** Standard-Webhooks signature header value: `v1,<base64 HMAC-SHA256(secret bytes, id.timestamp.body)>`. */
export function signWebhook(webhookId: string, timestampSeconds: number, rawBody: string, secret: string): string {
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`${webhookId}.${timestampSeconds}.${rawBody}`, 'utf8')
    .digest('base64');
  return `v1,${mac}`;
}
