/**
 * Old news in Plural's browser callback. The callback carries no timestamp and no nonce (the guides sign `order_id`,
 * the status and the error fields only), so the same payment result is always the same signed fields: a customer
 * reloading the return URL and someone replaying a copied one send the same request. The API bounds them two ways
 * before anything reaches a payment:
 * - **age, from the order's timeline**: a callback is only delivered to a payment created within
 *   {@link callbackMaxAgeMs} (Temporal's own record of when the workflow first started, `PaymentCreatedAt`, which the
 *   order follows at once);
 *   a customer cannot come back from Plural's page after their window to pay has closed;
 * - **repeats**: a callback already delivered (the same signature) within that window is not delivered again.
 * Neither is a refusal the browser sees: it is still sent to the merchant's page, which reads the payment's status
 * from the API (a payment's own `return_url` gets the status the engine has now, signed — never the callback's claim;
 * see return-url.ts). Nothing moves money on a callback anyway: the workflow confirms each with Get Order and ignores one it
 * has seen (`callback:<order>:<status>`), so this is defence in depth, and the place where such callbacks are counted.
 */
import { DEFAULT_DURATIONS } from '../workflows/definitions';
import type { PaymentDurations } from '../workflows/definitions';

/** Slack after the customer's window: Plural's redirect, the browser, and clock differences between hosts. */
export const CALLBACK_GRACE_MS = 15 * 60_000;

/** Callbacks remembered at most; past that the oldest are forgotten (the workflow still ignores their repeats). */
export const SEEN_CALLBACKS_MAX = 50_000;

/**
 * How old (since its payment started) a callback may be: the longest window a customer has on Plural's pages (OTP,
 * 3-D Secure challenge, hosted checkout) plus {@link CALLBACK_GRACE_MS}. 45 minutes with the default windows.
 */
export function callbackMaxAgeMs(durations: Partial<PaymentDurations> = {}): number {
  const d = { ...DEFAULT_DURATIONS, ...durations };
  return Math.max(d.otpWindowMs, d.challengeWindowMs, d.checkoutWindowMs) + CALLBACK_GRACE_MS;
}

/**
 * Callbacks this API process delivered, by merchant and signature (the caller's key), for as long as they could be
 * delivered at all (`ttlMs`, the callback's maximum age). Per process: a repeat reaching another replica is bounded by
 * the age check and ignored by the workflow.
 */
export class SeenCallbacks {
  /** Insertion order is expiry order (one `ttlMs` for all), so expired entries are always at the front. */
  private readonly entries = new Map<string, { reference: string; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = SEEN_CALLBACKS_MAX,
  ) {}

  /** The merchant order reference this callback was delivered to within the window, or undefined. */
  deliveredTo(key: string, nowMs: number): string | undefined {
    this.evict(nowMs);
    return this.entries.get(key.toLowerCase())?.reference;
  }

  /** Records a delivered callback. */
  remember(key: string, reference: string, nowMs: number): void {
    const k = key.toLowerCase();
    this.entries.delete(k);
    this.entries.set(k, { reference, expiresAt: nowMs + this.ttlMs });
    this.evict(nowMs);
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(nowMs: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > nowMs && this.entries.size <= this.maxEntries) break;
      this.entries.delete(key);
    }
  }
}
