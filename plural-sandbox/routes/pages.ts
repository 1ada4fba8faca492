import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import { TEST_CARDS, testCardByKey } from '../cards';
import { CHALLENGE_PATH, CHECKOUT_PATH, type SandboxContext } from '../context';
import { PluralError } from '../errors';
import type { CallbackTarget } from '../gateway';
import { pageHeaders } from '../page-headers';
import { callbackFormPage, callbackRedirectUrl, challengePage, checkoutPage, messagePage } from '../pages';
import { ORDER_STATUS } from '../state-machine';
import type { OrderRecord } from '../store';

function field(source: unknown, name: string): string | undefined {
  if (typeof source !== 'object' || source === null) return undefined;
  const value = (source as Record<string, unknown>)[name];
  return typeof value === 'string' && value.length <= 200 ? value : undefined;
}

function html(res: Response, status: number, body: string): void {
  res.status(status).type('html').set('Cache-Control', 'no-store').send(body);
}

/** An order that expired unpaid: its links are gone for good (410), and nothing can be paid through them. */
function expiredPage(res: Response, order: OrderRecord): void {
  html(
    res,
    410,
    messagePage(
      'Payment link expired',
      `Order ${order.id} expired unpaid at ${new Date(order.expiredAt ?? order.updatedAt).toISOString()}. No payment was taken; ask the merchant for a new link.`,
    ),
  );
}

/** Hosted checkout (redirect_url) and the simulated bank challenge page (challenge_url). */
export function pagesRouter(ctx: SandboxContext): Router {
  const r = Router();
  const g = ctx.gateway;
  const pages = [CHECKOUT_PATH, CHALLENGE_PATH];
  // Each page's headers allow what it does and nothing else; the strictest first, for answers made before a route.
  const strict = pageHeaders({ formAction: ["'none'"], autoSubmit: false });
  // The checkout form posts here and is redirected to the challenge page at the public URL.
  const checkoutHeaders = pageHeaders({ formAction: ["'self'", new URL(ctx.publicUrl).origin], autoSubmit: false });
  // In redirect mode the challenge form's answer is a redirect to the merchant's callback URL (and on from there).
  const challengeHeaders = pageHeaders({
    formAction: ctx.options.callbackMode === 'redirect' ? null : ["'self'"],
    autoSubmit: false,
  });
  // The answer to the challenge form: the auto-submitting form to the merchant's callback URL.
  const callbackHeaders = pageHeaders({ formAction: null, autoSubmit: true });
  r.use(pages, strict);
  r.use(pages, express.urlencoded({ extended: false, limit: '10kb' }));

  const finish = (req: Request, res: Response, callback: CallbackTarget): void => {
    const url = callback.url;
    if (url === undefined) {
      html(
        res,
        200,
        messagePage(
          'Payment finished',
          `Payment status: ${callback.fields.payment_status ?? callback.fields.status ?? 'unknown'}.`,
        ),
      );
      return;
    }
    if (ctx.options.callbackMode === 'redirect') {
      res.redirect(303, callbackRedirectUrl({ ...callback, url }));
      return;
    }
    html(res, 200, callbackFormPage({ ...callback, url }));
  };

  r.get(CHECKOUT_PATH, checkoutHeaders, (req, res) => {
    const token = field(req.query, 'token');
    const order = token === undefined ? undefined : g.orderForCheckout(token);
    if (!token || !order) {
      html(res, 404, messagePage('Checkout not found', 'This checkout link is unknown.'));
      return;
    }
    if (order.expiredAt !== undefined) {
      expiredPage(res, order);
      return;
    }
    if (order.status === ORDER_STATUS.PENDING && order.challengeToken !== undefined) {
      res.redirect(303, `${ctx.publicUrl}${CHALLENGE_PATH}?token=${encodeURIComponent(order.challengeToken)}`);
      return;
    }
    if (order.status !== ORDER_STATUS.CREATED && order.status !== ORDER_STATUS.ATTEMPTED) {
      html(res, 409, messagePage('Checkout closed', `This order is ${order.status}; no further payment is possible.`));
      return;
    }
    html(
      res,
      200,
      checkoutPage({
        orderId: order.id,
        amount: order.amount,
        preAuth: order.preAuth,
        token,
        action: CHECKOUT_PATH,
        cards: TEST_CARDS,
      }),
    );
  });

  r.post(CHECKOUT_PATH, checkoutHeaders, (req, res) => {
    const token = field(req.body, 'token');
    const order = token === undefined ? undefined : g.orderForCheckout(token);
    const card = testCardByKey(field(req.body, 'card') ?? '');
    if (!token || !order) {
      html(res, 404, messagePage('Checkout not found', 'This checkout link is unknown.'));
      return;
    }
    if (order.expiredAt !== undefined) {
      expiredPage(res, order);
      return;
    }
    if (!card) {
      html(res, 400, messagePage('Choose a card', 'Pick one of the sandbox test cards.'));
      return;
    }
    try {
      const { challengeToken } = g.payCheckout(token, card);
      res.redirect(303, `${ctx.publicUrl}${CHALLENGE_PATH}?token=${encodeURIComponent(challengeToken)}`);
    } catch (err) {
      if (!(err instanceof PluralError)) throw err;
      const page = checkoutPage({
        orderId: order.id,
        amount: order.amount,
        preAuth: order.preAuth,
        token,
        action: CHECKOUT_PATH,
        cards: TEST_CARDS,
        error: `Payment not possible: ${err.code}`,
      });
      html(res, err.status, page);
    }
  });

  /** Answers for a challenge link that is not live: 410 when its order expired, else 404. */
  const deadChallenge = (res: Response, token: string | undefined): void => {
    const owner = token === undefined ? undefined : g.challengeOwner(token);
    if (owner?.expiredAt !== undefined) {
      expiredPage(res, owner);
      return;
    }
    html(res, 404, messagePage('Authentication not found', 'This authentication link is unknown or was already used.'));
  };

  r.get(CHALLENGE_PATH, challengeHeaders, (req, res) => {
    const token = field(req.query, 'token');
    const order = token === undefined ? undefined : g.orderForChallenge(token);
    if (!token || !order) {
      deadChallenge(res, token);
      return;
    }
    html(res, 200, challengePage({ orderId: order.id, amount: order.amount, token, action: CHALLENGE_PATH }));
  });

  r.post(CHALLENGE_PATH, callbackHeaders, (req, res) => {
    const token = field(req.body, 'token');
    const action = field(req.body, 'action');
    if (action !== 'approve' && action !== 'decline') {
      html(res, 400, messagePage('Choose Approve or Decline', 'The form needs action=approve or action=decline.'));
      return;
    }
    if (!token || !g.orderForChallenge(token)) {
      deadChallenge(res, token);
      return;
    }
    finish(req, res, g.completeChallenge(token, action === 'approve').callback);
  });

  // A page's error is a page: the refusal's code at most, never a stack, a path or the app's JSON.
  const pageErrors: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    if (err instanceof PluralError) {
      html(res, err.status, messagePage('Payment not possible', `The sandbox refused this step: ${err.code}.`));
      return;
    }
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      html(res, 400, messagePage('Bad request', 'The form could not be read.'));
      return;
    }
    process.stderr.write(
      `plural-sandbox: page error: ${err instanceof Error ? (err.stack ?? err.message) : 'unknown'}\n`,
    );
    html(res, 500, messagePage('Something went wrong', 'The sandbox could not show this page.'));
  };
  r.use(pages, pageErrors);

  return r;
}
