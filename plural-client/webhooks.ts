/**
 * Parsing of webhook bodies (after {@link verifyWebhook} has accepted the signature), so the API layer never
 * handles Plural's wire format itself.
 */
import { WEBHOOK_EVENT } from './constants';
import type { WebhookEvent } from './constants';
import { OrderSchema, WebhookPayloadSchema } from './schemas';
import type { Order } from './schemas';
import { formatIssues } from './errors';

const ORDER_EVENTS: ReadonlySet<string> = new Set(Object.values(WEBHOOK_EVENT));

/** A parsed webhook body. */
export type ParsedWebhook =
  /** An order, payment or refund event: `data` is the order exactly as the Orders API returns it. */
  | { ok: true; kind: 'order'; eventType: WebhookEvent; order: Order }
  /** Any other event (CUSTOMER_*, TOKEN_*, SUBSCRIPTION_*, or one Plural adds later): acknowledge and ignore. */
  | { ok: true; kind: 'other'; eventType: string; data: unknown }
  /** Not JSON, or a known event whose order does not match the schema; `message` is safe to return in a 400. */
  | { ok: false; message: string };

/** Parse a verified webhook body. Never throws; never echoes body values in `message`. */
export function parseWebhookBody(rawBody: string | Buffer): ParsedWebhook {
  let json: unknown;
  try {
    json = JSON.parse(typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8'));
  } catch {
    return { ok: false, message: 'webhook body is not JSON' };
  }
  const envelope = WebhookPayloadSchema.safeParse(json);
  if (!envelope.success) return { ok: false, message: 'webhook body has no event_type' };
  const eventType = envelope.data.event_type;
  if (!ORDER_EVENTS.has(eventType)) return { ok: true, kind: 'other', eventType, data: envelope.data.data };
  const order = OrderSchema.safeParse(envelope.data.data);
  if (!order.success) {
    const issues = order.error.issues.map((i) => ({
      path: ['data', ...i.path].map(String).join('.'),
      message: i.message,
    }));
    return { ok: false, message: `${eventType} webhook has an unexpected order: ${formatIssues(issues)}` };
  }
  return { ok: true, kind: 'order', eventType: eventType as WebhookEvent, order: order.data };
}
