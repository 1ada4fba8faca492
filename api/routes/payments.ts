/**
 * `POST /v1/payments` (one update-with-start: the answer comes when the payment is actionable),
 * `GET /v1/payments/{ref}` (the workflow's query, or its memo marked `stale` when no worker answers in time) and,
 * on the same path as the create, the search `GET /v1/payments` (its handler is in `search.ts`).
 */
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { paymentWorkflowId, TERMINAL_STATUSES } from '../../workflows/definitions';
import type {
  CustomerDetails,
  DeviceInfo,
  PaymentMethodDescriptor,
  PaymentWorkflowInput,
} from '../../workflows/definitions';
import { EngineUnavailableError } from '../engine';
import type { CardVaultPort } from '../engine';
import { badRequest, conflict } from '../errors';
import { fingerprintMatches, requestFingerprint } from '../fingerprint';
import { jsonBody, methodNotAllowed, parse, referenceOf } from '../http';
import { checkReturnUrl, RETURN_URL_NOT_ALLOWED } from '../return-url';
import { createPaymentSchema } from '../schemas';
import type { CreatePaymentRequest } from '../schemas';
import { destroyAll, load, sendPayment } from './context';
import type { RouteContext } from './context';
import { pluralCallbackPath } from './gateway-events';
import { listPayments } from './search';

const CARD_TTL_MS = 15 * 60_000;

export function paymentRoutes(ctx: RouteContext): Router {
  const { options, timings } = ctx;
  const base = options.publicBaseUrl.replace(/\/+$/, '');
  /** Plural's callback for a merchant's payment: verified with that merchant's secret (see gateway-events.ts). */
  const callbackUrlOf = (merchantId: string): string => `${base}${pluralCallbackPath(merchantId)}`;
  const paymentSchema = createPaymentSchema({
    now: ctx.now,
    ...(options.maxAmount !== undefined ? { maxAmount: options.maxAmount } : {}),
  });

  /** Park card data in the vault; the workflow input carries only handles and last 4 digits. */
  async function methodOf(body: CreatePaymentRequest, handles: string[]): Promise<PaymentMethodDescriptor> {
    const put = async (secret: Parameters<CardVaultPort['put']>[0]): Promise<string> => {
      const handle = await ctx.vault.put(secret, options.cardTtlMs ?? CARD_TTL_MS);
      handles.push(handle);
      return handle;
    };
    if (body.card) {
      const c = body.card;
      const cardHandle = await put({
        number: c.number,
        cvv: c.cvv,
        name: c.name,
        expiryMonth: c.expiry_month,
        expiryYear: c.expiry_year,
      });
      const last4 = c.number.slice(-4);
      if (body.points) {
        return {
          kind: 'card_points',
          cardHandle,
          last4,
          registeredMobileNumber: body.points.registered_mobile_number,
          customerConsent: body.points.customer_consent,
        };
      }
      return { kind: 'card', cardHandle, last4, ...(c.save !== undefined ? { save: c.save } : {}) };
    }
    if (body.card_token) {
      return {
        kind: 'card_token',
        tokenId: body.card_token.token_id,
        cvvHandle: await put({ cvv: body.card_token.cvv }),
      };
    }
    if (body.network_token) {
      const t = body.network_token;
      const handle = await put({
        token: t.token,
        cryptogram: t.cryptogram,
        expiryMonth: t.expiry_month,
        expiryYear: t.expiry_year,
        ...(t.cvv !== undefined ? { cvv: t.cvv } : {}),
      });
      return { kind: 'network_token', handle, last4: t.last4 };
    }
    return { kind: 'hosted_checkout' };
  }

  /**
   * The `return_url` as it will be stored and redirected to, or a 400: only a host the merchant configured (no open
   * redirect), and only with a signing secret to sign the redirect with.
   */
  function returnUrlOf(body: CreatePaymentRequest, merchantId: string): string | undefined {
    if (body.return_url === undefined) return undefined;
    const policy = options.returnUrlPolicy;
    const refuse = (message: string) =>
      badRequest(RETURN_URL_NOT_ALLOWED, `payment request is invalid: return_url: ${message}`, {
        issues: [{ path: 'return_url', message }],
      });
    if (policy?.returnSigningSecretFor(merchantId) === undefined) {
      throw refuse('is not accepted: no return URL hosts are configured for this merchant');
    }
    const checked = checkReturnUrl(body.return_url, policy.returnUrlHostsFor(merchantId), {
      allowHttpLoopback: policy.allowHttpLoopback,
    });
    if (!checked.ok) throw refuse(checked.message);
    return checked.url;
  }

  /** The workflow's input: the request in the engine's vocabulary, card data replaced by vault handles. */
  async function inputOf(
    merchantId: string,
    body: CreatePaymentRequest,
    handles: string[],
    fingerprint: string,
    returnUrl: string | undefined,
  ): Promise<PaymentWorkflowInput> {
    const callbackUrl = callbackUrlOf(merchantId);
    const input: PaymentWorkflowInput = {
      merchantId,
      merchantOrderReference: body.merchant_order_reference,
      amount: { value: body.amount.value, currency: body.amount.currency },
      preAuth: body.pre_auth,
      method: await methodOf(body, handles),
      callbackUrl,
      failureCallbackUrl: callbackUrl,
      requestId: randomUUID(),
      requestFingerprint: fingerprint,
    };
    const customer = customerOf(body);
    if (customer) input.customer = customer;
    if (body.notes !== undefined) input.notes = body.notes;
    if (body.merchant_metadata !== undefined) input.merchantMetadata = { ...body.merchant_metadata };
    if (returnUrl !== undefined) input.returnUrl = returnUrl;
    const deviceInfo = deviceInfoOf(body);
    if (deviceInfo) input.deviceInfo = deviceInfo;
    if (options.paymentDurations) input.durations = { ...options.paymentDurations };
    if (options.paymentLimits) input.limits = { ...options.paymentLimits };
    // The merchant's webhook endpoints, by id: their URLs and secrets stay in the worker's configuration.
    const endpoints = options.merchantWebhooks?.merchantWebhookEndpoints(merchantId) ?? [];
    if (endpoints.length > 0) input.webhookEndpointIds = endpoints.map((e) => e.id);
    return input;
  }

  const router = Router();

  router
    .route('/v1/payments')
    .get(ctx.authenticate, listPayments(ctx))
    .post(...ctx.merchant, async (req, res) => {
      const body = parse(paymentSchema, jsonBody(req, true), 'payment request');
      const ref = body.merchant_order_reference;
      const merchantId = ctx.merchantOf(res);
      const engine = ctx.engineOf(res);
      res.locals.workflowId = paymentWorkflowId(ref, merchantId);
      // Before anything reaches the vault or the engine.
      const returnUrl = returnUrlOf(body, merchantId);
      const fingerprint = requestFingerprint(body, options.fingerprintKey);
      const handles: string[] = [];
      let outcome: Awaited<ReturnType<typeof engine.create>>;
      let input: PaymentWorkflowInput;
      try {
        input = await inputOf(merchantId, body, handles, fingerprint, returnUrl);
        // A repeat of this request attaches to the payment; another request under the reference is refused by the
        // workflow's validator (409 idempotency_conflict).
        outcome = await engine.create(
          input,
          { requestId: input.requestId ?? randomUUID(), requestFingerprint: fingerprint },
          timings.startWaitMs,
        );
      } catch (err) {
        // Refused, or invalid: the card data will never be used. Temporal unreachable: the start may have taken effect
        // (its answer lost), so the entries are kept until they expire.
        if (!(err instanceof EngineUnavailableError)) await destroyAll(ctx, handles);
        throw err;
      }
      res.location(`/v1/payments/${ref}`);
      if (outcome.answered) {
        // Not this request's payment, or one already ended (refused before a payment was made): the card data will
        // never be read, so it leaves the vault now rather than when it expires.
        if (!outcome.created || TERMINAL_STATUSES.includes(outcome.state.status)) await destroyAll(ctx, handles);
        sendPayment(res, outcome.created ? 201 : 200, { state: outcome.state, requestFingerprint: fingerprint });
        return;
      }
      if ('closed' in outcome) {
        // The payment has ended: an identical request gets it, another one a conflict. It is never started again.
        await destroyAll(ctx, handles);
        if (!fingerprintMatches(body, options.fingerprintKey, outcome.closed.requestFingerprint)) {
          throw conflict(
            'idempotency_conflict',
            `a payment with merchant_order_reference ${ref} already exists with a different request; use a new reference`,
          );
        }
        sendPayment(res, 200, outcome.closed);
        return;
      }
      // Not answered within the wait. Started (or found running): 202 with what is known; GET it later. Not found:
      // Temporal did not confirm the start (it may be down): 503, and the same request again is safe. The vault
      // entries are kept (they expire) in case the start took effect after all.
      const record = await engine.get(ref);
      if (!record) throw new EngineUnavailableError(`payment ${ref} was not confirmed started; retry the same request`);
      // Found running, but another request's payment (its fingerprint is in the memo, read without a worker): the
      // workflow's validator, which no worker ran in time, would have refused this one.
      if (
        record.requestFingerprint !== undefined &&
        !fingerprintMatches(body, options.fingerprintKey, record.requestFingerprint)
      ) {
        await destroyAll(ctx, handles);
        throw conflict(
          'idempotency_conflict',
          `a payment with merchant_order_reference ${ref} already exists with a different request; use a new reference`,
        );
      }
      sendPayment(res, 202, record);
    })
    .all(methodNotAllowed('GET, POST'));

  router
    .route('/v1/payments/:merchant_order_reference')
    .get(ctx.authenticate, async (req, res) => {
      sendPayment(res, 200, await load(ctx, res, referenceOf(req)));
    })
    .all(methodNotAllowed('GET'));

  return router;
}

function customerOf(body: CreatePaymentRequest): CustomerDetails | undefined {
  const c = body.customer;
  if (!c) return undefined;
  const out: CustomerDetails = {};
  if (c.customer_id !== undefined) out.customerId = c.customer_id;
  if (c.first_name !== undefined) out.firstName = c.first_name;
  if (c.last_name !== undefined) out.lastName = c.last_name;
  if (c.email !== undefined) out.email = c.email;
  if (c.mobile_number !== undefined) out.mobileNumber = c.mobile_number;
  if (c.country_code !== undefined) out.countryCode = c.country_code;
  // Same field names in both vocabularies; only what was sent.
  if (c.billing_address !== undefined) out.billingAddress = { ...c.billing_address };
  if (c.shipping_address !== undefined) out.shippingAddress = { ...c.shipping_address };
  return out;
}

function deviceInfoOf(body: CreatePaymentRequest): DeviceInfo | undefined {
  const d = body.device_info;
  if (!d) return undefined;
  const out: DeviceInfo = {};
  if (d.device_channel !== undefined) out.deviceChannel = d.device_channel;
  if (d.browser_accept_header !== undefined) out.browserAcceptHeader = d.browser_accept_header;
  if (d.browser_user_agent !== undefined) out.browserUserAgent = d.browser_user_agent;
  if (d.browser_language !== undefined) out.browserLanguage = d.browser_language;
  if (d.browser_screen_height !== undefined) out.browserScreenHeight = d.browser_screen_height;
  if (d.browser_screen_width !== undefined) out.browserScreenWidth = d.browser_screen_width;
  if (d.browser_timezone !== undefined) out.browserTimezone = d.browser_timezone;
  if (d.browser_window_size !== undefined) out.browserWindowSize = d.browser_window_size;
  if (d.browser_screen_color_depth !== undefined) out.browserScreenColorDepth = d.browser_screen_color_depth;
  if (d.browser_java_enabled_val !== undefined) out.browserJavaEnabled = d.browser_java_enabled_val;
  if (d.browser_javascript_enabled_val !== undefined) out.browserJavascriptEnabled = d.browser_javascript_enabled_val;
  return out;
}
