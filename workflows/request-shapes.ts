/**
 * What each Update takes. The API sends only requests it has parsed, but operators send Updates by hand (the Temporal
 * CLI, the UI's _Send an Update_): a request of another shape is refused by the Update's validator (400
 * `invalid_request` through the API), never run — a handler that read a field of a missing request would fail the
 * workflow task and hold the payment up until a fixed build. Refusals write nothing to history (validators do not run
 * on replay), so these checks are replay-safe.
 */
import { UPDATE_REJECTION } from './definitions';
import type { CancelRequest, CaptureRequest, OperatorRequest, RefundRequest, SubmitOtpRequest } from './definitions';
import { reject } from './validators';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optionalString = (v: unknown): boolean => v === undefined || typeof v === 'string';
const nonEmptyString = (v: unknown): boolean => typeof v === 'string' && v !== '';
/** Money in minor units: a positive safe integer and a currency code. */
const isMoney = (v: unknown): boolean =>
  isRecord(v) && Number.isSafeInteger(v.value) && (v.value as number) > 0 && nonEmptyString(v.currency);

function refuse(update: string, takes: string): never {
  return reject(UPDATE_REJECTION.INVALID_REQUEST, 'invalid_request', `the ${update} Update takes ${takes}`);
}

export function submitOtpRequest(request: unknown): SubmitOtpRequest {
  if (isRecord(request) && nonEmptyString(request.otpHandle) && optionalString(request.otpDigest)) {
    return request as unknown as SubmitOtpRequest;
  }
  return refuse('submitOtp', '{ "otpHandle": string, "otpDigest"?: string }');
}

/** A missing request is an empty one: capture all. */
export function captureRequest(request: unknown): CaptureRequest {
  if (request === undefined || request === null) return {};
  if (isRecord(request) && (request.amount === undefined || isMoney(request.amount))) return request;
  return refuse('capture', '{ "amount"?: { "value": positive integer (minor units), "currency": string } }');
}

/** A missing request is an empty one. */
export function cancelRequest(request: unknown): CancelRequest {
  if (request === undefined || request === null) return {};
  if (isRecord(request) && optionalString(request.reason)) return request;
  return refuse('cancel', '{ "reason"?: string }');
}

export function refundRequest(request: unknown): RefundRequest {
  if (
    isRecord(request) &&
    nonEmptyString(request.merchantRefundReference) &&
    (request.amount === undefined || isMoney(request.amount)) &&
    optionalString(request.reason)
  ) {
    return request as unknown as RefundRequest;
  }
  return refuse(
    'refund',
    '{ "merchantRefundReference": string, "amount"?: { "value": positive integer (minor units), "currency": string }, "reason"?: string }',
  );
}

/** A missing request is an empty one (the audit then names no operator). */
export function operatorRequest(update: string, request: unknown): OperatorRequest {
  if (request === undefined || request === null) return {};
  if (isRecord(request) && optionalString(request.operator) && optionalString(request.reason)) {
    return request;
  }
  return refuse(update, '{ "operator"?: string, "reason"?: string }');
}
