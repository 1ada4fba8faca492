/**
 * The codec endpoint: Temporal's remote codec protocol (`POST /encode`, `POST /decode`, JSON
 * `{payloads: [{metadata: {key: base64}, data: base64}]}`) over {@link EncryptionCodec}, so the Temporal UI and CLI
 * can show the decrypted payloads to operators. Bearer-token auth (constant-time), CORS for the configured origins
 * only, a body limit, and a clear 4xx JSON error for every bad request.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import { z } from 'zod';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { AppLogger } from '../observability';
import { PayloadCodecError } from './codec';

/** Headers the Temporal UI sends to a codec endpoint (`content-type`, `x-namespace`, and `authorization`). */
export const CODEC_ALLOWED_HEADERS = ['content-type', 'x-namespace', 'authorization'] as const;
/** Most payloads per request. */
export const MAX_PAYLOADS_PER_REQUEST = 10_000;

/** How callers authenticate. */
export type CodecAuth =
  /**
   * `Authorization: Bearer <token>`, one of `tokens`. A browser request from one of `trustedOrigins` made by a loopback
   * peer to a loopback host name needs no token: the dev stack's own Temporal UI, whose page cannot send one. Never
   * set it in production.
   */
  | { kind: 'token'; tokens: readonly string[]; trustedOrigins?: readonly string[] }
  /** No authentication: only behind a proxy that authenticates, or on a loopback-only port in development. */
  | { kind: 'none' };

/** Options of {@link createCodecRouter}. */
export interface CodecRouterOptions {
  codec: PayloadCodec;
  auth: CodecAuth;
  /** Browser origins allowed to call (the Temporal UI's, e.g. `http://localhost:8233`); others get 403. */
  corsOrigins: readonly string[];
  /** @default 4 MiB */
  bodyLimitBytes?: number;
  /** Logs one line per encode/decode (operation, namespace, payload count; never the payloads) and failures. */
  logger?: AppLogger;
}

class CodecHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const base64 = z.string().regex(BASE64, { error: 'must be standard base64' });
// Protobuf JSON of `Payloads`: an empty list is left out, so `{}` is a valid (empty) body — the Temporal CLI sends
// exactly that to /encode for a query without arguments. Unknown fields are refused, as protobuf JSON parsers do.
const PayloadsBody = z.strictObject({
  payloads: z
    .array(
      z.object({
        metadata: z.record(z.string(), base64).nullish(),
        data: base64.nullish(),
      }),
    )
    .max(MAX_PAYLOADS_PER_REQUEST, { error: `must hold at most ${MAX_PAYLOADS_PER_REQUEST} payloads` })
    .default([]),
});
type JsonPayload = z.infer<typeof PayloadsBody>['payloads'][number];

function fromJson(p: JsonPayload): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v, 'base64');
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

function toJson(p: Payload): { metadata: Record<string, string>; data: string } {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}

const isLoopback = (address: string | undefined): boolean =>
  address !== undefined && (address === '::1' || /^(::ffff:)?127\./.test(address));

/**
 * The `Host` a browser on this machine sends (`localhost`, `127.x.x.x`, `[::1]`, any port). A request relayed from
 * outside by a tunnel that keeps the public `Host`, or a page rebinding its own name to 127.0.0.1, carries another
 * name; a local proxy that rewrites `Host` to the loopback address does not (README: keep one off the stack's port).
 */
const isLoopbackHost = (host: string | undefined): boolean => {
  if (host === undefined) return false;
  const name = /^\[[^\]]*\]|^[^:]*/.exec(host.trim().toLowerCase())?.[0] ?? '';
  return name === 'localhost' || name === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(name);
};

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * An Express router serving `POST /encode` and `POST /decode` (also under `/<namespace>/…`, the path the Temporal
 * CLI builds from `--codec-endpoint 'https://host/{namespace}'`). Mount it anywhere.
 */
export function createCodecRouter(options: CodecRouterOptions): Router {
  const origins = new Set(options.corsOrigins);
  // Compare digests, so neither the token's length nor its content leaks through timing.
  const tokenDigests = options.auth.kind === 'token' ? options.auth.tokens.map(digest) : [];
  const router = express.Router();

  router.use((req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!origins.has(origin)) {
        throw new CodecHttpError(
          403,
          'origin_not_allowed',
          'this origin may not call the codec endpoint; add it to CODEC_CORS_ORIGINS',
        );
      }
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', CODEC_ALLOWED_HEADERS.join(', '));
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  });

  router.use((req: Request, _res: Response, next: NextFunction) => {
    if (options.auth.kind === 'none') return next();
    const origin = req.headers.origin;
    if (
      origin !== undefined &&
      options.auth.trustedOrigins?.includes(origin) &&
      isLoopback(req.socket.remoteAddress) &&
      isLoopbackHost(req.headers.host)
    ) {
      return next();
    }
    const header = req.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      throw new CodecHttpError(401, 'missing_token', 'send Authorization: Bearer <codec token>', {
        'WWW-Authenticate': 'Bearer',
      });
    }
    const given = digest(match[1]);
    let ok = false;
    for (const known of tokenDigests) if (timingSafeEqual(given, known)) ok = true;
    if (!ok) throw new CodecHttpError(403, 'invalid_token', 'the bearer token is not a configured codec token');
    next();
  });

  const jsonOnly = (req: Request, _res: Response, next: NextFunction): void => {
    // The UI and CLI send application/json; a missing type is read as JSON too (curl without -H).
    const type = req.headers['content-type'];
    if (type !== undefined && !/^application\/json\b/i.test(type)) {
      throw new CodecHttpError(415, 'unsupported_media_type', 'request body must be JSON (application/json)');
    }
    next();
  };
  const json = express.json({ limit: options.bodyLimitBytes ?? 4 * 1024 * 1024, type: () => true, strict: false });
  const handle =
    (operation: 'encode' | 'decode') =>
    async (req: Request, res: Response): Promise<void> => {
      const parsed = PayloadsBody.safeParse(req.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue && issue.path.length > 0 ? ` at ${issue.path.map(String).join('.')}` : '';
        throw new CodecHttpError(
          400,
          'invalid_payloads',
          `request body must be {"payloads": [{"metadata": {"<key>": "<base64>"}, "data": "<base64>"}]}` +
            (issue ? `: ${issue.message}${where}` : ''),
        );
      }
      const input = parsed.data.payloads.map(fromJson);
      const output = operation === 'encode' ? await options.codec.encode(input) : await options.codec.decode(input);
      const namespace = req.headers['x-namespace'] ?? req.params.namespace;
      options.logger?.info(
        { operation, namespace: typeof namespace === 'string' ? namespace : undefined, payloads: input.length },
        'codec request',
      );
      res.status(200).json({ payloads: output.map(toJson) });
    };

  for (const operation of ['encode', 'decode'] as const) {
    router.post([`/${operation}`, `/:namespace/${operation}`], jsonOnly, json, handle(operation));
  }
  router.use((req: Request) => {
    throw new CodecHttpError(
      req.method === 'POST' ? 404 : 405,
      req.method === 'POST' ? 'not_found' : 'method_not_allowed',
      'the codec endpoint serves POST /encode and POST /decode',
      req.method === 'POST' ? {} : { Allow: 'POST, OPTIONS' },
    );
  });

  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const known = toHttpError(err);
    if (known.status >= 500) options.logger?.error({ err, path: req.path }, 'codec endpoint failed');
    else if (err instanceof PayloadCodecError) options.logger?.warn({ code: err.code, keyId: err.keyId }, err.message);
    for (const [k, v] of Object.entries(known.headers)) res.setHeader(k, v);
    const type =
      known.status >= 500
        ? 'api_error'
        : known.status <= 403 && known.status >= 401
          ? 'authentication_error'
          : 'invalid_request_error';
    res.status(known.status).json({ error: { type, code: known.code, message: known.message } });
  });
  return router;
}

/** Fixed messages for body-parser failures (its own may quote the body); codec failures name only the key id. */
function toHttpError(err: unknown): CodecHttpError {
  if (err instanceof CodecHttpError) return err;
  if (err instanceof PayloadCodecError) return new CodecHttpError(422, err.code, err.message);
  const type = (err as { type?: unknown } | null)?.type;
  switch (type) {
    case 'entity.parse.failed':
      return new CodecHttpError(400, 'invalid_json', 'request body is not valid JSON');
    case 'entity.too.large':
      return new CodecHttpError(413, 'body_too_large', 'request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new CodecHttpError(415, 'unsupported_encoding', 'request body encoding or charset is not supported');
    default: {
      const status = (err as { status?: unknown } | null)?.status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        return new CodecHttpError(status, 'bad_request', 'the request could not be read');
      }
      return new CodecHttpError(500, 'codec_error', 'the codec endpoint failed; see its log');
    }
  }
}
