/**
 * Parsing of the browser callback's fields (after {@link verifyCallbackSignature} has accepted them), so the API
 * layer never handles Plural's wire format itself.
 */
import { formatIssues } from './errors';
import { PluralCallbackSchema } from './schemas';
import type { PluralCallback } from './schemas';
import type { CallbackFields } from './signatures';

/** A parsed callback, or why it is not one (`message` is safe to return in a 400: it never echoes values). */
export type ParsedCallback = { ok: true; callback: PluralCallback } | { ok: false; message: string };

/** Parse verified callback fields: `payment_status` or `status`, `order_id`, optional error fields. Never throws. */
export function parseCallback(fields: CallbackFields): ParsedCallback {
  const parsed = PluralCallbackSchema.safeParse(fields);
  if (parsed.success) return { ok: true, callback: parsed.data };
  const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  return { ok: false, message: `callback fields are not a Plural callback: ${formatIssues(issues)}` };
}
