import * as protoRoot from '@temporalio/proto';
import type { google, temporal } from '@temporalio/proto';
import type Long from 'long';

/** The reflection root of the Temporal API protobuf definitions. */
export const root = protoRoot;
export const api = protoRoot.temporal.api;

export type IPayload = temporal.api.common.v1.IPayload;
export type IPayloads = temporal.api.common.v1.IPayloads;
export type IFailure = temporal.api.failure.v1.IFailure;
export type IHistoryEvent = temporal.api.history.v1.IHistoryEvent;
export type IRetryPolicy = temporal.api.common.v1.IRetryPolicy;
export type IHeader = temporal.api.common.v1.IHeader;
export type IMemo = temporal.api.common.v1.IMemo;
export type ISearchAttributes = temporal.api.common.v1.ISearchAttributes;
export type IDuration = google.protobuf.IDuration;
export type ITimestamp = google.protobuf.ITimestamp;
export type IWorkflowQuery = temporal.api.query.v1.IWorkflowQuery;
export type ICommand = temporal.api.command.v1.ICommand;

export const EventType = protoRoot.temporal.api.enums.v1.EventType;
export const CommandType = protoRoot.temporal.api.enums.v1.CommandType;
export const WorkflowExecutionStatus = protoRoot.temporal.api.enums.v1.WorkflowExecutionStatus;
export type WorkflowExecutionStatusValue = temporal.api.enums.v1.WorkflowExecutionStatus;
export const RetryState = protoRoot.temporal.api.enums.v1.RetryState;
export const TimeoutType = protoRoot.temporal.api.enums.v1.TimeoutType;
export const TaskQueueKind = protoRoot.temporal.api.enums.v1.TaskQueueKind;
export const WorkflowTaskFailedCause = protoRoot.temporal.api.enums.v1.WorkflowTaskFailedCause;

/** A protobuf interface type whose int64 fields also accept plain numbers (protobufjs encodes both). */
export type Loose<T> = T extends Long
  ? Long | number
  : T extends Uint8Array
    ? T
    : T extends (infer U)[]
      ? Loose<U>[]
      : T extends object
        ? { [K in keyof T]: Loose<T[K]> }
        : T;

/** Reads an int64 field that protobufjs decoded as a Long (or a number). */
export function toNum(value: number | Long | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

/** Milliseconds since the epoch to a protobuf Timestamp. */
export function timestamp(ms: number): Loose<ITimestamp> {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** A protobuf Timestamp to milliseconds (0 when absent). */
export function timestampMs(ts: Loose<ITimestamp> | null | undefined): number {
  if (!ts) return 0;
  return toNum(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

/** Milliseconds to a protobuf Duration. */
export function duration(ms: number): Loose<IDuration> {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** A protobuf Duration to milliseconds (0 when absent, meaning "not set"). */
export function durationMs(d: Loose<IDuration> | null | undefined): number {
  if (!d) return 0;
  return toNum(d.seconds) * 1000 + Math.floor((d.nanos ?? 0) / 1e6);
}

/** A protobuf Duration or undefined when the value is 0 ("not set"). */
export function optionalDuration(ms: number): Loose<IDuration> | undefined {
  return ms > 0 ? duration(ms) : undefined;
}

/** Encodes a message given with plain numbers for int64 fields. */
export function encodeMessage<T>(
  type: { encode(message: T): { finish(): Uint8Array } },
  message: Loose<T>,
): Uint8Array {
  return type.encode(message as unknown as T).finish();
}

/** A copy of bytes in memory of their own (decoded request fields are views into the whole request buffer). */
export function ownBytes(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  copy.set(bytes);
  return copy;
}

/** A payload that no longer references the request it was decoded from (for state kept long-term). */
export function ownPayload(p: IPayload): IPayload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = ownBytes(v);
  return { metadata, data: p.data ? ownBytes(p.data) : p.data };
}
