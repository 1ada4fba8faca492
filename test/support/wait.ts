/**
 * The one way tests wait for something that happens on its own time (a workflow reaching a state, a webhook arriving,
 * a line in a child's output): poll a probe until it yields a value, or fail saying what was awaited and what was
 * last seen. Free of vitest and Temporal, so scripts and every kind of test can use it.
 */

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** How long to keep probing before failing. @default 20_000 */
  timeoutMs?: number;
  /**
   * The pause between two probes, in real time (`setTimeout`): on the time-skipping test server, time stays locked
   * while a test waits this way, unlike `env.sleep`, which skips time. @default 100
   */
  intervalMs?: number;
  /** What was last observed (a status, a count, the output so far), for the timeout's message. */
  describeLast?: () => string | Promise<string>;
}

/** A {@link waitFor} that ran out of time; its message names what was awaited and what was last seen. */
export class WaitForTimeoutError extends Error {
  override readonly name = 'WaitForTimeoutError';

  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    readonly lastSeen: string | undefined,
  ) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}${lastSeen ? `; ${lastSeen}` : ''}`);
  }
}

/**
 * Calls `probe` until it returns something other than `undefined` or `false`, and resolves with that. The probe runs
 * at least once, and once more when the time is up. An error the probe throws ends the wait with that error: a probe
 * for which "not yet" can be an error (a query before the workflow's first task) catches it and returns `undefined`.
 * @throws {WaitForTimeoutError} when the probe has not yielded a value within `timeoutMs`
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitForOptions = {},
): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 100, describeLast } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new WaitForTimeoutError(what, timeoutMs, await describe(describeLast));
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The last observation, or why there is none: the timeout is reported either way. */
async function describe(describeLast: WaitForOptions['describeLast']): Promise<string | undefined> {
  if (!describeLast) return undefined;
  try {
    return await describeLast();
  } catch (err) {
    return `(the last state could not be described: ${err instanceof Error ? err.message : String(err)})`;
  }
}
