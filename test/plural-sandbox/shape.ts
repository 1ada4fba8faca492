/** Keys the guides document but the sandbox deliberately leaves out (each with its reason). */
export const NOT_SIMULATED: Readonly<Record<string, string>> = {
  convenience_fee_breakdown: 'the sandbox charges no convenience fee',
};

function methodOf(v: unknown): unknown {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>).payment_method : undefined;
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Every key of the documented sample must exist in the actual response with the same JSON type, recursively
 * (array elements: payments by payment_method, others element by element when lengths match, else against the first). Returns the differences.
 */
export function shapeDifferences(actual: unknown, documented: unknown, path = '$'): string[] {
  const a = kind(actual);
  const d = kind(documented);
  if (a !== d) return [`${path}: documented ${d}, got ${a}`];
  if (d === 'array') {
    const docs = documented as unknown[];
    const act = actual as unknown[];
    if (docs.length === 0) return [];
    if (act.length === 0) return [`${path}: documented non-empty array, got []`];
    return act.flatMap((el, i) => {
      // Payments are matched on payment_method (a POINTS payment is documented differently from a CARD one);
      // a method the sample does not show has nothing to compare against.
      const method = methodOf(el);
      if (method !== undefined && docs.some((d) => methodOf(d) !== undefined)) {
        const doc = docs.find((d) => methodOf(d) === method);
        return doc === undefined ? [] : shapeDifferences(el, doc, `${path}[${i}]`);
      }
      return shapeDifferences(el, docs.length === act.length ? docs[i] : docs[0], `${path}[${i}]`);
    });
  }
  if (d === 'object') {
    const out: string[] = [];
    for (const [key, value] of Object.entries(documented as Record<string, unknown>)) {
      if (key in NOT_SIMULATED) continue;
      if (!(key in (actual as Record<string, unknown>))) {
        out.push(`${path}.${key}: missing`);
        continue;
      }
      out.push(...shapeDifferences((actual as Record<string, unknown>)[key], value, `${path}.${key}`));
    }
    return out;
  }
  return [];
}
