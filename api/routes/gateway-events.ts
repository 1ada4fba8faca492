/**
 * Plural's events: the browser callback (HMAC over the fields) and the webhook (Standard Webhooks signature). Both are
 * verified here and delivered to the payment as Signals (fire-and-forget); the workflow confirms each with Get Order
 * before anything moves, so even a validly signed forgery cannot mark a payment paid. A callback already delivered,
 * or one for a payment older than a customer could still be paying, is not delivered (callback-replays.ts).
 */
import express, { Router } from 'express';
import type { Request, RequestHandler, Response } from 'express';
import {
  parseCallback,
  parseWebhookBody,
  verifyCallbackSignature,
  verifyWebhook,
  WEBHOOK_TOLERANCE_SECONDS,
} from '../../plural-client';
import { DEFAULT_MERCHANT_ID, paymentWorkflowId } from '../../workflows/definitions';
import { webhookSignalProblem } from '../../workflows/signal-guards';
import type { MerchantAccount } from '../../config/merchants';
import { callbackMaxAgeMs, SeenCallbacks } from '../callback-replays';
import { EngineUnavailableError } from '../engine';
import type { CallbackDeliveryOutcome } from '../engine';
import { badRequest, notFound, signatureRejected } from '../errors';
import { callbackSignalOf, webhookSignalOf } from '../gateway-events';
import { methodNotAllowed } from '../http';
import { RETURN_LINK_PARAM } from '../return-link';
import { checkReturnUrl, returnRedirectUrl } from '../return-url';
import { REFERENCE_PATTERN } from '../schemas';
import type { RouteContext } from './context';

/** Seconds the customer's page asks to wait before a reload when the engine cannot take the callback. */
const RELOAD_AFTER_SECONDS = 5;
/** That page: static text only (nothing of the request is echoed). */
const RELOAD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Confirming your payment</title></head>
<body><h1>We are confirming your payment</h1>
<p>We could not record your payment's result just now. Please reload this page in a few seconds (and confirm sending
the form again if your browser asks): you will not be charged twice.</p></body></html>
`;

/** Statuses (Plural's in a callback, or the engine's) that send the customer to the success page. */
const SUCCESS_STATUSES: ReadonlySet<string> = new Set(['AUTHORIZED', 'PROCESSING', 'PROCESSED']);

/** The status a callback carrying an `error_code` claims on the return page, whatever its status field says. */
const CALLBACK_FAILED = 'FAILED';

/**
 * The status the customer's return page shows: the engine's once it has confirmed the result, else the callback's
 * claim — a failure when the callback carries an `error_code`, whatever its status says (Plural's guides show a
 * failure callback with `AUTHORIZED` and `USER_AUTHENTICATION_REQUIRED`).
 */
export function returnPageStatus(
  engineStatus: string | undefined,
  callback: { status: string; errorCode?: string },
): string {
  if (engineStatus !== undefined && !AWAITING_STATUSES.has(engineStatus)) return engineStatus;
  return callback.errorCode !== undefined && callback.errorCode.trim() !== '' ? CALLBACK_FAILED : callback.status;
}

/** Statuses a payment leaves once the workflow has confirmed the customer's result with Plural. */
const AWAITING_STATUSES: ReadonlySet<string> = new Set(['CREATED', 'AWAITING_OTP', 'AWAITING_CHALLENGE']);
/** How often the callback reads the payment while waiting for it to leave {@link AWAITING_STATUSES}, ms. */
const RETURN_STATUS_POLL_MS = 150;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A callback field's name: Plural's are plain identifiers (`order_id`, `payment_status`, `error_code`…). One holding
 * `=` or `&` would make the signed `key=value&…` string ambiguous: a genuine callback's fields could be regrouped under
 * the same signature (an `error_code` folded into another field's name), so such a callback is malformed.
 */
const CALLBACK_FIELD_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The callback's fields as a flat string record, or undefined when a field repeats, nests or is oddly named. */
function callbackFields(source: unknown): Record<string, string> | undefined {
  if (source === null || typeof source !== 'object') return undefined;
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(source as Record<string, unknown>)) {
    if (typeof v !== 'string' || !CALLBACK_FIELD_NAME.test(k)) return undefined;
    fields[k] = v;
  }
  return fields;
}

/**
 * Where Plural sends a merchant's browser callbacks: the path carries the merchant, whose callback secret verifies
 * them (the callback URL is given to Plural with each order). The default merchant keeps `/v1/callbacks/plural`.
 */
export function pluralCallbackPath(merchantId: string): string {
  return merchantId === DEFAULT_MERCHANT_ID ? '/v1/callbacks/plural' : `/v1/callbacks/plural/${merchantId}`;
}

/**
 * Where a merchant's Plural account sends its webhooks (set in that account's Plural dashboard): the path carries the
 * merchant, whose webhook secret verifies them. The default merchant keeps `/v1/webhooks/plural`.
 */
export function pluralWebhookPath(merchantId: string): string {
  return merchantId === DEFAULT_MERCHANT_ID ? '/v1/webhooks/plural' : `/v1/webhooks/plural/${merchantId}`;
}

export function gatewayEventRoutes(ctx: RouteContext): Router {
  const { options, metrics, logger } = ctx;
  const router = Router();

  /**
   * The merchant a callback or webhook path names (`res.locals.merchantId`, so the delivery reaches its payments only),
   * or a 404 as for any unknown route: the event is verified with this merchant's secret, never another's.
   */
  function merchantOfPath(req: Request, res: Response): MerchantAccount {
    const given = req.params.merchant_id;
    const merchant = ctx.merchants.get(typeof given === 'string' ? given : DEFAULT_MERCHANT_ID);
    if (!merchant) throw notFound('route_not_found', `no such route for ${req.method}; see /openapi.json`);
    res.locals.merchantId = merchant.id;
    return merchant;
  }
  const maxAgeMs = options.callbackMaxAgeMs ?? callbackMaxAgeMs(options.paymentDurations);
  const seenCallbacks = new SeenCallbacks(maxAgeMs);
  const returnStatusWaitMs = options.returnStatusWaitMs ?? 3_000;

  /**
   * The payment as the customer's return should show it: read after the workflow has had `returnStatusWaitMs` to
   * confirm a freshly delivered callback with Get Order (while it still awaits the customer), and read as it is for a
   * repeat, a stale callback or an ended payment. Undefined when it cannot be read.
   */
  async function settledPayment(res: Response, reference: string, delivered: boolean) {
    const read = async () => {
      try {
        return await ctx.engineOf(res).get(reference);
      } catch (err) {
        logger.warn({ err, route: 'callback' }, 'could not read the payment for its return');
        return undefined;
      }
    };
    // The wait counts the reads too (with no worker each one takes the query's timeout), and ends at a stale read:
    // answered from the memo, nothing will confirm the callback meanwhile.
    const until = performance.now() + returnStatusWaitMs;
    let record = await read();
    while (
      record &&
      delivered &&
      record.stale !== true &&
      AWAITING_STATUSES.has(record.state.status) &&
      performance.now() + RETURN_STATUS_POLL_MS < until
    ) {
      await sleep(RETURN_STATUS_POLL_MS);
      record = (await read()) ?? record;
    }
    return record;
  }

  /**
   * The payment's own `return_url`, signed, or undefined for the configured return pages. The `status` signed is the
   * engine's, never the callback's claim ({@link settledPayment}). So a replayed callback of an authorization since
   * cancelled redirects with CANCELLED, and an unconfirmed one with the awaiting status.
   */
  function merchantReturn(
    merchantId: string,
    reference: string,
    record: Awaited<ReturnType<typeof settledPayment>>,
  ): string | undefined {
    const policy = options.returnUrlPolicy;
    const returnUrl = record?.state.returnUrl;
    if (!policy || record === undefined || returnUrl === undefined) return undefined;
    const secret = policy.returnSigningSecretFor(merchantId);
    // Checked again: a host the merchant has removed since the payment started is not redirected to.
    const checked = checkReturnUrl(returnUrl, policy.returnUrlHostsFor(merchantId), {
      allowHttpLoopback: policy.allowHttpLoopback,
    });
    if (secret === undefined || !checked.ok) {
      logger.warn({ route: 'callback' }, "the payment's return_url is no longer allowed: using the return page");
      return undefined;
    }
    return returnRedirectUrl(checked.url, { reference, status: record.state.status }, secret, ctx.now());
  }

  const callbackHandler: RequestHandler = async (req, res) => {
    const merchant = merchantOfPath(req, res);
    const body = req.body as unknown;
    const fromBody = req.method === 'POST' && body !== null && typeof body === 'object' && Object.keys(body).length > 0;
    const fields = callbackFields(fromBody ? body : req.query);
    if (!fields?.signature) {
      metrics.signatureFailures.inc({ source: 'callback', reason: 'missing_signature', merchant: merchant.id });
      throw signatureRejected('callback_signature_missing', 'callback has no signature (or a malformed field)');
    }
    if (!verifyCallbackSignature(fields, merchant.plural.callbackSecretHex ?? '')) {
      metrics.signatureFailures.inc({ source: 'callback', reason: 'no_matching_signature', merchant: merchant.id });
      logger.warn({ route: 'callback' }, 'callback signature rejected');
      throw signatureRejected('callback_signature_invalid', 'callback signature does not match');
    }
    // The status arrives as `payment_status` (as Plural's guides show it) or `status`; the client's parser takes both.
    const result = parseCallback(fields);
    if (!result.ok) throw badRequest('invalid_callback', result.message);
    const parsed = result.callback;
    // A repeat or a stale callback is not delivered, but the browser still goes to the merchant's page (a reload of
    // the return URL looks exactly like a replay): see callback-replays.ts.
    const now = ctx.now();
    // Per merchant: a callback delivered to one merchant's payment says nothing of another's (two accounts may share
    // a secret), and its reference must never be read under another merchant.
    const seenKey = `${merchant.id}:${fields.signature}`;
    let reference = seenCallbacks.deliveredTo(seenKey, now);
    let delivered = false;
    if (reference !== undefined) {
      metrics.signatureFailures.inc({ source: 'callback', reason: 'replayed', merchant: merchant.id });
      logger.info({ route: 'callback', reason: 'replayed' }, 'callback not delivered: already delivered');
    } else {
      let outcome: CallbackDeliveryOutcome;
      try {
        outcome = await ctx.engineOf(res).deliverCallback(callbackSignalOf(parsed), { startedAfterMs: now - maxAgeMs });
      } catch (err) {
        // The engine is down (Temporal unreachable): the customer's browser gets a page to reload, not a JSON error.
        // Nothing was delivered or remembered, so the reload delivers it; Plural's webhook is retried meanwhile.
        if (!(err instanceof EngineUnavailableError) || req.accepts(['json', 'html']) !== 'html') throw err;
        logger.warn(
          { err, route: 'callback' },
          'callback not delivered: the engine is unavailable; the customer may reload',
        );
        res.status(503).set('Retry-After', String(RELOAD_AFTER_SECONDS)).type('html').send(RELOAD_PAGE);
        return;
      }
      if (!outcome.delivered && 'tooOld' in outcome) {
        metrics.signatureFailures.inc({ source: 'callback', reason: 'too_old', merchant: merchant.id });
        logger.warn({ route: 'callback', reason: 'too_old' }, 'callback not delivered: its payment is too old');
      } else if (!outcome.delivered && 'ended' in outcome) {
        logger.info({ route: 'callback', reason: 'ended' }, 'callback not delivered: its payment has ended');
      } else if (!outcome.delivered) {
        throw notFound('payment_not_found', `no payment for Plural order ${parsed.orderId}`);
      } else {
        seenCallbacks.remember(seenKey, outcome.merchantOrderReference, now);
        delivered = true;
      }
      reference = outcome.merchantOrderReference;
    }
    res.locals.workflowId = paymentWorkflowId(reference, merchant.id);
    const payment = await settledPayment(res, reference, delivered);
    const toMerchant = merchantReturn(merchant.id, reference, payment);
    if (toMerchant !== undefined) {
      res.redirect(303, toMerchant);
      return;
    }
    // The merchant's own return pages when its account names them, else the pages every merchant shares. The page
    // and `status` follow the engine once it has confirmed the result (a payment cancelled meanwhile goes to the
    // failure page however Plural's page ended); the callback's claim only while the payment still awaits it.
    const status = returnPageStatus(payment?.state.status, parsed);
    const own = merchant.returnPages;
    const pages = own ?? options.returnUrls;
    const target = new URL(SUCCESS_STATUSES.has(status) ? pages.success : pages.failure);
    target.searchParams.set(RETURN_LINK_PARAM.reference, reference);
    target.searchParams.set(RETURN_LINK_PARAM.status, status);
    // On a shared page a reference is unique per merchant only: say whose payment it is (but for `default`).
    if (own === undefined && merchant.id !== DEFAULT_MERCHANT_ID) {
      target.searchParams.set(RETURN_LINK_PARAM.merchant, merchant.id);
    }
    // Signed for the shared pages only, which read the payment back (the dev stack's): a link to a merchant's own
    // pages names no merchant, and signed it would verify there as the `default` merchant's payment of that reference.
    if (own === undefined) options.returnLinks?.sign(target);
    res.redirect(303, target.toString());
  };

  // The default merchant's paths, and each merchant account's (one route template each, for the metrics' labels).
  for (const path of ['/v1/callbacks/plural', '/v1/callbacks/plural/:merchant_id']) {
    router
      .route(path)
      .get(callbackHandler)
      .post(express.urlencoded({ extended: false, limit: ctx.bodyLimit, parameterLimit: 100 }), callbackHandler)
      .all(methodNotAllowed('GET, POST'));
  }

  const webhookHandler: RequestHandler = async (req, res) => {
    const merchant = merchantOfPath(req, res);
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const verified = verifyWebhook({
      headers: req.headers,
      rawBody,
      secret: merchant.plural.webhookSecret ?? '',
      nowSeconds: Math.floor(ctx.now() / 1000),
      toleranceSeconds: options.webhookToleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS,
    });
    if (!verified.ok) {
      metrics.signatureFailures.inc({ source: 'webhook', reason: verified.reason, merchant: merchant.id });
      logger.warn({ route: 'webhook', reason: verified.reason }, 'webhook signature rejected');
      throw signatureRejected(`webhook_${verified.reason}`, `webhook rejected: ${verified.reason.replace(/_/g, ' ')}`);
    }
    const parsed = parseWebhookBody(rawBody);
    if (!parsed.ok) throw badRequest('invalid_webhook', parsed.message);
    if (parsed.kind === 'other') {
      // Customer, token and subscription events carry no order: acknowledged, never delivered. Their data is
      // customer data (a token id, card digits), so only the event type is logged.
      const eventType = /^[A-Z][A-Z0-9_]{0,63}$/.test(parsed.eventType) ? parsed.eventType : 'unrecognised';
      logger.info({ eventType }, 'webhook acknowledged: not a payment event');
      res.status(200).json({ received: true, delivered: false });
      return;
    }
    const signal = webhookSignalOf(verified.id, parsed.eventType, parsed.order);
    // The workflow ignores an event whose ids are out of shape: refused here, not acknowledged as delivered.
    const problem = webhookSignalProblem(signal);
    if (problem !== undefined) throw badRequest('invalid_webhook', `webhook not usable: ${problem}`);
    const reference = parsed.order.merchant_order_reference ?? undefined;
    const outcome = await ctx
      .engineOf(res)
      .deliverWebhook(reference !== undefined && REFERENCE_PATTERN.test(reference) ? reference : undefined, signal);
    if (outcome.delivered) {
      res.locals.workflowId = paymentWorkflowId(outcome.merchantOrderReference, merchant.id);
    } else {
      // Nothing to deliver to (another system's order, or a payment that has ended): acknowledge, never retry.
      logger.info({ webhookId: verified.id, eventType: parsed.eventType }, 'webhook matched no running payment');
    }
    res.status(200).json({ received: true, delivered: outcome.delivered });
  };

  for (const path of ['/v1/webhooks/plural', '/v1/webhooks/plural/:merchant_id']) {
    router
      .route(path)
      .post(express.raw({ type: () => true, limit: options.webhookBodyLimitBytes ?? 256 * 1024 }), webhookHandler)
      .all(methodNotAllowed('POST'));
  }

  return router;
}
