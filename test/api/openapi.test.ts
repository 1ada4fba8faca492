/**
 * The OpenAPI document's request bodies say what the API's zod schemas accept. The document is written by hand (its
 * descriptions are the merchant's guide), so each documented body is compared, field by field, with the JSON Schema
 * zod derives from the schema the route parses with: the same fields, the same required ones, no unknown fields, and
 * the same type, pattern, lengths and bounds. A rule zod cannot express as JSON Schema (a refinement) may be stated by
 * the document alone only where it is listed below, with the test that holds the API to it.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildOpenApiDocument } from '../../api/openapi';
import {
  CancelSchema,
  CaptureSchema,
  CreateCustomerSchema,
  CreatePaymentSchema,
  OtpSchema,
  RefundSchema,
} from '../../api/schemas';

type Schema = Record<string, unknown>;

const doc = buildOpenApiDocument({ serverUrl: 'http://localhost' });
const components = doc.components.schemas as unknown as Record<string, Schema>;

/** The documented JSON body of each operation that takes one, and the schema its route parses it with. */
const BODIES: Record<string, z.ZodType> = {
  'POST /v1/payments': CreatePaymentSchema,
  'POST /v1/payments/{merchant_order_reference}/otp': OtpSchema,
  'POST /v1/payments/{merchant_order_reference}/capture': CaptureSchema,
  'POST /v1/payments/{merchant_order_reference}/cancel': CancelSchema,
  'POST /v1/payments/{merchant_order_reference}/refunds': RefundSchema,
  'POST /v1/customers': CreateCustomerSchema,
};

/** Plural's signed webhooks: the body is verified raw against its signature before it is parsed, not by zod. */
const RAW_BODIES = ['POST /v1/webhooks/plural', 'POST /v1/webhooks/plural/{merchant_id}'];

/**
 * Rules the document states that zod enforces in a refinement, by field path (in any operation) and keyword.
 * Each is tested against the API elsewhere: the currency and the metadata limits in test/api/edge-rules.test.ts and
 * metadata.test.ts, the return URL in return-url.test.ts.
 */
const REFINEMENTS: Record<string, string[]> = {
  'amount.currency': ['enum'],
  merchant_metadata: ['maxProperties'],
  'merchant_metadata{}': ['maxLength'],
  'merchant_metadata<names>': ['minLength', 'maxLength'],
  return_url: ['format', 'maxLength'],
};

const CONSTRAINTS = [
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'enum',
  'const',
  'format',
  'maxProperties',
];

function deref(schema: unknown): Schema | undefined {
  const s = schema as Schema | undefined;
  const target = typeof s?.$ref === 'string' ? s.$ref.replace('#/components/schemas/', '') : undefined;
  return target === undefined ? s : deref(components[target]);
}

/** zod's JSON Schema in the document's terms: integer bounds inclusive, no empty minimum length, no safe-integer cap. */
function normalize(s: Schema): Schema {
  const out: Schema = { ...s };
  if (typeof out.exclusiveMinimum === 'number' && out.type === 'integer') {
    out.minimum = out.exclusiveMinimum + 1;
    delete out.exclusiveMinimum;
  }
  if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
  if (out.minLength === 0) delete out.minLength;
  return out;
}

const jsonType = (v: unknown) => (Number.isInteger(v) ? 'integer' : Array.isArray(v) ? 'array' : typeof v);

/** Where the documented schema disagrees with the one zod derives (both at `path`), in words. */
function disagreements(zodSchema: unknown, docSchema: unknown, path: string): string[] {
  const zs = deref(zodSchema);
  const ds = deref(docSchema);
  if (zs === undefined || ds === undefined) return [`${path}: ${zs ? 'not documented' : 'documented, not accepted'}`];
  const zn = normalize(zs);
  const out: string[] = [];
  const field = path.replace(/^[^.]*\.?/, '');
  const allowed = REFINEMENTS[field] ?? [];
  const values = (ds.enum as unknown[] | undefined) ?? ('const' in ds ? [ds.const] : undefined);

  if (zn.type !== undefined && ds.type !== zn.type && !values?.every((v) => jsonType(v) === zn.type)) {
    out.push(`${path}: type ${JSON.stringify(ds.type)} in the document, ${JSON.stringify(zn.type)} in the API`);
  }
  for (const key of CONSTRAINTS) {
    const zv = JSON.stringify(zn[key]);
    const dv = JSON.stringify(ds[key]);
    if (zv === dv) continue;
    if (zn[key] === undefined && allowed.includes(key)) continue;
    // A documented enum or const the API's pattern accepts says more than the pattern, not something else.
    if (
      key === 'pattern' &&
      ds[key] === undefined &&
      values?.every((v) => new RegExp(String(zn.pattern)).test(String(v)))
    ) {
      continue;
    }
    if ((key === 'enum' || key === 'const') && zn[key] === undefined && zn.pattern !== undefined) continue;
    out.push(`${path}: ${key} ${dv ?? 'absent'} in the document, ${zv ?? 'absent'} in the API`);
  }

  const zp = (zn.properties ?? {}) as Record<string, unknown>;
  const dp = (ds.properties ?? {}) as Record<string, unknown>;
  for (const key of new Set([...Object.keys(zp), ...Object.keys(dp)])) {
    out.push(...disagreements(zp[key], dp[key], `${path}.${key}`));
  }
  const zr = [...((zn.required as string[] | undefined) ?? [])].sort();
  const dr = [...((ds.required as string[] | undefined) ?? [])].sort();
  if (zr.join() !== dr.join()) out.push(`${path}: required [${dr.join()}] in the document, [${zr.join()}] in the API`);
  if (zn.additionalProperties === false && ds.additionalProperties !== false) {
    out.push(`${path}: the document allows fields the API refuses`);
  }
  if (typeof zn.additionalProperties === 'object') {
    out.push(...disagreements(zn.additionalProperties, ds.additionalProperties, `${path}{}`));
  }
  if (zn.propertyNames !== undefined || ds.propertyNames !== undefined) {
    out.push(...disagreements(zn.propertyNames ?? {}, ds.propertyNames ?? {}, `${path}<names>`));
  }
  return out;
}

function documentedBody(operation: string): unknown {
  const [method, route] = operation.split(' ') as [string, string];
  const paths = doc.paths as unknown as Record<string, Record<string, Schema>>;
  const op = paths[route]?.[method.toLowerCase()];
  const body = op?.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined;
  return body?.content?.['application/json']?.schema;
}

describe('the OpenAPI document’s request bodies', () => {
  it('are each compared here, or raw by design', () => {
    const paths = doc.paths as unknown as Record<string, Record<string, Schema>>;
    const withBodies = Object.entries(paths).flatMap(([route, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.requestBody !== undefined)
        .map(([method]) => `${method.toUpperCase()} ${route}`),
    );
    expect(withBodies.sort()).toEqual([...Object.keys(BODIES), ...RAW_BODIES].sort());
  });

  it.each(Object.entries(BODIES))('%s: the same fields and rules as the API’s schema', (operation, schema) => {
    const derived = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
    expect(disagreements(derived, documentedBody(operation), operation)).toEqual([]);
  });

  it('finds a field the document loosens', () => {
    // The comparison itself can fail: a pattern dropped from a documented field is reported.
    const documented = structuredClone(deref(documentedBody('POST /v1/payments/{merchant_order_reference}/otp')));
    delete ((documented?.properties as Record<string, Schema>).otp as Schema).pattern;
    const derived = z.toJSONSchema(OtpSchema, { io: 'input' });
    expect(disagreements(derived, documented, 'otp')).toEqual([
      'otp.otp: pattern absent in the document, "^\\\\d{4,8}$" in the API',
    ]);
  });
});
