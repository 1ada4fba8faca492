/**
 * Activities for the conformance suite. Each call records what it saw under `input.key` in a journal the test
 * reads back, so tests can assert on attempts, heartbeat details and cancellation without timing guesses.
 */
import { ApplicationFailure, Context, CancelledFailure } from '@temporalio/activity';

export interface ActivityInput {
  /** Journal key: one per test, so tests sharing a worker do not see each other's records. */
  key: string;
  /** Attempts that fail before one succeeds. */
  failures?: number;
  /** `type` of the ApplicationFailure thrown on a failing attempt. */
  errorType?: string;
  nonRetryable?: boolean;
  /** Delay the failure asks the server to wait before the next attempt. */
  nextRetryDelayMs?: number;
  /** How long the activity runs before it returns. */
  runMs?: number;
  /** Heartbeat this often while running (no heartbeats when unset). */
  heartbeatEveryMs?: number;
  amountMinor?: number;
}

export interface AttemptRecord {
  attempt: number;
  /** Wall-clock ms when the attempt started running in the worker. */
  startedAtMs: number;
  heartbeatDetails: unknown;
  cancelled?: string;
  /** Message of an unexpected error the attempt ran into. */
  error?: string;
}

export type Journal = Map<string, AttemptRecord[]>;

function record(journal: Journal, key: string): AttemptRecord {
  const info = Context.current().info;
  const entry: AttemptRecord = {
    attempt: info.attempt,
    startedAtMs: Date.now(),
    heartbeatDetails: info.heartbeatDetails as unknown,
  };
  const list = journal.get(key) ?? [];
  list.push(entry);
  journal.set(key, list);
  return entry;
}

export interface ActivityDeps {
  /** Moves server time forward (the environment's `sleep`); used to race an activity against a workflow timer. */
  sleepServerTime?: (ms: number) => Promise<void>;
}

/** Builds the activities with a journal the test owns. */
export function createConformanceActivities(journal: Journal, deps: ActivityDeps = {}) {
  return {
    /** Sleeps `runMs` of server time through the environment (skipped time under time skipping), then returns. */
    async sleepServerTime(input: ActivityInput): Promise<string> {
      const entry = record(journal, input.key);
      if (!deps.sleepServerTime) throw new Error('sleepServerTime needs the environment; pass it to the worker');
      try {
        await deps.sleepServerTime(input.runMs ?? 0);
      } catch (err) {
        entry.error = String(err);
        throw err;
      }
      return 'slept';
    },

    /** Fails `failures` times (as configured), then returns the attempt number that succeeded. */
    failTimes(input: ActivityInput): Promise<number> {
      const entry = record(journal, input.key);
      if (entry.attempt <= (input.failures ?? 0)) {
        throw ApplicationFailure.create({
          message: `attempt ${entry.attempt} fails on purpose`,
          type: input.errorType ?? 'DeliberateFailure',
          nonRetryable: input.nonRetryable ?? false,
          nextRetryDelay: input.nextRetryDelayMs,
        });
      }
      return Promise.resolve(entry.attempt);
    },

    /** Heartbeats its attempt number, fails on attempt 1, and returns the details it saw on attempt 2. */
    async heartbeatThenFail(input: ActivityInput): Promise<unknown> {
      const entry = record(journal, input.key);
      if (entry.attempt === 1) {
        Context.current().heartbeat(`progress-of-attempt-${entry.attempt}`);
        // Heartbeats are batched by the worker; give the batch time to reach the server before failing.
        await Context.current().sleep(300);
        throw ApplicationFailure.create({ message: 'fail after heartbeating', type: 'DeliberateFailure' });
      }
      return entry.heartbeatDetails;
    },

    /** Attempt 1 heartbeats once and then hangs past its heartbeat timeout; later attempts return the details seen. */
    async heartbeatThenHang(input: ActivityInput): Promise<unknown> {
      const entry = record(journal, input.key);
      if (entry.attempt === 1) {
        Context.current().heartbeat(`progress-of-attempt-${entry.attempt}`);
        await Context.current().sleep(input.runMs ?? 3_000);
        return 'attempt 1 was not timed out';
      }
      return entry.heartbeatDetails;
    },

    /** Runs for `runMs` (cancellation-aware sleep), heartbeating every `heartbeatEveryMs` if set; returns 'done'. */
    async runFor(input: ActivityInput): Promise<string> {
      record(journal, input.key);
      const ctx = Context.current();
      const every = input.heartbeatEveryMs;
      if (every === undefined) {
        await ctx.sleep(input.runMs ?? 0);
        return 'done';
      }
      for (let elapsed = 0; elapsed < (input.runMs ?? 0); elapsed += every) {
        ctx.heartbeat(elapsed);
        await ctx.sleep(every);
      }
      return 'done';
    },

    /** Heartbeats every 100 ms until the activity is cancelled; records the cancellation reason. */
    async heartbeatUntilCancelled(input: ActivityInput): Promise<string> {
      const entry = record(journal, input.key);
      const ctx = Context.current();
      for (;;) {
        ctx.heartbeat('alive');
        try {
          await ctx.sleep(100);
        } catch (err) {
          if (err instanceof CancelledFailure) {
            entry.cancelled = err.message;
          }
          throw err;
        }
      }
    },

    /** Payment-shaped step: authorizes an amount in integer minor units. */
    authorize(input: ActivityInput): Promise<string> {
      return Promise.resolve(`authorized ${input.amountMinor ?? 0} for ${input.key}`);
    },
  };
}
