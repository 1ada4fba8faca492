/** The operations routes (api/routes/operations.ts): health, readiness, metrics and this document. */
import { errorResponse, json, ref } from '../parts';

function opsOperation(operationId: string, summary: string, contentType: string) {
  return {
    tags: ['operations'],
    operationId,
    summary,
    security: [],
    responses: { '200': { description: summary, content: { [contentType]: {} } } },
  };
}

export const operationPaths = {
  '/healthz': { get: opsOperation('healthz', 'Liveness: the process answers', 'application/json') },
  '/readyz': {
    get: {
      ...opsOperation('readyz', 'Readiness: the payment engine (Temporal) is reachable', 'application/json'),
      description:
        'Reports the engine (Temporal) and the gateway (Plural, when `PLURAL_BASE_URL` is set) separately. Plural ' +
        'is reachable when its origin gives any HTTP answer; the answer is cached for 5 s. A gateway outage ' +
        'keeps the 200 with `status: degraded`: payments started now are queued and retried until Plural is back.',
      responses: {
        '200': {
          description: 'The engine is reachable (`ready`, or `degraded` while Plural is not).',
          content: json(ref('Readiness')),
        },
        '503': {
          description: 'Temporal is not reachable: the error, plus the same fields as the 200.',
          content: json({ allOf: [ref('Error'), ref('Readiness')] }),
        },
      },
    },
  },
  '/metrics': {
    get: {
      ...opsOperation('metrics', 'Prometheus metrics', 'text/plain'),
      description:
        'Request counts and latencies per route, status and merchant, and signature failures. With ' +
        '`API_METRICS_TOKEN` set (production mode requires it) only `Authorization: Bearer <token>` reads them.',
      security: [{ metricsToken: [] }],
      responses: {
        '200': { description: 'Prometheus metrics', content: { 'text/plain': {} } },
        '401': errorResponse('Missing or invalid metrics token (only when `API_METRICS_TOKEN` is set).'),
      },
    },
  },
  '/openapi.json': { get: opsOperation('openapi', 'This document', 'application/json') },
  '/docs': { get: opsOperation('docs', 'Human-readable listing of this document', 'text/html') },
};
