/** Prometheus metrics of the API, on a registry of its own (so several apps in one process do not collide). */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * Every series carries `merchant`: the merchant account the request named (by its API key, or by the callback or
 * webhook path), or {@link NO_MERCHANT} when it named none (health, metrics, a refused key, an unknown route). Its
 * values are the configured merchant ids, so the label's cardinality is the number of accounts.
 */
export interface ApiMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status' | 'merchant'>;
  readonly duration: Histogram<'method' | 'route' | 'status' | 'merchant'>;
  readonly signatureFailures: Counter<'source' | 'reason' | 'merchant'>;
}

/** The `merchant` label of a request that named no merchant account. */
export const NO_MERCHANT = 'none';

export interface CreateMetricsOptions {
  /** Also collect Node process metrics (CPU, memory, event loop). @default false */
  processMetrics?: boolean;
}

export function createMetrics(options: CreateMetricsOptions = {}): ApiMetrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: 'api_http_requests_total',
      help: 'HTTP requests answered, by method, route template, status and merchant account',
      labelNames: ['method', 'route', 'status', 'merchant'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'api_http_request_duration_seconds',
      help: 'HTTP request latency, by method, route template, status and merchant account',
      labelNames: ['method', 'route', 'status', 'merchant'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    signatureFailures: new Counter({
      name: 'api_signature_failures_total',
      help: 'Callbacks and webhooks not delivered (bad, missing, stale or replayed signature), by merchant account',
      labelNames: ['source', 'reason', 'merchant'],
      registers: [registry],
    }),
  };
}
