/** Prometheus metrics of the API, on a registry of its own (so several apps in one process do not collide). */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export interface ApiMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route' | 'status'>;
  readonly signatureFailures: Counter<'source' | 'reason'>;
}

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
      help: 'HTTP requests answered, by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'api_http_request_duration_seconds',
      help: 'HTTP request latency, by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    signatureFailures: new Counter({
      name: 'api_signature_failures_total',
      help: 'Callbacks and webhooks rejected for a bad, missing or stale signature',
      labelNames: ['source', 'reason'],
      registers: [registry],
    }),
  };
}
