import { RetryState, durationMs } from './proto';
import type { IFailure, IRetryPolicy, Loose } from './proto';
import type { temporal } from '@temporalio/proto';
import type { RetryPolicy } from './workflow-run';

/** Applies the server's retry-policy defaults (1 s initial, x2, max 100 x initial, unlimited attempts). */
export function normalizeRetryPolicy(p: IRetryPolicy | null | undefined): RetryPolicy {
  const initialIntervalMs = durationMs(p?.initialInterval) || 1000;
  return {
    initialIntervalMs,
    backoffCoefficient: p?.backoffCoefficient || 2,
    maximumIntervalMs: durationMs(p?.maximumInterval) || 100 * initialIntervalMs,
    maximumAttempts: p?.maximumAttempts ?? 0,
    nonRetryableErrorTypes: p?.nonRetryableErrorTypes ?? [],
  };
}

/** The policy as the server reports it (defaults filled in), for events and activity tasks. */
export function retryPolicyProto(p: RetryPolicy): Loose<IRetryPolicy> {
  return {
    initialInterval: { seconds: Math.floor(p.initialIntervalMs / 1000), nanos: (p.initialIntervalMs % 1000) * 1e6 },
    backoffCoefficient: p.backoffCoefficient,
    maximumInterval: { seconds: Math.floor(p.maximumIntervalMs / 1000), nanos: (p.maximumIntervalMs % 1000) * 1e6 },
    maximumAttempts: p.maximumAttempts,
    nonRetryableErrorTypes: p.nonRetryableErrorTypes,
  };
}

export type RetryDecision =
  { retry: true; backoffMs: number } | { retry: false; retryState: temporal.api.enums.v1.RetryState };

/**
 * Whether attempt `attempt` that failed with `failure` is retried, and after what delay: honours `nonRetryable`,
 * `nonRetryableErrorTypes`, `maximumAttempts`, `nextRetryDelay` and an expiration (schedule-to-close / execution
 * timeout) that the backoff would cross.
 */
export function retryDecision(
  policy: RetryPolicy,
  attempt: number,
  failure: IFailure | null | undefined,
  now: number,
  expirationTime: number,
): RetryDecision {
  const info = failure?.applicationFailureInfo;
  if (info?.nonRetryable) return { retry: false, retryState: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE };
  const type = info ? info.type : failure?.timeoutFailureInfo ? timeoutErrorType(failure) : undefined;
  if (type && policy.nonRetryableErrorTypes.includes(type)) {
    return { retry: false, retryState: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE };
  }
  if (policy.maximumAttempts > 0 && attempt >= policy.maximumAttempts) {
    return { retry: false, retryState: RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED };
  }
  const requested = durationMs(info?.nextRetryDelay);
  const backoffMs =
    requested > 0
      ? requested
      : Math.min(policy.initialIntervalMs * Math.pow(policy.backoffCoefficient, attempt - 1), policy.maximumIntervalMs);
  if (expirationTime > 0 && now + backoffMs >= expirationTime) {
    return { retry: false, retryState: RetryState.RETRY_STATE_TIMEOUT };
  }
  return { retry: true, backoffMs: Math.round(backoffMs) };
}

const TIMEOUT_TYPE_NAMES: Record<number, string> = {
  1: 'StartToClose',
  2: 'ScheduleToStart',
  3: 'ScheduleToClose',
  4: 'Heartbeat',
};

function timeoutErrorType(failure: IFailure): string {
  return `TemporalTimeout:${TIMEOUT_TYPE_NAMES[failure.timeoutFailureInfo?.timeoutType ?? 0] ?? 'Unspecified'}`;
}

/** The name the real server uses for a timeout type in messages, e.g. "activity StartToClose timeout". */
export function timeoutTypeName(type: number): string {
  return TIMEOUT_TYPE_NAMES[type] ?? 'Unspecified';
}
