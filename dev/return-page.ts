/**
 * The dev stack's stand-in for the merchant's return page: the API's callback redirects the browser here with
 * `merchant_order_reference` and `status`; the page shows the payment's status as the engine reports it.
 */
import express from 'express';
import type { Router } from 'express';
import type { PaymentEngine } from '../api';
import { REFERENCE_PATTERN } from '../api/schemas';
import { PAYMENT_STATUS } from '../workflows/definitions';
import type { PaymentStatus } from '../workflows/definitions';

/** Options of {@link createReturnPageRouter}. */
export interface ReturnPageOptions {
  engine: PaymentEngine;
  /**
   * The callback signals the workflow and redirects at once; wait up to this long for the signal's outcome so the
   * page shows the settled status rather than AWAITING_CHALLENGE. @default 5000
   */
  settleWaitMs?: number;
  /** @default 100 */
  pollIntervalMs?: number;
}

const WAITING: ReadonlySet<PaymentStatus> = new Set([
  PAYMENT_STATUS.CREATED,
  PAYMENT_STATUS.AWAITING_CHALLENGE,
  PAYMENT_STATUS.AWAITING_OTP,
]);

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}
.status{font-size:1.6rem;font-weight:600}.muted{color:#666;font-size:.9rem}</style></head>
<body>${body}</body></html>`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `GET /return` (mount under `/dev`). */
export function createReturnPageRouter(options: ReturnPageOptions): Router {
  const settleWaitMs = options.settleWaitMs ?? 5_000;
  const pollIntervalMs = options.pollIntervalMs ?? 100;
  const router = express.Router();

  router.get('/return', async (req, res) => {
    const ref = req.query.merchant_order_reference;
    const callbackStatus = typeof req.query.status === 'string' ? req.query.status.slice(0, 40) : '';
    res.set('Cache-Control', 'no-store');
    if (typeof ref !== 'string' || !REFERENCE_PATTERN.test(ref)) {
      res
        .status(400)
        .type('html')
        .send(
          page('Unknown payment', '<h1>Unknown payment</h1><p>The link has no valid merchant_order_reference.</p>'),
        );
      return;
    }
    const deadline = Date.now() + settleWaitMs;
    let record = await options.engine.get(ref);
    while (record && WAITING.has(record.state.status) && Date.now() < deadline) {
      await sleep(pollIntervalMs);
      record = await options.engine.get(ref);
    }
    if (!record) {
      res
        .status(404)
        .type('html')
        .send(page('Unknown payment', `<h1>Unknown payment</h1><p>No payment ${escapeHtml(ref)}.</p>`));
      return;
    }
    const status = record.state.status;
    const ok = status === PAYMENT_STATUS.AUTHORIZED || status === PAYMENT_STATUS.PROCESSED;
    const failure = record.state.failure
      ? `<p id="failure">${escapeHtml(record.state.failure.code)}: ${escapeHtml(record.state.failure.message)}</p>`
      : '';
    res
      .status(200)
      .type('html')
      .send(
        page(
          `Payment ${status}`,
          `<h1>${ok ? 'Thank you!' : 'Payment not completed'}</h1>
<p>Order <code id="reference">${escapeHtml(ref)}</code></p>
<p class="status">Payment status: <span id="status">${escapeHtml(status)}</span></p>${failure}
<p class="muted">Plural reported <span id="callback-status">${escapeHtml(callbackStatus)}</span> on the callback.
This page stands in for the merchant's return page in the dev stack.</p>`,
        ),
      );
  });
  return router;
}
