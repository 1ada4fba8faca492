/**
 * The dev stack's stand-in for the merchant's return page: the API's callback redirects the browser here with
 * `merchant_order_reference` and `status`, signed and short-lived (`api/return-link.ts`); the page shows the payment's
 * status as the engine reports it, and only to such a link: a guessed or edited reference shows nothing.
 *
 * Every answer is a page (errors included: never a stack or a file path), with the headers helmet sets for it.
 */
import express from 'express';
import type { ErrorRequestHandler, Response, Router } from 'express';
import { RETURN_LINK_REFUSAL } from '../api';
import type { PaymentEngine, PaymentRecord, ReturnLinks } from '../api';
import { staticPageHeaders } from '../api/page-headers';
import { REFERENCE_PATTERN } from '../api/schemas';
import type { AppLogger } from '../observability';
import { PAYMENT_STATUS } from '../workflows/definitions';
import type { PaymentStatus } from '../workflows/definitions';

/** Options of {@link createReturnPageRouter}. */
export interface ReturnPageOptions {
  /** The `default` merchant's payments (a link that names no merchant). */
  engine: PaymentEngine;
  /** Another merchant account's payments, for a link that names it (`merchant_id`); undefined: unknown merchant. */
  engineFor?: (merchantId: string) => PaymentEngine | undefined;
  /** Verifies the link's signature and expiry; the API's callback signs with the same (`ApiOptions.returnLinks`). */
  links: ReturnLinks;
  /**
   * The callback signals the workflow and redirects at once; wait up to this long for the signal's outcome so the
   * page shows the settled status rather than AWAITING_CHALLENGE. @default 5000
   */
  settleWaitMs?: number;
  /** @default 100 */
  pollIntervalMs?: number;
  /** Where a failed read is reported (the page itself says only that it failed). */
  logger?: AppLogger;
}

const WAITING: ReadonlySet<PaymentStatus> = new Set([
  PAYMENT_STATUS.CREATED,
  PAYMENT_STATUS.AWAITING_CHALLENGE,
  PAYMENT_STATUS.AWAITING_OTP,
]);

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const STYLE = `body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}
.status{font-size:1.6rem;font-weight:600}.muted{color:#666;font-size:.9rem}`;

/** The page needs its one inline style and nothing else; the link's query is kept from other sites. */
const pageHeaders = staticPageHeaders(STYLE);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head>
<body>${body}</body></html>`;
}

/** A page for an answer that shows no payment: a title and one sentence, nothing from the request. */
function sendMessage(res: Response, status: number, title: string, text: string): void {
  res
    .status(status)
    .type('html')
    .send(page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>`));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `GET /return` (mount under `/dev`); any other path under the mount answers a 404 page. */
export function createReturnPageRouter(options: ReturnPageOptions): Router {
  const settleWaitMs = options.settleWaitMs ?? 5_000;
  const pollIntervalMs = options.pollIntervalMs ?? 100;
  const router = express.Router();
  router.use(pageHeaders);
  router.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  /** The payment, once it has left the waiting statuses or `settleWaitMs` has passed. */
  async function settledRecord(engine: PaymentEngine, ref: string): Promise<PaymentRecord | undefined> {
    const deadline = Date.now() + settleWaitMs;
    let record = await engine.get(ref);
    while (record && WAITING.has(record.state.status) && Date.now() < deadline) {
      await sleep(pollIntervalMs);
      record = await engine.get(ref);
    }
    return record;
  }

  router.get('/return', async (req, res) => {
    const link = options.links.verify(req.query);
    if (!link.ok) {
      // Nothing is read for a link the callback did not make: the page cannot tell anyone about a payment.
      if (link.reason === RETURN_LINK_REFUSAL.EXPIRED) {
        sendMessage(res, 410, 'Link expired', "This link has expired. Ask the shop for the payment's status.");
      } else {
        sendMessage(res, 403, 'Invalid link', "This link is not valid. Ask the shop for the payment's status.");
      }
      return;
    }
    const ref = link.reference;
    const callbackStatus = link.status.slice(0, 40);
    if (!REFERENCE_PATTERN.test(ref)) {
      sendMessage(res, 400, 'Unknown payment', 'The link has no valid merchant_order_reference.');
      return;
    }
    // The signed link names the merchant of a payment on a page merchants share; none: the default merchant.
    const engine = link.merchantId === undefined ? options.engine : options.engineFor?.(link.merchantId);
    if (engine === undefined) {
      sendMessage(res, 404, 'Unknown payment', 'No such payment.');
      return;
    }
    let record: PaymentRecord | undefined;
    try {
      record = await settledRecord(engine, ref);
    } catch (err) {
      // The engine (Temporal) did not answer: say so, and try again later; the payment itself is unaffected.
      options.logger?.warn({ err }, 'return page: the payment could not be read');
      sendMessage(
        res,
        503,
        'Status unavailable',
        "The payment's status cannot be read right now. Reload this page in a moment.",
      );
      return;
    }
    if (!record) {
      sendMessage(res, 404, 'Unknown payment', 'No such payment.');
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

  router.use((_req, res) => {
    sendMessage(res, 404, 'Not found', 'There is no page here.');
  });

  // Express's own handler would answer with the stack and file paths outside production.
  const pageErrors: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    options.logger?.error({ err }, 'return page: unexpected error');
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      sendMessage(res, status, 'Bad request', 'This request cannot be answered.');
      return;
    }
    sendMessage(res, 500, 'Something went wrong', 'This page could not be shown. Try again later.');
  };
  router.use(pageErrors);
  return router;
}
