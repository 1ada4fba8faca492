/**
 * The API's OpenAPI 3.1 document, written by hand, one module per part: `paths/` mirrors `api/routes/` (payments,
 * customers, gateway events, operations), `components.ts` holds the named schemas, `parts.ts` what several of them
 * share, `merchant-webhooks.ts` the events the engine sends, and `idempotency.ts` adds `Idempotency-Key` to every
 * mutating merchant operation. Tests keep it true: `test/api/ops.test.ts` that every route the app serves is
 * documented here (and nothing else), `test/api/openapi.test.ts` that every request body documented here has the
 * fields and rules of the zod schema its route parses with, and the route tests that the API's answers conform to its
 * response schemas (validated with ajv in several of them).
 */
import { MERCHANT_EVENT_TYPE } from '../../workflows/definitions';
import { schemas } from './components';
import { withIdempotencyKey } from './idempotency';
import { merchantWebhook } from './merchant-webhooks';
import { customerPaths } from './paths/customers';
import { gatewayEventPaths } from './paths/gateway-events';
import { operationPaths } from './paths/operations';
import { paymentPaths } from './paths/payments';

/** Options of {@link buildOpenApiDocument}. */
export interface OpenApiOptions {
  /** The API's public base URL, listed as the document's server. */
  serverUrl: string;
}

/** The OpenAPI 3.1 document served at `/openapi.json`. */
export function buildOpenApiDocument(options: OpenApiOptions) {
  return withIdempotencyKey({
    openapi: '3.1.0',
    info: {
      title: 'Plural payment engine API',
      version: '1.0.0',
      description:
        'Start and drive card payments through the Plural (Pine Labs) gateway. Amounts are integer minor units. ' +
        'Merchant endpoints need `Authorization: Bearer <API key>`; the key names the merchant, whose payments alone ' +
        'it sees and acts on. Every error is `{error: {type, code, message}}`.',
    },
    servers: [{ url: options.serverUrl }],
    security: [{ bearerAuth: [] }],
    tags: [
      { name: 'payments', description: 'Merchant endpoints' },
      { name: 'customers', description: 'Customers at Plural and their saved cards' },
      { name: 'plural', description: 'Called by Plural and by the customer’s browser (signature-verified)' },
      { name: 'operations', description: 'Health, readiness, metrics and this document' },
      {
        name: 'merchant-webhooks',
        description: 'Sent by the engine to the merchant’s backend at every status change and refund (signed)',
      },
    ],
    webhooks: Object.fromEntries(Object.values(MERCHANT_EVENT_TYPE).map((type) => [type, merchantWebhook(type)])),
    paths: { ...paymentPaths, ...customerPaths, ...gatewayEventPaths, ...operationPaths },
    components: {
      securitySchemes: {
        metricsToken: {
          type: 'http',
          scheme: 'bearer',
          description: '`API_METRICS_TOKEN`, the operator’s scrape token (not a merchant key).',
        },
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A key from `API_KEYS`, or one of a merchant account’s `apiKeys` (`MERCHANTS_FILE`): the key names the ' +
            'merchant, and every route reaches that merchant’s payments only (references are unique per merchant).',
        },
      },
      schemas,
    },
  });
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;
