/**
 * The vault server: an Express router for workers in other processes, served on a listener of its own (`server.ts`).
 * It stores sealed secrets only — the key of each one travels in its handle and never reaches this server — so its
 * memory alone decrypts nothing. Every request needs the bearer token; unknown and expired ids answer 404.
 *
 *   PUT    /secrets/:id  { sealed: base64url, ttlMs }  → 201 { id, expiresAt } | 409 | 503 VAULT_FULL
 *   GET    /secrets/:id                                → 200 { sealed }        | 404
 *   DELETE /secrets/:id                                → 204 (idempotent)
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { ErrorRequestHandler, NextFunction, Request, Response, Router } from 'express';
import { z } from 'zod';
import { CARD_VAULT_ERROR_CODE } from './errors';
import { LocalSplitCardVault } from './local-split';
import { TtlStore } from './ttl-store';
import type { CardVault } from './types';
import { DEFAULT_MAX_TTL_MS } from './validate';

/** Largest sealed secret accepted, in bytes (a full card secret seals to well under 1 KiB). */
export const MAX_SEALED_BYTES = 4096;
const ID = /^[A-Za-z0-9_-]{22}$/;

/** Options of {@link createCardVaultRouter}. */
export interface CardVaultRouterOptions {
  /** Bearer token clients must send (`CARD_VAULT_TOKEN`). */
  token: string;
  /** Maximum live secrets. @default 10000 */
  capacity?: number;
  /** Longest TTL accepted. @default 3600000 (1 hour) */
  maxTtlMs?: number;
  /** Clock in epoch ms. @default Date.now */
  now?: () => number;
  /** Use this store instead of a new one (tests inspect it). */
  store?: TtlStore<Buffer>;
}

/**
 * The router plus its store (close it on shutdown to zero and drop every entry) and `localVault`, the vault the API
 * process itself uses to put cards into this store without a loopback HTTP call.
 */
export type CardVaultRouter = Router & {
  readonly store: TtlStore<Buffer>;
  readonly localVault: CardVault;
  close(): void;
};

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Constant-time bearer check: both sides hashed to 32 bytes first, so length differences leak nothing either. */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer ([\x21-\x7e]+)$/.exec(header ?? '');
  const provided = digest(match?.[1] ?? '');
  return timingSafeEqual(provided, expected) && match !== null;
}

const PutBodySchema = z.strictObject({
  sealed: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { error: 'sealed must be base64url' })
    .max(Math.ceil((MAX_SEALED_BYTES * 4) / 3), { error: `sealed must be at most ${MAX_SEALED_BYTES} bytes` }),
  ttlMs: z.number().int({ error: 'ttlMs must be an integer' }).positive({ error: 'ttlMs must be positive' }),
});

function problem(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ code, message });
}

/** Creates the vault server router. */
export function createCardVaultRouter(options: CardVaultRouterOptions): CardVaultRouter {
  if (options.token.length < 32) throw new Error('card vault router token must be at least 32 characters');
  const expected = digest(options.token);
  const maxTtlMs = options.maxTtlMs ?? DEFAULT_MAX_TTL_MS;
  const now = options.now ?? Date.now;
  const store =
    options.store ??
    new TtlStore<Buffer>({ capacity: options.capacity ?? 10_000, now, onRemove: (sealed) => sealed.fill(0) });

  const router = express.Router();
  router.use((req: Request, res: Response, next: NextFunction) => {
    res.set('Cache-Control', 'no-store');
    if (!bearerMatches(req.get('authorization'), expected)) {
      res.set('WWW-Authenticate', 'Bearer realm="card-vault"');
      problem(res, 401, 'UNAUTHORIZED', 'card vault requires a valid bearer token');
      return;
    }
    next();
  });
  router.use(express.json({ limit: '8kb' }));

  const idOf = (req: Request, res: Response): string | undefined => {
    const id = req.params.id;
    if (typeof id === 'string' && ID.test(id)) return id;
    problem(res, 400, 'INVALID_ID', 'secret id must be 22 base64url characters');
    return undefined;
  };

  router.put('/secrets/:id', (req, res) => {
    const id = idOf(req, res);
    if (id === undefined) return;
    const body = PutBodySchema.safeParse(req.body);
    if (!body.success) {
      problem(res, 400, 'INVALID_REQUEST', body.error.issues.map((i) => i.message).join('; '));
      return;
    }
    if (body.data.ttlMs > maxTtlMs) {
      problem(res, 400, CARD_VAULT_ERROR_CODE.INVALID_TTL, `ttlMs must be at most ${maxTtlMs}`);
      return;
    }
    const sealed = Buffer.from(body.data.sealed, 'base64url');
    if (sealed.length < 29 || sealed.length > MAX_SEALED_BYTES) {
      problem(res, 400, 'INVALID_REQUEST', `sealed must be between 29 and ${MAX_SEALED_BYTES} bytes`);
      return;
    }
    const result = store.set(id, sealed, body.data.ttlMs);
    if (result === 'exists') {
      problem(res, 409, 'ID_EXISTS', 'a secret with this id already exists');
      return;
    }
    if (result === 'full') {
      res.set('Retry-After', '1');
      problem(res, 503, CARD_VAULT_ERROR_CODE.VAULT_FULL, 'card vault is full (capacity reached); retry shortly');
      return;
    }
    res.status(201).json({ id, expiresAt: new Date(store.expiresAt(id) ?? now()).toISOString() });
  });

  router.get('/secrets/:id', (req, res) => {
    const id = idOf(req, res);
    if (id === undefined) return;
    const sealed = store.get(id);
    if (!sealed) {
      problem(res, 404, 'NOT_FOUND', 'no such secret (unknown, expired or destroyed)');
      return;
    }
    res.json({ sealed: sealed.toString('base64url') });
  });

  router.delete('/secrets/:id', (req, res) => {
    const id = idOf(req, res);
    if (id === undefined) return;
    store.delete(id);
    res.status(204).end();
  });

  router.use((req: Request, res: Response) => {
    problem(res, 404, 'NOT_FOUND', `no such card vault endpoint: ${req.method} ${req.path}`);
  });

  const onError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const e = err as { type?: unknown; status?: unknown };
    if (e.type === 'entity.too.large') problem(res, 413, 'BODY_TOO_LARGE', 'request body is too large (limit 8kb)');
    else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      problem(res, 400, 'INVALID_REQUEST', 'request body must be valid JSON');
    } else problem(res, 500, 'INTERNAL_ERROR', 'card vault internal error');
  };
  router.use(onError);

  return Object.assign(router, {
    store,
    localVault: new LocalSplitCardVault(store, maxTtlMs),
    close: () => store.close(),
  });
}
