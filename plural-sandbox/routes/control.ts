import express, { Router } from 'express';
import { z } from 'zod';
import { requireControlToken } from '../auth';
import { testCardByKey } from '../cards';
import { CHALLENGE_PATH, type SandboxContext } from '../context';
import { invalidRequest } from '../errors';
import { parseBody } from '../schemas';
import { webhookTargetRefusal } from '../webhook-target';
import { orderSummary } from '../order-view';
import { NO_FAULTS } from '../options';

/** Control path prefix; cannot collide with Plural's `/api/...`, `/web/...` or `/payment-option`. */
export const CONTROL_PREFIX = '/__sandbox';

const webhookUrlSchema = z.object({ url: z.url({ protocol: /^https?$/ }).nullable() });
const authenticateSchema = z.object({ result: z.enum(['approve', 'decline']) });
const settleSchema = z.object({ outcome: z.enum(['processed', 'failed']).optional() });
const checkoutPaymentSchema = z.object({
  /** A sandbox test card's key, as on the checkout page (e.g. `visa-declined`). */
  card: z.string().min(1).max(100),
  /** Also answer the challenge page at once. */
  result: z.enum(['approve', 'decline']).optional(),
});

/** The sandbox's own control API, for tests and tools holding the control token. */
export function controlRouter(ctx: SandboxContext): Router {
  const r = Router();
  // The token before anything else: an unauthenticated body is never parsed.
  r.use(requireControlToken(ctx.options.controlToken));
  r.use(express.json({ limit: '20kb' }));

  r.get('/faults', (_req, res) => {
    res.json(ctx.faults.get());
  });
  r.patch('/faults', (req, res) => {
    res.json(ctx.faults.set(req.body ?? {}));
  });
  r.put('/faults', (req, res) => {
    res.json(ctx.faults.replace(NO_FAULTS, req.body ?? {}));
  });
  r.delete('/faults', (_req, res) => {
    res.json(ctx.faults.set(NO_FAULTS));
  });

  r.get('/orders', (_req, res) => {
    const ttl = ctx.options.authorizationTtlSeconds;
    res.json({ orders: [...ctx.store.orders.values()].map((o) => orderSummary(o, ttl)) });
  });
  r.get('/orders/:orderId', (req, res) => {
    res.json(orderSummary(ctx.gateway.getOrder(req.params.orderId), ctx.options.authorizationTtlSeconds));
  });

  r.post('/orders/:orderId/settle', (req, res) => {
    const { outcome } = parseBody(settleSchema, req.body);
    const order = ctx.gateway.settlement.settleNow(req.params.orderId, outcome);
    res.json(orderSummary(order, ctx.options.authorizationTtlSeconds));
  });

  // The hosted checkout page without a browser: pay the link's order with a test card (again after a failure).
  r.post('/checkout/:token/payments', (req, res) => {
    const { card: key, result } = parseBody(checkoutPaymentSchema, req.body);
    const card = testCardByKey(key);
    if (!card) throw invalidRequest(`card: unknown test card ${key}; use a key from TEST_CARDS`);
    const { order, challengeToken, paymentId } = ctx.gateway.payCheckout(req.params.token, card);
    const challengeUrl = `${ctx.publicUrl}${CHALLENGE_PATH}?token=${encodeURIComponent(challengeToken)}`;
    const head = { order_id: order.id, payment_id: paymentId };
    if (result === undefined) {
      res.json({ ...head, status: order.status, challenge_url: challengeUrl });
      return;
    }
    const done = ctx.gateway.completeChallenge(challengeToken, result === 'approve');
    res.json({ ...head, status: done.order.status, callback: done.callback });
  });

  r.post('/payments/:paymentId/authenticate', (req, res) => {
    const { result } = parseBody(authenticateSchema, req.body);
    const { order, callback } = ctx.gateway.completeByPaymentId(req.params.paymentId, result === 'approve');
    res.json({ order_id: order.id, status: order.status, callback });
  });

  r.get('/webhooks', (_req, res) => {
    res.json({ url: ctx.webhookUrl ?? null, deliveries: ctx.webhooks.log() });
  });
  r.put('/webhook-url', (req, res) => {
    const { url } = parseBody(webhookUrlSchema, req.body);
    const refusal = url === null ? undefined : webhookTargetRefusal(url, ctx.options.webhookAllowedHosts);
    if (refusal !== undefined) throw invalidRequest(`url ${refusal}`);
    ctx.webhookUrl = url ?? undefined;
    res.json({ url });
  });

  return r;
}
