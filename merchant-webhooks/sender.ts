/**
 * POSTs signed merchant events. One long-lived undici `Agent` for every endpoint (pass one in, or the sender makes
 * its own and closes it). Redirects are not followed: a 3xx is an answer that is not a 2xx, like a 4xx or 5xx.
 */
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import type { MerchantWebhookEndpoint } from './endpoints';
import { signWebhook } from './signing';

/** Options of {@link WebhookSender}. */
export interface WebhookSenderOptions {
  /** Deadline of one attempt, all of it (waiting for a connection, connect, headers and body), ms. @default 15000 */
  timeoutMs?: number;
  /** @default an Agent of its own, closed by {@link WebhookSender.close} */
  dispatcher?: Dispatcher;
  /** The clock of `webhook-timestamp`. @default `() => new Date()` */
  now?: () => Date;
  /**
   * Attempts in flight at most to one endpoint address (scheme, host and port) known to fail (its last finished attempt
   * not answered 2xx); one beyond it is deferred at once rather than queued. A dead or slow merchant endpoint holds each
   * attempt up to `timeoutMs`, and each holds one of the worker's activity slots, which captures, cancels and OTPs
   * share: the cap keeps that endpoint's share small. @default 4
   */
  maxInFlightPerAddress?: number;
  /** Attempts in flight at most in all (every endpoint), beyond which an attempt is deferred at once. @default 32 */
  maxInFlight?: number;
}

/**
 * What one attempt got: an HTTP answer, none (the connection failed or timed out), or none yet — `deferred`: this
 * sender already had its limit of attempts in flight (to that address, or in all), so nothing was sent.
 */
export type SendResult =
  | { kind: 'answered'; status: number }
  | { kind: 'unreachable'; code: string }
  | {
      kind: 'deferred';
      inFlight: number;
      limit: number;
      /** The last attempt to that address that ended was answered 2xx (busy, not failing): worth trying again soon. */
      addressHealthy: boolean;
    };

export class WebhookSender {
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly timeoutMs: number;
  private readonly now: () => Date;
  private readonly maxPerAddress: number;
  private readonly maxInFlight: number;
  /** Attempts in flight, per endpoint address and in all. */
  private readonly inFlightTo = new Map<string, number>();
  private inFlight = 0;
  /** Addresses whose last attempt that ended was not answered 2xx. */
  private readonly failing = new Set<string>();

  constructor(options: WebhookSenderOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.now = options.now ?? (() => new Date());
    this.maxPerAddress = options.maxInFlightPerAddress ?? 4;
    this.maxInFlight = options.maxInFlight ?? 32;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher =
      options.dispatcher ?? new Agent({ connectTimeout: this.timeoutMs, keepAliveTimeout: 30_000, connections: 16 });
  }

  /** Signs `body` now and POSTs it to `endpoint` once, unless the attempts in flight are at their limit (deferred). */
  async send(endpoint: MerchantWebhookEndpoint, id: string, body: string, signal?: AbortSignal): Promise<SendResult> {
    const address = addressOf(endpoint.url);
    const toAddress = this.inFlightTo.get(address) ?? 0;
    const addressHealthy = !this.failing.has(address);
    // The cap per address holds an address known to fail (its last finished attempt not answered 2xx): a busy endpoint
    // that answers shares the cap in all with the others.
    if (!addressHealthy && toAddress >= this.maxPerAddress) {
      return { kind: 'deferred', inFlight: toAddress, limit: this.maxPerAddress, addressHealthy };
    }
    if (this.inFlight >= this.maxInFlight) {
      return { kind: 'deferred', inFlight: this.inFlight, limit: this.maxInFlight, addressHealthy };
    }
    this.inFlightTo.set(address, toAddress + 1);
    this.inFlight += 1;
    try {
      const result = await this.post(endpoint, id, body, signal);
      if (result.kind === 'answered' && result.status >= 200 && result.status < 300) this.failing.delete(address);
      else this.failing.add(address);
      return result;
    } finally {
      this.inFlight -= 1;
      const left = (this.inFlightTo.get(address) ?? 1) - 1;
      if (left > 0) this.inFlightTo.set(address, left);
      else this.inFlightTo.delete(address);
    }
  }

  private async post(
    endpoint: MerchantWebhookEndpoint,
    id: string,
    body: string,
    signal: AbortSignal | undefined,
  ): Promise<SendResult> {
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'plural-payment-engine-webhooks/1',
      ...signWebhook(endpoint.secret, id, this.now(), body),
    };
    // One deadline for the whole attempt, on a timer of its own: undici's headers and body timeouts restart with every
    // chunk, so an endpoint trickling its answer would hold the attempt (and a connection, and the worker's activity
    // slot) for as long as it liked, and a request queued behind 16 such connections has no timer at all.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    const onAbort = (): void => deadline.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await request(endpoint.url, {
        method: 'POST',
        headers,
        body,
        dispatcher: this.dispatcher,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: deadline.signal,
      });
      // The answer's body means nothing to us; read it so the connection can be reused (the deadline cuts it off).
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      return { kind: 'answered', status: res.statusCode };
    } catch (err) {
      if (signal?.aborted) throw err;
      if (deadline.signal.aborted) return { kind: 'unreachable', code: 'TIMEOUT' };
      const code = (err as { code?: unknown }).code;
      return { kind: 'unreachable', code: typeof code === 'string' ? code : 'NETWORK_ERROR' };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}

/** The address an endpoint's attempts share connections to: its URL's origin (the whole URL if it does not parse). */
function addressOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
