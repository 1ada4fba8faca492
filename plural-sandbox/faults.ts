import type { RequestHandler } from 'express';
import { z } from 'zod';
import { ERROR_CODES, invalidRequest } from './errors';
import { faultConfigSchema, type FaultConfig } from './options';
import type { Dice } from './random';

const ERROR_STATUSES = [500, 502, 503, 504] as const;

/** Kinds of injected fault, as counted by {@link FaultController.injected}. */
export type InjectedFault =
  | 'error'
  | 'errorAfterCommit'
  | 'rateLimit'
  | 'timeout'
  | 'timeoutAfterCommit'
  | 'latency'
  | 'webhookDropped'
  | 'webhookDuplicated'
  | 'webhookReordered'
  | 'webhookDelayed';

/** Holds the live fault configuration; changed at run time by tests or the control API. */
export class FaultController {
  private config: FaultConfig;
  private readonly counters = new Map<string, number>();
  private readonly counts = new Map<InjectedFault, number>();

  constructor(initial: FaultConfig) {
    this.config = initial;
  }

  get(): FaultConfig {
    return this.config;
  }

  /** Merges and validates; @throws PluralError 400 on an invalid setting (and changes nothing). */
  set(patch: unknown): FaultConfig {
    this.config = { ...this.config, ...this.parse(patch) };
    return this.config;
  }

  /** Replaces the whole configuration: `base` with `patch` on top, once `patch` is valid (else nothing changes). */
  replace(base: FaultConfig, patch: unknown): FaultConfig {
    this.config = { ...base, ...this.parse(patch) };
    return this.config;
  }

  private parse(patch: unknown): Partial<FaultConfig> {
    const partial = faultConfigSchema.partial().safeParse(patch);
    if (!partial.success) throw invalidRequest(`faults: ${z.prettifyError(partial.error)}`);
    return partial.data;
  }

  /** nth occurrence of a request key, so repeats of the same call draw independently yet reproducibly. */
  occurrence(key: string): number {
    const n = (this.counters.get(key) ?? 0) + 1;
    this.counters.set(key, n);
    return n;
  }

  /** Counts one injected fault (resilience tests report how many of each they survived). */
  record(kind: InjectedFault): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  /** How many faults of each kind were injected since start. */
  injected(): Readonly<Partial<Record<InjectedFault, number>>> {
    return Object.fromEntries(this.counts);
  }

  httpFaultsActive(): boolean {
    const c = this.config;
    return (
      c.errorRate > 0 ||
      c.errorAfterCommitRate > 0 ||
      c.rateLimitRate > 0 ||
      c.timeoutRate > 0 ||
      c.timeoutAfterCommitRate > 0 ||
      c.latencyJitterMs > 0
    );
  }
}

/** Timer-based wait; unref'd so a stopped sandbox never keeps the process alive. */
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * Applies latency and HTTP faults to Plural API calls. Decisions are keyed by method, path, the body's
 * merchant_order_reference and the occurrence number of that key, so a seed gives the same faults run after run.
 */
export function faultMiddleware(faults: FaultController, dice: Dice, baseLatencyMs: number): RequestHandler {
  return async (req, res, next) => {
    const f = faults.get();
    const applies = f.paths.length === 0 || f.paths.some((p) => req.path.includes(p));
    let key = '';
    let latency = baseLatencyMs + (applies ? f.latencyMs : 0);
    if (applies && faults.httpFaultsActive()) {
      const body: unknown = req.body;
      const ref =
        typeof body === 'object' && body !== null && 'merchant_order_reference' in body
          ? String(body.merchant_order_reference)
          : '';
      const base = `${req.method} ${req.path}|${ref}`;
      key = `${base}#${faults.occurrence(base)}`;
      if (f.latencyJitterMs > 0) latency += Math.floor(dice.unit('jitter', key) * f.latencyJitterMs);
    }
    if (latency > 0) {
      if (applies && (f.latencyMs > 0 || f.latencyJitterMs > 0)) faults.record('latency');
      await delay(latency);
    }
    if (key === '') {
      next();
      return;
    }
    if (dice.chance('timeout', f.timeoutRate, key)) {
      faults.record('timeout');
      return; // never answers: the socket stays open until the client gives up or stop() closes it
    }
    if (dice.chance('rate-limit', f.rateLimitRate, key)) {
      faults.record('rateLimit');
      res
        .status(429)
        .set('Retry-After', '1')
        .json({ code: ERROR_CODES.RATE_LIMIT_EXCEEDED, message: 'too many requests (sandbox fault injection)' });
      return;
    }
    if (dice.chance('error', f.errorRate, key)) {
      faults.record('error');
      const status = ERROR_STATUSES[Math.floor(dice.unit('error-status', key) * ERROR_STATUSES.length)] ?? 500;
      res
        .status(status)
        .json({ code: ERROR_CODES.INTERNAL_ERROR, message: 'internal error (sandbox fault injection)' });
      return;
    }
    const loseAnswer = dice.chance('error-after-commit', f.errorAfterCommitRate, key);
    const hangAfter = !loseAnswer && dice.chance('timeout-after-commit', f.timeoutAfterCommitRate, key);
    if (loseAnswer || hangAfter) {
      faults.record(loseAnswer ? 'errorAfterCommit' : 'timeoutAfterCommit');
      const json = res.json.bind(res);
      res.json = (payload: unknown) => {
        if (res.statusCode >= 300) return json(payload);
        if (hangAfter) return res; // the work is done; the answer never leaves
        res.status(500);
        return json({ code: ERROR_CODES.INTERNAL_ERROR, message: 'internal error (sandbox fault injection)' });
      };
    }
    next();
  };
}
