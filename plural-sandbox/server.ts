import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { Agent } from 'undici';
import { TokenStore } from './auth';
import type { SandboxContext } from './context';
import { ERROR_CODES, PluralError } from './errors';
import { faultMiddleware, FaultController, type InjectedFault } from './faults';
import { Gateway } from './gateway';
import { orderJson, orderSummary, type OrderSummary } from './order-view';
import { resolveOptions, SandboxOptionsError, type FaultConfig, type SandboxOptions } from './options';
import { Dice } from './random';
import { accessTokenGuard, apiRouter } from './routes/api';
import { CONTROL_PREFIX, controlRouter } from './routes/control';
import { pagesRouter } from './routes/pages';
import type { SettleOutcome } from './settlement';
import { Store } from './store';
import { webhookTargetRefusal } from './webhook-target';
import { WebhookSender, type WebhookDelivery } from './webhooks';

/** A started sandbox. */
export interface RunningSandbox {
  /** e.g. `http://127.0.0.1:43121` */
  readonly baseUrl: string;
  /** The address it listens on (`127.0.0.1` unless the `host` option said otherwise). */
  readonly host: string;
  readonly port: number;
  /** Bearer token of the control API (`/__sandbox/...`): the `controlToken` option, or the one made at start. */
  readonly controlToken: string;
  readonly credentials: {
    readonly clientId: string;
    readonly clientSecret: string;
    readonly callbackSecretHex: string;
    readonly webhookSecret: string;
  };
  /** Merges fault settings; @throws PluralError (400) when a setting is invalid. */
  setFaults(faults: Partial<FaultConfig>): void;
  faults(): FaultConfig;
  /** How many faults of each kind were injected since start (HTTP and webhook). */
  injectedFaults(): Readonly<Partial<Record<InjectedFault, number>>>;
  /** @throws SandboxOptionsError when `url` is neither loopback nor on the `webhookAllowedHosts` list */
  setWebhookUrl(url: string | undefined): void;
  /** Snapshot of every order's record (O(n); for tests, not for the hot path). */
  orders(): readonly OrderSummary[];
  order(orderId: string): OrderSummary | undefined;
  orderByReference(merchantOrderReference: string): OrderSummary | undefined;
  /**
   * Completes at once what waits on a timer for this order, so tests need not wait: a sale reported AUTHORIZED
   * becomes PROCESSED; a PENDING refund becomes PROCESSED, or FAILED (`REFUND_FAILED`) with `outcome: 'failed'`.
   * @throws PluralError (422) when nothing is waiting, (404) for an unknown order
   */
  settle(orderId: string, outcome?: SettleOutcome): OrderSummary;
  /** Webhook delivery log, oldest first. */
  webhookDeliveries(): readonly WebhookDelivery[];
  /** Closes the server and every connection (hung ones included) and stops webhook timers. Idempotent. */
  stop(): Promise<void>;
}

const errorHandler: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  if (err instanceof PluralError) {
    res.status(err.status).json(err.toBody());
    return;
  }
  const parserError = err as { type?: unknown; status?: unknown };
  if (typeof parserError.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
    const message =
      parserError.type === 'entity.parse.failed'
        ? 'request body is not valid JSON'
        : parserError.type === 'entity.too.large'
          ? 'request body is too large'
          : 'request body could not be read';
    res.status(400).json({ code: ERROR_CODES.INVALID_REQUEST, message });
    return;
  }
  process.stderr.write(
    `plural-sandbox: internal error: ${err instanceof Error ? (err.stack ?? err.message) : 'unknown'}\n`,
  );
  res.status(500).json({ code: ERROR_CODES.INTERNAL_ERROR, message: 'internal sandbox error' });
};

/** The Express app over a context; exported for tests that want supertest without a port. */
export function createApp(ctx: SandboxContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(CONTROL_PREFIX, controlRouter(ctx));
  app.use(pagesRouter(ctx));
  app.use(accessTokenGuard(ctx));
  app.use(express.json({ limit: '100kb' }));
  app.use(faultMiddleware(ctx.faults, new Dice(ctx.options.seed), ctx.options.latencyMs));
  app.use(apiRouter(ctx));
  app.use((req, res) => {
    res.status(404).json({ code: ERROR_CODES.NOT_FOUND, message: `no such endpoint: ${req.method} ${req.path}` });
  });
  app.use(errorHandler);
  return app;
}

/** The host part of a URL reaching a server bound to `host` (a wildcard is reached through loopback). */
function urlHostOf(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Starts the Plural sandbox; every option has a development default. */
export async function startSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  const opts = resolveOptions(options);
  const store = new Store();
  const dice = new Dice(opts.seed);
  const faults = new FaultController(opts.faults);
  const holder: { ctx?: SandboxContext } = {};
  const webhooks = new WebhookSender({
    agent: new Agent({ connections: 32, keepAliveTimeout: 4_000 }),
    url: () => holder.ctx?.webhookUrl,
    secret: opts.webhookSecret,
    retryScale: opts.webhookRetryScale,
    timeoutMs: opts.webhookTimeoutMs,
    faults: () => faults.get(),
    dice,
    now: opts.now,
    onFault: (kind) => faults.record(kind),
  });
  const gateway = new Gateway(store, opts, dice, (event, order) => {
    order.webhookSeq += 1;
    webhooks.enqueue(event, order.id, order.webhookSeq, orderJson(order, opts.maxPaymentAttempts));
  });
  // Listen before the app exists: the default public URL is the bound address, known only once bound.
  const server = createServer();
  server.keepAliveTimeout = 5_000;
  await listen(server, opts.port, opts.host);
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://${urlHostOf(opts.host)}:${port}`;
  const ctx: SandboxContext = {
    options: opts,
    store,
    gateway,
    tokens: new TokenStore(opts.clientId, opts.clientSecret, opts.tokenTtlSeconds, opts.now),
    faults,
    webhooks,
    webhookUrl: opts.webhookUrl,
    publicUrl: opts.publicUrl ?? baseUrl,
  };
  holder.ctx = ctx;
  server.on('request', createApp(ctx));
  const ttl = opts.authorizationTtlSeconds;
  let stopping: Promise<void> | undefined;

  return {
    baseUrl,
    host: opts.host,
    port,
    controlToken: opts.controlToken,
    credentials: {
      clientId: opts.clientId,
      clientSecret: opts.clientSecret,
      callbackSecretHex: opts.callbackSecretHex,
      webhookSecret: opts.webhookSecret,
    },
    setFaults: (f) => {
      faults.set(f);
    },
    faults: () => faults.get(),
    injectedFaults: () => faults.injected(),
    setWebhookUrl: (url) => {
      const refusal = url === undefined ? undefined : webhookTargetRefusal(url, opts.webhookAllowedHosts);
      if (refusal !== undefined) throw new SandboxOptionsError(`webhook URL ${refusal}`);
      ctx.webhookUrl = url;
    },
    orders: () => [...store.orders.values()].map((o) => orderSummary(o, ttl)),
    order: (id) => {
      const o = store.orders.get(id);
      return o ? orderSummary(o, ttl) : undefined;
    },
    orderByReference: (ref) => {
      const id = store.orderByReference.get(ref) ?? store.refundByReference.get(ref);
      const o = id === undefined ? undefined : store.orders.get(id);
      return o ? orderSummary(o, ttl) : undefined;
    },
    settle: (id, outcome) => orderSummary(gateway.settlement.settleNow(id, outcome), ttl),
    webhookDeliveries: () => [...webhooks.log()],
    stop: () => {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        gateway.stop();
        await webhooks.stop();
        await closed;
      })();
      return stopping;
    },
  };
}
