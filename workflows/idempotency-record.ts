/**
 * The rules of one idempotency key, without Temporal: which request a claim gets, when a lease has run out, what is
 * stored. The key's workflow holds one {@link IdempotencyRecord} and passes workflow time in; tests call it directly.
 */
import type {
  ClaimAnswer,
  ClaimRequest,
  CompleteRequest,
  IdempotencyRecordState,
  ReleaseRequest,
} from './idempotency-definitions';

export class IdempotencyRecord {
  private state: IdempotencyRecordState;

  constructor(state?: IdempotencyRecordState) {
    this.state = state ? { ...state } : { fingerprint: undefined, claim: undefined, response: undefined };
  }

  /**
   * A request wants the key at `nowMs`. Another request's key is a mismatch (whatever else holds); an answered one is
   * replayed; one held by an unexpired lease is in progress; otherwise this request gets it (a lease that ran out is
   * taken over: the request behind it may have died, and the operations it runs are idempotent in the payment).
   */
  claim(request: ClaimRequest, nowMs: number): ClaimAnswer {
    const s = this.state;
    if (s.fingerprint !== undefined && s.fingerprint !== request.fingerprint) return { outcome: 'MISMATCH' };
    if (s.response) return { outcome: 'COMPLETED', response: s.response };
    // The same claim again (its first answer was lost on the way back to the API): it still holds the key.
    if (s.claim?.id === request.claimId) {
      return { outcome: 'CLAIMED', ...(s.pendingUpdateId !== undefined ? { pendingUpdateId: s.pendingUpdateId } : {}) };
    }
    if (s.claim && s.claim.leaseEndsAt > nowMs) {
      return { outcome: 'IN_PROGRESS', leaseEndsAt: new Date(s.claim.leaseEndsAt).toISOString() };
    }
    // An earlier try of this request left its action's Update unanswered, or claimed the key with one and died before
    // it could say (its lease ran out): this try sends the same one, and hears that action's own outcome.
    const pending = (s.fingerprint === request.fingerprint ? s.pendingUpdateId : undefined) ?? request.updateId;
    const claimed: ClaimAnswer = { outcome: 'CLAIMED', ...(pending !== undefined ? { pendingUpdateId: pending } : {}) };
    this.state = {
      fingerprint: request.fingerprint,
      claim: { id: request.claimId, leaseEndsAt: nowMs + request.leaseMs },
      response: undefined,
      ...(pending !== undefined ? { pendingUpdateId: pending } : {}),
    };
    return claimed;
  }

  /**
   * Store the request's answer. The first answer of the bound request wins, even from a claim whose lease was taken
   * over (it is as true as the later one's); true when this one was stored.
   */
  complete(request: CompleteRequest): boolean {
    const s = this.state;
    if (s.response || s.fingerprint !== request.fingerprint) return false;
    this.state = { fingerprint: s.fingerprint, claim: undefined, response: request.response };
    return true;
  }

  /** The claim ends without an answer to replay; true when it still held the key. */
  release(request: ReleaseRequest): boolean {
    const s = this.state;
    if (s.claim?.id !== request.claimId) return false;
    const free = !request.keepBinding && s.response === undefined;
    // Kept only for a request still bound and whose Update went unanswered; an answered one is not sent again.
    const pending = free ? undefined : request.pendingUpdateId;
    this.state = {
      fingerprint: free ? undefined : s.fingerprint,
      claim: undefined,
      response: s.response,
      ...(pending !== undefined ? { pendingUpdateId: pending } : {}),
    };
    return true;
  }

  snapshot(): IdempotencyRecordState {
    return { ...this.state };
  }
}
