import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ERROR_CODES } from './errors';

const PRUNE_THRESHOLD = 50_000;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Client-credential access tokens with an expiry, kept in memory. */
export class TokenStore {
  private readonly tokens = new Map<string, number>();

  constructor(
    private readonly clientId: string,
    private readonly clientSecret: string,
    private readonly ttlSeconds: number,
    private readonly now: () => number,
  ) {}

  credentialsMatch(clientId: string, clientSecret: string): boolean {
    return sameSecret(clientId, this.clientId) && sameSecret(clientSecret, this.clientSecret);
  }

  issue(): { token: string; expiresAt: number } {
    if (this.tokens.size >= PRUNE_THRESHOLD) this.prune();
    const token = randomBytes(32).toString('base64url');
    const expiresAt = this.now() + this.ttlSeconds * 1000;
    this.tokens.set(token, expiresAt);
    return { token, expiresAt };
  }

  isValid(token: string): boolean {
    const expiresAt = this.tokens.get(token);
    if (expiresAt === undefined) return false;
    if (expiresAt <= this.now()) {
      this.tokens.delete(token);
      return false;
    }
    return true;
  }

  /** Amortised: runs once per PRUNE_THRESHOLD issues at most. */
  private prune(): void {
    const now = this.now();
    for (const [token, expiresAt] of this.tokens) if (expiresAt <= now) this.tokens.delete(token);
  }
}

/** Plural's 401 for API calls without a valid bearer token. */
export function requireToken(tokens: TokenStore): RequestHandler {
  return (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1] && tokens.isValid(match[1])) {
      next();
      return;
    }
    res.status(401).json({
      code: ERROR_CODES.UNAUTHORIZED,
      message: match
        ? 'access token is invalid or expired; generate a new one'
        : 'Authorization: Bearer <access_token> header is required',
    });
  };
}

/**
 * The control API's guard: `Authorization: Bearer <control token>`. The control API approves payments without an
 * OTP and points webhooks anywhere allowed, so even on loopback it answers only to who was given the token.
 */
export function requireControlToken(controlToken: string): RequestHandler {
  return (req, res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    if (match?.[1] && sameSecret(match[1], controlToken)) {
      next();
      return;
    }
    res.status(401).json({
      code: ERROR_CODES.UNAUTHORIZED,
      message:
        'the control API requires Authorization: Bearer <control token> (printed at start; RunningSandbox.controlToken)',
    });
  };
}
