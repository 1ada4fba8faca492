/**
 * Checks an API answer against the schema the OpenAPI document gives it (JSON Schema 2020-12, as OpenAPI 3.1 uses),
 * so a test can hold the document to what the API really answers.
 */
import { Ajv2020 } from 'ajv/dist/2020';
import { buildOpenApiDocument } from '../../api/openapi';

const doc = buildOpenApiDocument({ serverUrl: 'http://localhost' });
// `format` and OpenAPI's annotations (`examples`, `deprecated`) are not checked: structure, types and bounds are.
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ $id: 'openapi', components: doc.components });

/** Where `body` breaks the document's `components.schemas[name]`, one line each; empty when it conforms. */
export function schemaViolations(name: string, body: unknown): string[] {
  const validate = ajv.getSchema(`openapi#/components/schemas/${name}`);
  if (!validate) throw new Error(`the OpenAPI document has no schema ${name}`);
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? 'is invalid'}`);
}
