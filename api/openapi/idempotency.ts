/**
 * `Idempotency-Key` in the OpenAPI document: the header on every mutating merchant operation (a `post` of the
 * `payments` or `customers` tag: the routes that take `ctx.merchant`, whose last step is the key's middleware), its
 * 400, 409 and 503 codes, and the response headers of an answer given with a key. Applied to the finished document,
 * so the operations themselves stay as they are written.
 */
import { IDEMPOTENCY_ERROR_CODE, IDEMPOTENCY_HEADER, MAX_IDEMPOTENCY_KEY_LENGTH } from '../idempotency';

const MERCHANT_TAGS: ReadonlySet<string> = new Set(['payments', 'customers']);
const MUTATING: ReadonlySet<string> = new Set(['post', 'put', 'patch', 'delete']);

const PARAMETER_REF = { $ref: '#/components/parameters/IdempotencyKey' };

const idempotencyKeyParameter = {
  name: IDEMPOTENCY_HEADER.KEY,
  in: 'header',
  required: false,
  description:
    'Makes the request safe to retry (Stripe’s semantics). The same key with the same request (method, route, ' +
    'path and JSON body, whatever the order of its keys) within 24 h of the key’s first use answers what the first ' +
    'request answered — same status and body — with `Idempotent-Replayed: true`, and runs nothing again. The same ' +
    `key with another request: 409 \`${IDEMPOTENCY_ERROR_CODE.MISMATCH}\`. While the first request with the key has ` +
    `not answered: 409 \`${IDEMPOTENCY_ERROR_CODE.IN_USE}\` (\`Retry-After\`). Replayed: 200/201 answers and 409 ` +
    'refusals. Not replayed: a 202 or 5xx (the same request runs again and answers what happened since; another ' +
    'request is still a mismatch), and other 4xx (nothing ran: the key is free again). Keys are per merchant and ' +
    'kept in the engine, so every API instance answers the same. Use a fresh random value (a UUID) per operation.',
  schema: { type: 'string', minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY_LENGTH, pattern: '^[\\x20-\\x7E]+$' },
};

const responseHeaders = {
  [IDEMPOTENCY_HEADER.KEY]: {
    description: 'The request’s `Idempotency-Key`, echoed when it had one.',
    schema: { type: 'string' },
  },
  [IDEMPOTENCY_HEADER.REPLAYED]: {
    description: '`true` when this answer is a replay of an earlier request with the same key.',
    schema: { type: 'string', enum: ['true'] },
  },
};

interface Operation {
  tags?: string[];
  parameters?: unknown[];
  responses: Record<string, { description: string; headers?: Record<string, unknown>; content?: unknown }>;
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/** Adds to a response's description (creating the response when the operation had none). */
function amend(op: Operation, status: string, sentence: string): void {
  const existing = op.responses[status];
  op.responses[status] = existing
    ? { ...existing, description: `${existing.description} ${sentence}` }
    : errorResponse(sentence);
}

/** The document with `Idempotency-Key` on every mutating merchant operation. */
export function withIdempotencyKey<D extends { paths: Record<string, object>; components: Record<string, unknown> }>(
  doc: D,
): D {
  for (const item of Object.values(doc.paths) as Record<string, Operation>[]) {
    for (const [method, op] of Object.entries(item)) {
      if (!MUTATING.has(method) || !op.tags?.some((t) => MERCHANT_TAGS.has(t))) continue;
      op.parameters = [...(op.parameters ?? []), PARAMETER_REF];
      for (const [status, response] of Object.entries(op.responses)) {
        if (/^2/.test(status) || status === '409') {
          op.responses[status] = { ...response, headers: { ...response.headers, ...responseHeaders } };
        }
      }
      amend(
        op,
        '400',
        `\`${IDEMPOTENCY_ERROR_CODE.INVALID_KEY}\`: the Idempotency-Key header is empty, longer than ` +
          `${MAX_IDEMPOTENCY_KEY_LENGTH} characters, not printable ASCII, or sent twice.`,
      );
      amend(
        op,
        '409',
        `With an Idempotency-Key: \`${IDEMPOTENCY_ERROR_CODE.MISMATCH}\` (the key was used with another request) or ` +
          `\`${IDEMPOTENCY_ERROR_CODE.IN_USE}\` (a request with the key is still running; \`Retry-After\`).`,
      );
      amend(
        op,
        '503',
        `With an Idempotency-Key: \`${IDEMPOTENCY_ERROR_CODE.UNAVAILABLE}\` (this API instance keeps no keys) or ` +
          '`engine_unavailable` (the key could not be claimed; nothing ran).',
      );
    }
  }
  const parameters = (doc.components.parameters ?? {}) as Record<string, unknown>;
  doc.components.parameters = { ...parameters, IdempotencyKey: idempotencyKeyParameter };
  return doc;
}
