/**
 * Access-token cache: one token per client, refreshed before it expires, with at most one refresh in flight.
 */
import type { TokenResponse } from './schemas';

/** A bearer token and when it stops being used. */
export interface AccessToken {
  /** The bearer token. Never log it. */
  value: string;
  /** Epoch ms at which Plural stops accepting it. */
  expiresAtMs: number;
}

/** Options for {@link TokenCache}. */
export interface TokenCacheOptions {
  /** Fetches a fresh token from Plural. */
  fetchToken: () => Promise<AccessToken>;
  /** Clock in epoch ms. */
  now: () => number;
  /** Refresh this long before expiry; capped at half the token's lifetime so short-lived tokens still get reused. */
  refreshMarginMs: number;
}

/**
 * Expiry of a token response in epoch ms. Accepts `expires_in` (seconds from now) or `expires_at` (ISO timestamp,
 * or a unix epoch in seconds or milliseconds). Returns undefined when neither yields a usable future instant.
 */
export function tokenExpiryMs(response: TokenResponse, nowMs: number): number | undefined {
  if (response.expires_in != null) return nowMs + response.expires_in * 1000;
  const at = response.expires_at;
  if (at == null) return undefined;
  let ms: number;
  if (typeof at === 'number' || /^\d+$/.test(at)) {
    const n = Number(at);
    // Below 10^12 it can only be seconds (10^12 ms is 2001-09-09).
    ms = n < 1e12 ? n * 1000 : n;
  } else {
    ms = Date.parse(at);
  }
  return Number.isFinite(ms) && ms > nowMs ? ms : undefined;
}

/** Caches one access token; concurrent callers share a single refresh. */
export class TokenCache {
  private current: { token: AccessToken; refreshAtMs: number } | undefined;
  private inFlight: Promise<AccessToken> | undefined;

  constructor(private readonly options: TokenCacheOptions) {}

  /**
   * A token valid for at least the refresh margin, fetching one if needed. A refresh that fails while the cached token
   * is still accepted (inside the margin, before its expiry) leaves the call with that token: the token endpoint's
   * outage then costs nothing until the token expires (each call past the margin tries the refresh again).
   */
  async get(): Promise<string> {
    const cached = this.current;
    if (cached && this.options.now() < cached.refreshAtMs) return cached.token.value;
    try {
      return (await this.refresh()).value;
    } catch (err) {
      const still = this.current;
      if (still && still === cached && this.options.now() < still.token.expiresAtMs) return still.token.value;
      throw err;
    }
  }

  /** Start a refresh, or join the one already in flight. */
  refresh(): Promise<AccessToken> {
    if (!this.inFlight) {
      const fetchedAt = this.options.now();
      this.inFlight = this.options
        .fetchToken()
        .then((token) => {
          const lifetime = token.expiresAtMs - fetchedAt;
          const margin = Math.min(this.options.refreshMarginMs, lifetime / 2);
          this.current = { token, refreshAtMs: token.expiresAtMs - margin };
          return token;
        })
        .finally(() => {
          this.inFlight = undefined;
        });
    }
    return this.inFlight;
  }

  /** Forget `token` if it is still the cached one (a 401 showed Plural no longer accepts it). */
  invalidate(token: string): void {
    if (this.current?.token.value === token) this.current = undefined;
  }
}
