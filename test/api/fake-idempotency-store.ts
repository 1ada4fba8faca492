/**
 * An in-memory {@link IdempotencyStore} over the key workflow's own rules (`IdempotencyRecord`), so API tests run the
 * same decisions as the Temporal store. It records every call, can be made unreachable, and can hold `complete` on a
 * gate (a request that has its answer but has not yet stored it: still in progress for everyone else).
 */
import type { IdempotencyStore } from '../../api/idempotency';
import { EngineUnavailableError } from '../../api/engine';
import { IdempotencyRecord } from '../../workflows/idempotency-record';
import type {
  ClaimAnswer,
  ClaimRequest,
  CompleteRequest,
  ReleaseRequest,
} from '../../workflows/idempotency-definitions';

export type StoreCall =
  | { method: 'claim'; workflowId: string; merchantId: string; request: ClaimRequest; answer: ClaimAnswer }
  | { method: 'complete'; workflowId: string; request: CompleteRequest }
  | { method: 'release'; workflowId: string; request: ReleaseRequest };

export class FakeIdempotencyStore implements IdempotencyStore {
  readonly records = new Map<string, IdempotencyRecord>();
  readonly calls: StoreCall[] = [];
  reachable = true;
  /** Clock of leases, ms (tests move it). */
  nowMs = Date.parse('2026-12-05T00:00:00Z');
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  private reachedGate: (() => void) | undefined;

  /** Hold every `complete` until {@link openGate}; resolves the returned promise when one is held. */
  holdCompletes(): Promise<void> {
    this.gate = new Promise<void>((resolve) => (this.open = resolve));
    return new Promise<void>((resolve) => (this.reachedGate = resolve));
  }

  openGate(): void {
    this.open?.();
    this.gate = undefined;
  }

  private check(): void {
    if (!this.reachable) throw new EngineUnavailableError('Temporal call failed: claim an idempotency key');
  }

  claim(workflowId: string, merchantId: string, request: ClaimRequest): Promise<ClaimAnswer> {
    this.check();
    let record = this.records.get(workflowId);
    if (!record) this.records.set(workflowId, (record = new IdempotencyRecord()));
    const answer = record.claim(request, this.nowMs);
    this.calls.push({ method: 'claim', workflowId, merchantId, request, answer });
    return Promise.resolve(answer);
  }

  async complete(workflowId: string, request: CompleteRequest): Promise<boolean> {
    this.check();
    this.calls.push({ method: 'complete', workflowId, request });
    if (this.gate) {
      this.reachedGate?.();
      await this.gate;
    }
    // Stored as the workflow would (through a payload converter): JSON, not the live object.
    const stored = JSON.parse(JSON.stringify(request)) as CompleteRequest;
    return this.records.get(workflowId)?.complete(stored) ?? false;
  }

  release(workflowId: string, request: ReleaseRequest): Promise<boolean> {
    this.check();
    this.calls.push({ method: 'release', workflowId, request });
    return Promise.resolve(this.records.get(workflowId)?.release(request) ?? false);
  }

  /** Every record as JSON: what Temporal would hold. */
  storedText(): string {
    return JSON.stringify([...this.records].map(([id, r]) => [id, r.snapshot()]));
  }
}
