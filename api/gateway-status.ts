/**
 * Whether a payment's current step is being retried because the gateway fails, read from the workflow's pending
 * activities (`describe()`): the activity type, its attempt, the retry budget, when the next attempt starts, and the
 * last failure reduced to its type, HTTP status and error code (the activities put those in the failure's details;
 * the message is never read: it may echo what was sent).
 */
import type { LoadedDataConverter } from '@temporalio/common';
import { decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow/codec-helpers';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import { FAILURE_TYPE } from '../workflows/definitions';
import type { GatewayRetryStatus } from './engine';

export type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;

/** Plural codes and network error codes are upper-case words; anything else is not repeated. */
const SAFE_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;
const SAFE_TYPE = /^[A-Za-z]{1,64}$/;

interface Details {
  code?: unknown;
  httpStatus?: unknown;
  errorType?: unknown;
}

/** `HTTP 503 INTERNAL_ERROR`, `PluralTimeoutError`, `PluralConnectionError ECONNREFUSED`. */
function summarize(details: Details | undefined): string | undefined {
  if (!details) return undefined;
  const code = typeof details.code === 'string' && SAFE_CODE.test(details.code) ? details.code : undefined;
  const status =
    typeof details.httpStatus === 'number' && Number.isInteger(details.httpStatus) ? details.httpStatus : undefined;
  const errorType =
    typeof details.errorType === 'string' && SAFE_TYPE.test(details.errorType) ? details.errorType : undefined;
  const head = status !== undefined ? `HTTP ${status}` : errorType;
  const tail = code !== undefined && code !== FAILURE_TYPE.GATEWAY_UNAVAILABLE ? code : undefined;
  const text = [head, tail].filter((p) => p !== undefined).join(' ');
  return text === '' ? undefined : text;
}

/** The failure's chain (an activity's own failure, or one wrapping it), first to last. */
function chain(err: unknown): { name?: unknown; type?: unknown; details?: unknown; timeoutType?: unknown }[] {
  const out: { name?: unknown; type?: unknown; details?: unknown; timeoutType?: unknown }[] = [];
  let current: unknown = err;
  while (current !== null && typeof current === 'object' && out.length < 5) {
    out.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return out;
}

async function classify(
  activity: PendingActivity,
  converter: LoadedDataConverter,
): Promise<Pick<GatewayRetryStatus, 'reason' | 'lastError'> | undefined> {
  const raw = activity.lastFailure;
  if (!raw) return undefined;
  let decoded: unknown;
  try {
    decoded = await decodeOptionalFailureToOptionalError(converter, raw);
  } catch {
    // Undecodable (e.g. a codec key this process lacks): the failure type is stored in clear.
    return raw.applicationFailureInfo?.type === FAILURE_TYPE.GATEWAY_UNAVAILABLE
      ? { reason: 'gateway_unavailable', lastError: undefined }
      : undefined;
  }
  for (const f of chain(decoded)) {
    if (f.name === 'ApplicationFailure' && f.type === FAILURE_TYPE.GATEWAY_UNAVAILABLE) {
      const details = Array.isArray(f.details) ? (f.details[0] as Details | undefined) : undefined;
      return { reason: 'gateway_unavailable', lastError: summarize(details) };
    }
    if (f.name === 'TimeoutFailure') {
      return { reason: 'gateway_timeout', lastError: 'the call to the gateway timed out' };
    }
  }
  return undefined;
}

/**
 * The gateway retry status of a running workflow, from its pending activities; undefined when no step is being
 * retried for a gateway failure.
 */
export async function gatewayRetryStatus(
  pending: readonly PendingActivity[] | null | undefined,
  converter: LoadedDataConverter,
): Promise<GatewayRetryStatus | undefined> {
  let best: GatewayRetryStatus | undefined;
  for (const activity of pending ?? []) {
    const attempt = activity.attempt ?? 1;
    const why = await classify(activity, converter);
    if (!why) continue;
    if (best && best.attempt >= attempt) continue;
    const maxAttempts = activity.maximumAttempts ?? 0;
    const nextMs = optionalTsToMs(activity.nextAttemptScheduleTime);
    best = {
      status: 'unavailable',
      ...why,
      operation: activity.activityType?.name ?? 'unknown',
      attempt,
      maxAttempts: maxAttempts > 0 ? maxAttempts : undefined,
      // A pending activity is one Temporal has not given up on: an attempt is running or scheduled.
      retrying: true,
      nextAttemptAt: nextMs !== undefined ? new Date(nextMs).toISOString() : undefined,
    };
  }
  return best;
}
