import { Router } from 'express';
import { requireToken } from '../auth';
import { CHALLENGE_PATH, CHECKOUT_PATH, renderOrder, type SandboxContext } from '../context';
import {
  captureSchema,
  cardDetailsRequestSchema,
  createCustomerSchema,
  createOrderSchema,
  createPaymentsSchema,
  parseBody,
  paymentIdSchema,
  pointsBalanceSchema,
  refundSchema,
  submitOtpSchema,
  tokenRequestSchema,
} from '../schemas';
import type { CustomerRecord, SavedToken } from '../store';

function customerJson(c: CustomerRecord): Record<string, unknown> {
  const iso = new Date(c.createdAt).toISOString();
  return { customer_id: c.customerId, ...c.fields, status: 'INACTIVE', created_at: iso, updated_at: iso };
}

function tokenJson(t: SavedToken): Record<string, unknown> {
  return {
    token_id: t.tokenId,
    customer_id: t.customerId,
    status: 'ACTIVE',
    card_data: { last4_digit: t.last4, expiry_month: t.expiry.month, expiry_year: t.expiry.year },
    created_at: new Date(t.createdAt).toISOString(),
  };
}

/** Where the merchant API asks for an access token: everything under these prefixes but the token endpoint itself. */
const TOKEN_GUARDED = ['/api', '/payment-option'];
const TOKEN_PATH = '/api/auth/v1/token';

/**
 * The merchant API's access-token check, mounted ahead of the fault middleware: a request without a valid token is
 * answered 401 at once, never delayed or failed by an injected fault nor counted among the requests whose occurrence
 * numbers make a seeded run reproducible.
 */
export function accessTokenGuard(ctx: SandboxContext): Router {
  const r = Router();
  const check = requireToken(ctx.tokens);
  r.use(TOKEN_GUARDED, (req, res, next) => {
    if (req.originalUrl.split('?')[0] === TOKEN_PATH) next();
    else check(req, res, next);
  });
  return r;
}

/** Plural's merchant API: same paths and JSON as the integration guides (behind {@link accessTokenGuard}). */
export function apiRouter(ctx: SandboxContext): Router {
  const r = Router();
  const g = ctx.gateway;

  r.post('/api/auth/v1/token', (req, res) => {
    const body = parseBody(tokenRequestSchema, req.body);
    if (!ctx.tokens.credentialsMatch(body.client_id, body.client_secret)) {
      res.status(401).json({ error: 'invalid_client', error_description: 'client_id or client_secret is incorrect' });
      return;
    }
    const { token, expiresAt } = ctx.tokens.issue();
    res.json({
      access_token: token,
      expires_in: ctx.options.tokenTtlSeconds,
      expires_at: new Date(expiresAt).toISOString(),
    });
  });

  r.post('/api/pay/v1/orders', (req, res) => {
    const order = g.createOrder(parseBody(createOrderSchema, req.body));
    res.json({ data: renderOrder(ctx, order) });
  });

  r.get('/api/pay/v1/orders/reference/:reference', (req, res) => {
    res.json({ data: renderOrder(ctx, g.getOrderByReference(req.params.reference)) });
  });

  r.get('/api/pay/v1/orders/:orderId', (req, res) => {
    res.json({ data: renderOrder(ctx, g.getOrder(req.params.orderId)) });
  });

  r.post('/api/pay/v1/orders/:orderId/payments', (req, res) => {
    const { order, challengeToken } = g.createPayments(req.params.orderId, parseBody(createPaymentsSchema, req.body));
    const { payments, ...head } = renderOrder(ctx, order);
    const challengeUrl = `${ctx.publicUrl}${CHALLENGE_PATH}?token=${encodeURIComponent(challengeToken)}`;
    res.json({ data: { ...head, challenge_url: challengeUrl, payments } });
  });

  r.put('/api/pay/v1/orders/:orderId/capture', (req, res) => {
    const order = g.settlement.capture(req.params.orderId, parseBody(captureSchema, req.body));
    res.json({ data: renderOrder(ctx, order) });
  });

  r.put('/api/pay/v1/orders/:orderId/cancel', (req, res) => {
    res.json({ data: renderOrder(ctx, g.settlement.cancel(req.params.orderId)) });
  });

  r.post('/api/pay/v1/refunds/:orderId', (req, res) => {
    const { refund } = g.settlement.refund(req.params.orderId, parseBody(refundSchema, req.body));
    res.json({ data: renderOrder(ctx, refund) });
  });

  r.post('/api/pay/v1/getCardDetails', (req, res) => {
    const body = parseBody(cardDetailsRequestSchema, req.body);
    res.json(g.instruments.cardDetails(body.card_details.map((c) => c.payment_identifier)));
  });

  r.post('/api/pay/v1/otp/generate', (req, res) => {
    res.json(g.otp.generate(parseBody(paymentIdSchema, req.body).payment_id));
  });

  r.post('/api/pay/v1/otp/submit', (req, res) => {
    const body = parseBody(submitOtpSchema, req.body);
    res.json(g.otp.submit(body.payment_id, body.otp));
  });

  r.post('/api/pay/v1/otp/resend', (req, res) => {
    res.json(g.otp.resend(parseBody(paymentIdSchema, req.body).payment_id));
  });

  r.post('/api/v1/customer', (req, res) => {
    res.json(customerJson(g.customers.create(parseBody(createCustomerSchema, req.body))));
  });

  r.get('/api/v1/customer/:customerId', (req, res) => {
    res.json(customerJson(g.customers.get(req.params.customerId)));
  });

  r.get('/api/v1/customer/:customerId/tokens', (req, res) => {
    const tokens = g.customers.tokens(req.params.customerId);
    res.json({ customer_id: req.params.customerId, tokens: tokens.map(tokenJson) });
  });

  r.post('/payment-option', (req, res) => {
    res.json(g.instruments.pointsBalance(parseBody(pointsBalanceSchema, req.body)));
  });

  r.post('/api/checkout/v1/orders', (req, res) => {
    const { order, token } = g.createCheckout(parseBody(createOrderSchema, req.body));
    res.json({
      token,
      order_id: order.id,
      redirect_url: `${ctx.publicUrl}${CHECKOUT_PATH}?token=${encodeURIComponent(token)}`,
      response_code: 200,
      response_message: 'Order Creation Successful.',
    });
  });

  return r;
}
