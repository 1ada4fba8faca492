/** What each group of routes gets from `createApp`: the ports, the resolved settings and the shared middleware. */
import type { RequestHandler, Response } from 'express';
import type { MerchantDirectory } from '../../config/merchants';
import type { AppLogger } from '../../observability';
import type { ApiOptions, ApiTimings } from '../options';
import type { CardVaultPort, PaymentEngine, PaymentRecord } from '../engine';
import type { ApiMetrics } from '../metrics';
import { notFound } from '../errors';
import { paymentResource } from '../resource';

export interface RouteContext {
  options: ApiOptions;
  /** The default merchant's engine (readiness); a merchant's requests use {@link engineOf}. */
  engine: PaymentEngine;
  /** The merchant accounts. */
  merchants: MerchantDirectory;
  /** The merchant the request's API key belongs to (only on authenticated routes). */
  merchantOf: (res: Response) => string;
  /** The payment engine of the request's merchant: its payments only (only on authenticated routes). */
  engineOf: (res: Response) => PaymentEngine;
  vault: CardVaultPort;
  timings: ApiTimings;
  now: () => number;
  logger: AppLogger;
  metrics: ApiMetrics;
  /** Bearer authentication of a merchant. */
  authenticate: RequestHandler;
  /** Authentication, then a JSON body, then the `Idempotency-Key` (every mutating merchant route takes these). */
  merchant: RequestHandler[];
  /** JSON and form body limit, bytes. */
  bodyLimit: number;
}

/** The payment of the request's merchant, or a 404 (another merchant's payment is not found either). */
export async function load(ctx: RouteContext, res: Response, ref: string): Promise<PaymentRecord> {
  const record = await ctx.engineOf(res).get(ref);
  if (!record) throw notFound('payment_not_found', `no payment with merchant_order_reference ${ref}`);
  return record;
}

export function sendPayment(res: Response, status: number, record: PaymentRecord): void {
  res.status(status).json(paymentResource(record));
}

/** Drop vault entries the workflow will not use (best effort: they expire anyway). */
export async function destroyAll(ctx: RouteContext, handles: readonly string[]): Promise<void> {
  for (const h of handles) {
    await ctx.vault
      .destroy(h)
      .catch((err: unknown) => ctx.logger.warn({ err }, 'could not destroy an unused vault entry'));
  }
}
