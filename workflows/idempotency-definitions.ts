/**
 * The idempotency-key workflow's contract: its type, id, input and Updates. The API imports these (never the
 * workflow body); the workflow and its pure record (`idempotency-record.ts`) implement them. One workflow per
 * merchant and key remembers which request the key was first used with and, once that request has its answer, the
 * answer, for {@link IDEMPOTENCY_RETENTION_MS}.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

/** Workflow type name (the exported workflow function's name). */
export const IDEMPOTENCY_WORKFLOW_TYPE = 'idempotencyKeyWorkflow';

/** How long a key is remembered after its first use: 24 h, as Stripe keeps keys. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60_000;

/**
 * The key's workflow id: the merchant and a SHA-256 of the key (hex), so the merchant's own text never becomes an
 * id and every id has the same shape. A key is the merchant's: the same key of two merchants is two workflows.
 */
export function idempotencyWorkflowId(merchantId: string, keySha256Hex: string): string {
  return `idempotency:${merchantId}:${keySha256Hex}`;
}

/** Input of the key's workflow. */
export interface IdempotencyKeyInput {
  /** The merchant the key belongs to (also in the workflow id). */
  merchantId: string;
  /** How long the key is remembered from its first use. @default IDEMPOTENCY_RETENTION_MS */
  retentionMs?: number;
  /** Set by continue-as-new: the record so far and when it expires (epoch ms). */
  continued?: { record: IdempotencyRecordState; expiresAt: number };
}

/** An answer the API gave and replays: status, JSON body and the headers that belong to it. */
export interface StoredResponse {
  status: number;
  body: unknown;
  /** The `Location` header, when the answer had one (a created payment or customer). */
  location?: string;
}

/** `claim`: this request (by its fingerprint) wants to run under the key. */
export interface ClaimRequest {
  /** Fresh per request (the API's): who holds the key until it completes, releases, or its lease runs out. */
  claimId: string;
  /** A keyed hash of the request (method, route, path parameters, body): never the request itself. */
  fingerprint: string;
  /** How long the claim holds the key if its holder never completes (an API that died mid-request). */
  leaseMs: number;
  /**
   * The Update id this try will send its action as, unless an earlier try left one (`pendingUpdateId`). Kept with the
   * claim, so that a try that takes over after this one's holder died sends the same Update and hears its outcome.
   * Absent in claims from APIs before it (a takeover then sends a new Update).
   */
  updateId?: string;
}

/** What a claim found. */
export type ClaimAnswer =
  /**
   * The key is this request's now: run it, then `complete` or `release`. `pendingUpdateId`: the Update the payment had
   * not answered when an earlier try of this request ended (see {@link ReleaseRequest}), or the one an earlier try
   * claimed the key with and never released (its API died); else the claim's own `updateId`. This try sends it.
   */
  | { outcome: 'CLAIMED'; pendingUpdateId?: string }
  /** The same request holds the key and has not answered yet (its lease runs until `leaseEndsAt`, ISO 8601). */
  | { outcome: 'IN_PROGRESS'; leaseEndsAt: string }
  /** The key was used with another request (another body, route or payment). */
  | { outcome: 'MISMATCH' }
  /** The same request answered already: this is its answer. */
  | { outcome: 'COMPLETED'; response: StoredResponse };

/** `complete`: the claim's request answered this, to be replayed. */
export interface CompleteRequest {
  claimId: string;
  fingerprint: string;
  response: StoredResponse;
}

/**
 * `release`: the claim's request ended without an answer worth replaying. `keepBinding`: it may have taken effect
 * (a 202 or 5xx), so the key stays bound to its request; otherwise (nothing ran: a 400, 404, 429) the key is free.
 */
export interface ReleaseRequest {
  claimId: string;
  keepBinding: boolean;
  /**
   * The action's Update id when the payment had not answered it (the request ended 202 while it went on, or 503 as no
   * worker took it up): the next try of the request sends the same Update and so learns its own outcome. Absent when
   * the payment answered (a parked step's 202, an outage's 503): the next try is a new Update, answered as things are
   * then, never with that earlier answer again.
   */
  pendingUpdateId?: string;
}

/** The key's record, as the workflow holds it (and carries across continue-as-new). */
export interface IdempotencyRecordState {
  /** The request the key is bound to, if any. */
  fingerprint: string | undefined;
  /** The claim holding the key, if any, and when its lease ends (epoch ms, workflow time). */
  claim: { id: string; leaseEndsAt: number } | undefined;
  /** The answer to replay, once the request has one. */
  response: StoredResponse | undefined;
  /** The bound request's action Update the payment had not answered when its last try ended (a retry resends it). */
  pendingUpdateId?: string;
}

export const claimIdempotencyKeyUpdate = defineUpdate<ClaimAnswer, [ClaimRequest]>('claimIdempotencyKey');
/** Answers whether the response was stored (false: another answer was already, or the fingerprint differs). */
export const completeIdempotencyKeyUpdate = defineUpdate<boolean, [CompleteRequest]>('completeIdempotencyKey');
/** Answers whether the claim was released (false: it no longer held the key). */
export const releaseIdempotencyKeyUpdate = defineUpdate<boolean, [ReleaseRequest]>('releaseIdempotencyKey');
/** The record, for operators and tests (it holds hashes and the stored answer, never a request). */
export const getIdempotencyKeyQuery = defineQuery<IdempotencyRecordState>('getIdempotencyKey');
