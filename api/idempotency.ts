/**
 * `Idempotency-Key` on the merchant's mutating routes, with Stripe's semantics: the same key with the same request
 * replays the first answer (`Idempotent-Replayed: true`); the same key with another request (another body, route or
 * payment) is a 409 `idempotency_key_mismatch`; while the first request with the key still runs, another is a 409
 * `idempotency_key_in_use`. Keys live in the engine ({@link IdempotencyStore}, one Temporal workflow per key), not in
 * this process, so a restarted or another API instance answers the same, for 24 h from the key's first use.
 *
 * What is replayed: an answer that is final for the request (2xx other than 202, and 409 refusals). A 202 (the
 * operation goes on) or a 5xx (it may have taken effect) leaves the key bound to its request without an answer, so
 * the same request runs again (safe: each operation is idempotent in the payment's workflow, and answers what
 * happened by then; an action the payment had not answered is sent again as the same Update, so its retry learns that
 * action's own outcome) while another request is still a mismatch. Other 4xx answers (invalid input, no such payment,
 * too early) ran nothing, and free the key, as Stripe does not store a request that failed validation.
 *
 * A request without the header does exactly what it did before: the middleware reads one header and steps aside.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { AppLogger } from '../observability';
import { idempotencyWorkflowId } from '../workflows/idempotency-definitions';
import type {
  ClaimAnswer,
  ClaimRequest,
  CompleteRequest,
  ReleaseRequest,
  StoredResponse,
} from '../workflows/idempotency-definitions';
import { ApiError, badRequest, conflict, ERROR_TYPE, unavailable } from './errors';
import { canonicalJson, NestedTooDeepError } from './fingerprint';
import { DEFAULT_MERCHANT_ID } from '../workflows/definitions';

/** The request header, and the response headers the feature adds. */
export const IDEMPOTENCY_HEADER = {
  KEY: 'Idempotency-Key',
  REPLAYED: 'Idempotent-Replayed',
} as const;

/** Longest key accepted, characters (Stripe's limit). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** The error codes of the feature, as `as const` plus a derived union. */
export const IDEMPOTENCY_ERROR_CODE = {
  INVALID_KEY: 'invalid_idempotency_key',
  MISMATCH: 'idempotency_key_mismatch',
  IN_USE: 'idempotency_key_in_use',
  UNAVAILABLE: 'idempotency_unavailable',
} as const;
export type IdempotencyErrorCode = (typeof IDEMPOTENCY_ERROR_CODE)[keyof typeof IDEMPOTENCY_ERROR_CODE];

/** The merchant of requests that carry none (one merchant from `API_KEYS`). */
export { DEFAULT_MERCHANT_ID };

/**
 * The merchant a request acts for: `res.locals.merchantId` when authentication set one, else
 * {@link DEFAULT_MERCHANT_ID}. The one place the feature reads it, so merchant accounts plug in here.
 */
export function merchantIdOf(res: Response): string {
  const id: unknown = res.locals.merchantId;
  return typeof id === 'string' && id.length > 0 ? id : DEFAULT_MERCHANT_ID;
}

/**
 * Where keys are kept: durable and shared by every API instance. `createTemporalIdempotencyStore` keeps each key in
 * its own workflow; tests use an in-memory one over the same rules (`workflows/idempotency-record.ts`).
 */
export interface IdempotencyStore {
  /** @throws {EngineUnavailableError} when the store cannot be reached (the request is then not run) */
  claim(workflowId: string, merchantId: string, request: ClaimRequest): Promise<ClaimAnswer>;
  complete(workflowId: string, request: CompleteRequest): Promise<boolean>;
  release(workflowId: string, request: ReleaseRequest): Promise<boolean>;
}

/** Printable ASCII, no leading or trailing space (Node trims those anyway), 1–255 characters. */
const KEY_PATTERN = new RegExp(`^[\\x21-\\x7E](?:[\\x20-\\x7E]{0,${MAX_IDEMPOTENCY_KEY_LENGTH - 2}}[\\x21-\\x7E])?$`);

/**
 * The request's idempotency key, undefined when it has none.
 * @throws {ApiError} 400 `invalid_idempotency_key` for an empty, too long, non-printable or repeated header
 */
export function idempotencyKeyOf(req: Request): string | undefined {
  const value = req.headers['idempotency-key'];
  if (value === undefined) return undefined;
  // Node joins a repeated header with ", ": count the raw occurrences instead of accepting the joined text.
  let seen = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]?.toLowerCase() === 'idempotency-key') seen += 1;
  }
  if (seen > 1) {
    throw badRequest(IDEMPOTENCY_ERROR_CODE.INVALID_KEY, 'send the Idempotency-Key header once');
  }
  if (typeof value !== 'string' || !KEY_PATTERN.test(value)) {
    throw badRequest(
      IDEMPOTENCY_ERROR_CODE.INVALID_KEY,
      `Idempotency-Key must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters (a UUID is a good key)`,
    );
  }
  return value;
}

/** Where the middleware leaves the id of the request's action Update ({@link idempotentRequestIdOf}). */
const REQUEST_ID_LOCAL = 'idempotentRequestId';
/** Set by {@link markActionPending}: the action's Update went unanswered. */
const PENDING_LOCAL = 'idempotentActionPending';

/**
 * The id a keyed request's action Update is sent under (undefined without a key): the Update an earlier try of the
 * same request left unanswered, so this try learns that Update's own outcome; else a fresh one. The routes give it to
 * the engine.
 */
export function idempotentRequestIdOf(res: Response): string | undefined {
  const id: unknown = res.locals[REQUEST_ID_LOCAL];
  return typeof id === 'string' ? id : undefined;
}

/**
 * The route's action Update has not answered (a 202 while it goes on, or a 503 as no worker took it up): the key
 * remembers its id, and the next try of the request sends the same Update. Not called when the payment answered, even
 * with a 202 or a 503 (a parked step, an outage): the next try is a new Update, answered as things are then.
 */
export function markActionPending(res: Response): void {
  res.locals[PENDING_LOCAL] = true;
}

/** SHA-256 of the key, hex: what names the key's workflow. */
export const keyDigest = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** What identifies a request for its key: the route it took and what it sent. */
export interface RequestIdentity {
  method: string;
  /** The route template (`/v1/payments/:merchant_order_reference/capture`). */
  route: string;
  params: Record<string, string>;
  /** The parsed JSON body; an absent body is `{}` (as the routes read it). */
  body: unknown;
}

/**
 * Card secrets kept out of a fingerprint altogether (a CVV is never stored after authorization, hashed or not), by
 * where they stand: the fields of a payment's method objects. Only there: a key of the same name elsewhere (in
 * `merchant_metadata`, whose keys the merchant names) is the merchant's data and tells two requests apart.
 */
const UNFINGERPRINTED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  card: ['cvv'],
  card_token: ['cvv'],
  network_token: ['cvv', 'cryptogram'],
};

/** `body` without the {@link UNFINGERPRINTED_FIELDS} of its method objects. */
function withoutCardSecrets(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  return Object.fromEntries(
    Object.entries(body as Record<string, unknown>).map(([key, value]) => {
      const secrets = Object.hasOwn(UNFINGERPRINTED_FIELDS, key) ? UNFINGERPRINTED_FIELDS[key] : undefined;
      if (secrets === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) {
        return [key, value];
      }
      const fields = Object.entries(value as Record<string, unknown>);
      return [key, Object.fromEntries(fields.filter(([field]) => !secrets.includes(field)))];
    }),
  );
}

/**
 * The request's fingerprint: `ik1:` + hex HMAC-SHA256 (keyed with the API's fingerprint key) of its canonical JSON
 * (object keys sorted, so key order does not matter), the card's CVVs and cryptogram left out (a retry differing only
 * in one is the same request). Keyed because bodies hold card numbers and OTPs, whose plain hash could be searched;
 * only this hash is stored. A body without a `cvv` or `cryptogram` key elsewhere hashes as before the left-out fields
 * were limited to the method objects, so keys stored before still match their retries.
 */
export function idempotencyFingerprint(identity: RequestIdentity, fingerprintKey: string): string {
  const text = canonicalJson({
    method: identity.method.toUpperCase(),
    route: identity.route,
    params: identity.params,
    body: withoutCardSecrets(identity.body ?? {}),
  });
  return `ik1:${createHmac('sha256', fingerprintKey).update(text).digest('hex')}`;
}

/** What becomes of a key once its request has answered `status` (see the module comment). */
export type Disposition = 'store' | 'keep-binding' | 'free';

export function dispositionOf(status: number): Disposition {
  if ((status >= 200 && status < 300 && status !== 202) || status === 409) return 'store';
  if (status >= 400 && status < 500) return 'free';
  return 'keep-binding';
}

/** Options of {@link createIdempotencyMiddleware}. */
export interface IdempotencyMiddlewareOptions {
  /** Unset: a request with the header answers 503 `idempotency_unavailable` (it is never run without its key). */
  store: IdempotencyStore | undefined;
  fingerprintKey: string;
  /** How long a claim holds its key if the API never completes it (it died mid-request). */
  leaseMs: number;
  logger: AppLogger;
}

/**
 * The middleware of every mutating merchant route, after authentication and the JSON body parser (it needs the
 * merchant, the route's parameters and the body). With a key, it claims it; replays, refuses, or runs the route and
 * stores its answer before sending it, so an answer a client saw is one a retry gets.
 */
export function createIdempotencyMiddleware(options: IdempotencyMiddlewareOptions): RequestHandler {
  const { store, fingerprintKey, leaseMs, logger } = options;
  return async (req, res, next) => {
    const key = idempotencyKeyOf(req);
    if (key === undefined) return next();
    if (!store) {
      throw unavailable(IDEMPOTENCY_ERROR_CODE.UNAVAILABLE, 'Idempotency-Key is not available on this API instance');
    }
    const route = (req.route as { path?: unknown } | undefined)?.path;
    let fingerprint: string;
    try {
      fingerprint = idempotencyFingerprint(
        {
          method: req.method,
          route: `${req.baseUrl}${typeof route === 'string' ? route : req.path}`,
          params: { ...req.params } as Record<string, string>,
          body: req.body as unknown,
        },
        fingerprintKey,
      );
    } catch (err) {
      // No request the API takes nests this deep: refused as the route would refuse it, nothing claimed.
      if (err instanceof NestedTooDeepError) throw badRequest('invalid_request', err.message);
      throw err;
    }
    const workflowId = idempotencyWorkflowId(merchantIdOf(res), keyDigest(key));
    const claimId = randomUUID();
    const found = await store.claim(workflowId, merchantIdOf(res), {
      claimId,
      fingerprint,
      leaseMs,
      updateId: randomUUID(),
    });
    res.setHeader(IDEMPOTENCY_HEADER.KEY, key);
    switch (found.outcome) {
      case 'MISMATCH':
        throw conflict(
          IDEMPOTENCY_ERROR_CODE.MISMATCH,
          'this Idempotency-Key was used with a different request (another body, route or payment); ' +
            'use a new key for a new request',
        );
      case 'IN_PROGRESS':
        throw new ApiError(
          409,
          ERROR_TYPE.CONFLICT,
          IDEMPOTENCY_ERROR_CODE.IN_USE,
          'a request with this Idempotency-Key is still in progress; retry it after that one has answered',
          {},
          { 'Retry-After': '1' },
        );
      case 'COMPLETED':
        res.setHeader(IDEMPOTENCY_HEADER.REPLAYED, 'true');
        if (found.response.location !== undefined) res.location(found.response.location);
        res.status(found.response.status).json(found.response.body);
        return;
      default:
        break;
    }

    // The action's Update id: the one an earlier try of this request left unanswered (or claimed with, then died),
    // else the one this claim proposed (a key store of an older API may answer none: a fresh one then).
    res.locals[REQUEST_ID_LOCAL] = (found.outcome === 'CLAIMED' ? found.pendingUpdateId : undefined) ?? randomUUID();

    // The route's answer (or the error middleware's) goes through res.json: settle the key, then send it.
    const send = res.json.bind(res);
    res.json = (body: unknown) => {
      res.json = send;
      const status = res.statusCode;
      const disposition = dispositionOf(status);
      let settled: Promise<unknown>;
      if (disposition === 'store') {
        const location = res.get('Location');
        const response: StoredResponse = { status, body, ...(location !== undefined ? { location } : {}) };
        settled = store.complete(workflowId, { claimId, fingerprint, response });
      } else {
        const keepBinding = disposition === 'keep-binding';
        const pending = keepBinding && res.locals[PENDING_LOCAL] === true ? idempotentRequestIdOf(res) : undefined;
        settled = store.release(workflowId, {
          claimId,
          keepBinding,
          ...(pending !== undefined ? { pendingUpdateId: pending } : {}),
        });
      }
      // A key that could not be settled keeps its claim until the lease ends; the answer goes out regardless.
      void settled
        .catch((err: unknown) => logger.warn({ err, disposition, status }, 'could not settle an idempotency key'))
        .then(() => send(body));
      return res;
    };
    next();
  };
}
