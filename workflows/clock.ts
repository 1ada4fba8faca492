/**
 * Workflow time. Inside a workflow `Date.now()` is deterministic (the SDK replaces it with the time of the current
 * workflow task); reading it only here keeps every use visible. The lint config exempts this file.
 */

/** Current workflow time, epoch milliseconds. */
export function nowMs(): number {
  return Date.now();
}

/** Epoch milliseconds as ISO 8601. */
export function isoAt(ms: number): string {
  return new Date(ms).toISOString();
}
