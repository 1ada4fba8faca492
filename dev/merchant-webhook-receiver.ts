/**
 * The dev stack's stand-in for a merchant's backend: it receives the engine's merchant webhooks at
 * `POST /dev/merchant-webhooks`, verifies each with the endpoint's secret as a merchant would (`standardwebhooks`),
 * logs a line per delivery (`merchant webhook received`) and lists them at `GET /dev/merchant-webhooks` (a page, or
 * JSON with `?format=json`). Unverified deliveries are answered 401 and shown as such.
 */
import express from 'express';
import type { Router } from 'express';
import { verifyWebhook } from '../merchant-webhooks';
import type { AppLogger } from '../observability';

/** Options of {@link createWebhookReceiverRouter}. */
export interface WebhookReceiverOptions {
  /** The endpoint's `whsec_` secret (the same the worker signs with). */
  secret: string;
  logger?: AppLogger;
  /** Deliveries kept for the page, newest last. @default 200 */
  keep?: number;
}

/** One delivery as the receiver saw it. */
export interface ReceivedDelivery {
  receivedAt: string;
  webhookId: string | null;
  verified: boolean;
  /** Why it was refused, when it was. */
  reason: string | null;
  /** This `webhook-id` was received (and verified) before: a merchant would skip it. */
  duplicate: boolean;
  type: string | null;
  sequence: number | null;
  merchantOrderReference: string | null;
  status: string | null;
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const field = (o: unknown, key: string): unknown =>
  typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[key] : undefined;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function createWebhookReceiverRouter(options: WebhookReceiverOptions): Router {
  const keep = options.keep ?? 200;
  const deliveries: ReceivedDelivery[] = [];
  const seen = new Set<string>();
  const router = express.Router();

  router.post('/', express.text({ type: () => true, limit: '256kb' }), (req, res) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    const verified = verifyWebhook(options.secret, req.headers, raw);
    const payload = verified.ok ? verified.payload : undefined;
    const data = field(payload, 'data');
    const id = str(req.headers['webhook-id']);
    const delivery: ReceivedDelivery = {
      receivedAt: new Date().toISOString(),
      webhookId: id,
      verified: verified.ok,
      reason: verified.ok ? null : verified.reason,
      duplicate: verified.ok && seen.has(verified.id),
      type: str(field(payload, 'type')),
      sequence: typeof field(payload, 'sequence') === 'number' ? (field(payload, 'sequence') as number) : null,
      merchantOrderReference: str(field(data, 'merchant_order_reference')),
      status: str(field(data, 'status')),
    };
    if (verified.ok) seen.add(verified.id);
    deliveries.push(delivery);
    if (deliveries.length > keep) deliveries.shift();
    options.logger?.info(
      {
        webhookId: delivery.webhookId,
        type: delivery.type,
        sequence: delivery.sequence,
        reference: delivery.merchantOrderReference,
        verified: delivery.verified,
        duplicate: delivery.duplicate,
      },
      verified.ok ? 'merchant webhook received' : 'merchant webhook refused: signature not verified',
    );
    res.status(verified.ok ? 204 : 401).end();
  });

  router.get('/', (req, res) => {
    if (req.query.format === 'json') {
      res.json({ deliveries });
      return;
    }
    const rows = deliveries
      .map(
        (d) =>
          `<tr><td>${escapeHtml(d.receivedAt)}</td><td>${escapeHtml(d.merchantOrderReference ?? '')}</td>` +
          `<td>${d.sequence ?? ''}</td><td>${escapeHtml(d.type ?? '')}</td><td>${escapeHtml(d.status ?? '')}</td>` +
          `<td>${d.verified ? (d.duplicate ? 'verified (duplicate)' : 'verified') : `refused: ${escapeHtml(d.reason ?? '')}`}</td>` +
          `<td><code>${escapeHtml(d.webhookId ?? '')}</code></td></tr>`,
      )
      .join('\n');
    res
      .status(200)
      .set('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
      .set('cache-control', 'no-store')
      .type('html')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Merchant webhooks (dev)</title></head><body>
<h1>Merchant webhooks received</h1>
<p>${deliveries.length} deliveries, oldest first (JSON: <code>?format=json</code>).</p>
<table><thead><tr><th>received</th><th>order</th><th>#</th><th>type</th><th>status</th><th>signature</th><th>webhook-id</th></tr></thead>
<tbody>
${rows}
</tbody></table></body></html>`,
      );
  });
  return router;
}
