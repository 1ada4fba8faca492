/**
 * The cross-process vault client (split knowledge): each secret is sealed here under a fresh random key; the sealed
 * bytes go to the vault server, the key goes into the handle (`cv1.<id>.<key>`). Neither half decrypts anything
 * alone, and once the activity destroys the server's copy the handle in workflow history is worthless.
 */
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { CARD_VAULT_ERROR_CODE, CardVaultError } from './errors';
import { KEY_BYTES, newId, newKey, open, seal } from './sealed';
import type { CardSecret, CardVault } from './types';
import { DEFAULT_MAX_TTL_MS, validatePut } from './validate';

/** Options of {@link HttpCardVault}. */
export interface HttpCardVaultOptions {
  /** Base URL of the vault server, e.g. `http://api:8082` (`CARD_VAULT_URL`; card-vault/server.ts). */
  url: string;
  /** Bearer token (`CARD_VAULT_TOKEN`). */
  token: string;
  /** One long-lived dispatcher. @default an `Agent` owned by this vault and closed by {@link HttpCardVault.close} */
  dispatcher?: Dispatcher;
  /** Deadline per request in ms. @default 5000 */
  timeoutMs?: number;
  /** Longest TTL `put` accepts (the server enforces its own too). @default 3600000 */
  maxTtlMs?: number;
}

const HANDLE = /^cv1\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/** Splits a `cv1.<id>.<key>` handle; `undefined` when malformed. */
export function parseSplitHandle(handle: string): { id: string; key: Buffer } | undefined {
  const m = HANDLE.exec(handle);
  if (!m?.[1] || !m[2]) return undefined;
  const key = Buffer.from(m[2], 'base64url');
  return key.length === KEY_BYTES ? { id: m[1], key } : undefined;
}

const GetResponseSchema = z.object({ sealed: z.string().regex(/^[A-Za-z0-9_-]+$/) });

export class HttpCardVault implements CardVault {
  private readonly base: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly timeoutMs: number;
  private readonly maxTtlMs: number;
  private readonly authorization: string;

  constructor(options: HttpCardVaultOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000 });
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.maxTtlMs = options.maxTtlMs ?? DEFAULT_MAX_TTL_MS;
    this.authorization = `Bearer ${options.token}`;
  }

  /** @throws {CardVaultError} `INVALID_SECRET`, `INVALID_TTL`, `VAULT_FULL`, `VAULT_UNAUTHORIZED`, `VAULT_UNAVAILABLE`. */
  async put(secret: CardSecret, ttlMs: number): Promise<string> {
    const clean = validatePut(secret, ttlMs, this.maxTtlMs);
    // A 409 means a 128-bit random id collided: try once more with a new one.
    for (let attempt = 0; attempt < 2; attempt++) {
      const id = newId();
      const key = newKey();
      try {
        const sealed = seal(clean, key, id).toString('base64url');
        const { status } = await this.call('PUT', id, { sealed, ttlMs });
        if (status === 201) return `cv1.${id}.${key.toString('base64url')}`;
        if (status !== 409) throw this.unexpected('put', status);
      } finally {
        key.fill(0);
      }
    }
    throw new CardVaultError(CARD_VAULT_ERROR_CODE.VAULT_PROTOCOL_ERROR, 'card vault put kept colliding on ids');
  }

  /** `undefined` for malformed, tampered, unknown, expired or destroyed handles. @throws {CardVaultError} */
  async get(handle: string): Promise<CardSecret | undefined> {
    const parsed = parseSplitHandle(handle);
    if (!parsed) return undefined;
    try {
      const { status, body } = await this.call('GET', parsed.id);
      if (status === 404) return undefined;
      if (status !== 200) throw this.unexpected('get', status);
      const response = GetResponseSchema.safeParse(body);
      if (!response.success) {
        throw new CardVaultError(CARD_VAULT_ERROR_CODE.VAULT_PROTOCOL_ERROR, 'card vault get: malformed response');
      }
      return open(Buffer.from(response.data.sealed, 'base64url'), parsed.key, parsed.id);
    } finally {
      parsed.key.fill(0);
    }
  }

  /** Idempotent. @throws {CardVaultError} when the server cannot be reached. */
  async destroy(handle: string): Promise<void> {
    const parsed = parseSplitHandle(handle);
    if (!parsed) return;
    parsed.key.fill(0);
    const { status } = await this.call('DELETE', parsed.id);
    if (status !== 204 && status !== 404) throw this.unexpected('destroy', status);
  }

  /** Closes the dispatcher if this vault created it. */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private async call(
    method: 'PUT' | 'GET' | 'DELETE',
    id: string,
    json?: unknown,
  ): Promise<{ status: number; body: unknown }> {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.base}/secrets/${id}`, {
        method,
        dispatcher: this.dispatcher,
        headers: {
          authorization: this.authorization,
          accept: 'application/json',
          ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const code = (err as { code?: unknown; name?: unknown }).code ?? (err as { name?: unknown }).name;
      throw new CardVaultError(
        CARD_VAULT_ERROR_CODE.VAULT_UNAVAILABLE,
        `card vault ${method} failed: ${typeof code === 'string' ? code : 'network error'}; retry`,
      );
    }
    const text = await response.body.text();
    let body: unknown;
    try {
      body = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const status = response.statusCode;
    if (status === 401) {
      throw new CardVaultError(
        CARD_VAULT_ERROR_CODE.VAULT_UNAUTHORIZED,
        'card vault refused the bearer token; check CARD_VAULT_TOKEN',
        401,
      );
    }
    if (status === 503 && (body as { code?: unknown } | undefined)?.code === CARD_VAULT_ERROR_CODE.VAULT_FULL) {
      throw new CardVaultError(
        CARD_VAULT_ERROR_CODE.VAULT_FULL,
        'card vault is full (capacity reached); retry shortly',
        503,
      );
    }
    if (status >= 500 || status === 429) {
      throw new CardVaultError(CARD_VAULT_ERROR_CODE.VAULT_UNAVAILABLE, `card vault answered ${status}; retry`, status);
    }
    return { status, body };
  }

  private unexpected(operation: string, status: number): CardVaultError {
    return new CardVaultError(
      CARD_VAULT_ERROR_CODE.VAULT_PROTOCOL_ERROR,
      `card vault ${operation} answered unexpected status ${status}`,
      status,
    );
  }
}
