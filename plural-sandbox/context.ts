import type { TokenStore } from './auth';
import type { FaultController } from './faults';
import type { Gateway } from './gateway';
import type { ResolvedOptions } from './options';
import type { OrderRecord, Store } from './store';
import type { WebhookSender } from './webhooks';
import { orderJson } from './order-view';

/** Everything route handlers share. */
export interface SandboxContext {
  readonly options: ResolvedOptions;
  readonly store: Store;
  readonly gateway: Gateway;
  readonly tokens: TokenStore;
  readonly faults: FaultController;
  readonly webhooks: WebhookSender;
  webhookUrl: string | undefined;
  /** Base URL of every link and redirect handed out: the `publicUrl` option, else the bound address. */
  readonly publicUrl: string;
}

export function renderOrder(ctx: SandboxContext, order: OrderRecord): Record<string, unknown> {
  return orderJson(order, ctx.options.maxPaymentAttempts);
}

export const CHECKOUT_PATH = '/api/v3/checkout-bff/redirect/checkout';
export const CHALLENGE_PATH = '/web/auth/landing/';
