import { api, encodeMessage, timestamp } from './proto';
import type { IHistoryEvent, Loose } from './proto';

const HistoryEventType = api.history.v1.HistoryEvent;

const FIRST_CHUNK_BYTES = 512;
const MAX_CHUNK_BYTES = 64 * 1024;

/** A history event without the fields the log assigns (id, time, task id). */
export type NewEvent = Omit<Loose<IHistoryEvent>, 'eventId' | 'eventTime' | 'taskId'>;

/**
 * The event log of one workflow run. Events are kept encoded (protobuf bytes), ready to be concatenated into a
 * response: no per-task copies or re-encoding of the whole history, and small memory per open workflow.
 */
export class History {
  readonly events: Uint8Array[] = [];
  sizeBytes = 0;
  /** Created on first subscribe: most runs never have a history long poll. */
  private listeners: Set<() => void> | undefined;
  private chunk: Buffer | undefined;
  private chunkUsed = 0;

  constructor(events?: Uint8Array[]) {
    if (events) for (const e of events) this.push(e);
  }

  get length(): number {
    return this.events.length;
  }

  get nextEventId(): number {
    return this.events.length + 1;
  }

  /** Appends an event and returns its id. */
  append(event: NewEvent, time: number, taskId: number): number {
    const eventId = this.events.length + 1;
    this.push(encodeEvent(event, eventId, time, taskId));
    if (this.listeners) for (const listener of this.listeners) listener();
    return eventId;
  }

  /** Appends an event encoded earlier with the next id (a transient workflow task that completed). */
  appendEncoded(bytes: Uint8Array): void {
    this.push(bytes);
    if (this.listeners) for (const listener of this.listeners) listener();
  }

  /** Events with ids in [fromId, toId] (inclusive, 1-based). */
  slice(fromId: number, toId = this.events.length): Uint8Array[] {
    return this.events.slice(Math.max(0, fromId - 1), Math.max(0, toId));
  }

  /** Calls `listener` after each append until the returned function is called. */
  subscribe(listener: () => void): () => void {
    const listeners = (this.listeners ??= new Set());
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Decodes one event (tests, persistence checks and the close-event filter only; the hot path never decodes). */
  decode(eventId: number): IHistoryEvent | undefined {
    const bytes = this.events[eventId - 1];
    return bytes ? HistoryEventType.decode(bytes) : undefined;
  }

  private push(bytes: Uint8Array): void {
    const stored = this.store(bytes);
    this.events.push(stored);
    this.sizeBytes += stored.length;
  }

  /**
   * Copies an event into memory owned by this run. Encoded events would otherwise be slices of Node's shared 8 KB
   * buffer pool, and a few long-lived slices keep whole pool blocks (mostly garbage) alive.
   */
  private store(bytes: Uint8Array): Uint8Array {
    const len = bytes.length;
    if (!this.chunk || this.chunkUsed + len > this.chunk.length) {
      const size = Math.max(len, this.chunk ? Math.min(this.chunk.length * 2, MAX_CHUNK_BYTES) : FIRST_CHUNK_BYTES);
      this.chunk = Buffer.allocUnsafeSlow(size);
      this.chunkUsed = 0;
    }
    const view = this.chunk.subarray(this.chunkUsed, this.chunkUsed + len);
    view.set(bytes);
    this.chunkUsed += len;
    return view;
  }
}

/** Encodes one event with the log-assigned fields. */
export function encodeEvent(event: NewEvent, eventId: number, time: number, taskId: number): Uint8Array {
  return encodeMessage(HistoryEventType, { ...event, eventId, eventTime: timestamp(time), taskId });
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(buf: Buffer, offset: number, n: number): number {
  while (n >= 0x80) {
    buf[offset++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[offset++] = n;
  return offset;
}

/**
 * Appends a `temporal.api.history.v1.History` message built from encoded events as field `fieldNo` to an already
 * encoded message. Protobuf allows a field to follow the others, so the result decodes as one message.
 */
export function appendHistoryField(head: Uint8Array, fieldNo: number, events: readonly Uint8Array[]): Buffer {
  let inner = 0;
  for (const e of events) inner += 1 + varintLength(e.length) + e.length;
  const tag = (fieldNo << 3) | 2;
  const total = head.length + varintLength(tag) + varintLength(inner) + inner;
  const buf = Buffer.allocUnsafe(total);
  buf.set(head, 0);
  let offset = writeVarint(buf, head.length, tag);
  offset = writeVarint(buf, offset, inner);
  for (const e of events) {
    buf[offset++] = (1 << 3) | 2;
    offset = writeVarint(buf, offset, e.length);
    buf.set(e, offset);
    offset += e.length;
  }
  return buf;
}
