/**
 * Whether Plural answers at all, for `/readyz`: one cheap unauthenticated GET of its origin, where any HTTP answer
 * (even a 404) means reachable and a connection error or a timeout means unreachable. The answer is cached for a few
 * seconds and concurrent checks share one request, so readiness probes never load the gateway.
 */
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import type { MerchantAccount } from '../config/merchants';

/** Options of {@link createGatewayProbe}. */
export interface GatewayProbeOptions {
  /** Plural's origin (`PLURAL_BASE_URL`). */
  baseUrl: string;
  /** Give up after this long, ms. @default 2000 */
  timeoutMs?: number;
  /** Reuse an answer this long, ms. @default 5000 */
  cacheMs?: number;
  /** One long-lived dispatcher for the probes. @default an `Agent` of the probe's own, closed by `close()` */
  dispatcher?: Dispatcher;
  /** Clock, ms since epoch (tests). @default Date.now */
  now?: () => number;
}

/** The last answer of the probe. */
export interface GatewayReachability {
  reachable: boolean;
  /** When the gateway was last asked (ISO 8601); for several origins, the oldest of their answers. */
  checkedAt: string;
  /** The origins that did not answer (for the API's own log; `/readyz` does not publish them). */
  unreachable: string[];
}

export interface GatewayProbe {
  /** The cached answer, or a fresh one when it is older than `cacheMs`. Never rejects. */
  check(): Promise<GatewayReachability>;
  close(): Promise<void>;
}

/** @throws {TypeError} when `baseUrl` is not an http(s) URL */
export function createGatewayProbe(options: GatewayProbeOptions): GatewayProbe {
  const url = new URL('/', options.baseUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError('createGatewayProbe: baseUrl must be an http(s) URL');
  }
  const timeoutMs = options.timeoutMs ?? 2_000;
  const cacheMs = options.cacheMs ?? 5_000;
  const now = options.now ?? Date.now;
  const ownAgent = options.dispatcher ? undefined : new Agent({ connect: { timeout: timeoutMs } });
  const dispatcher = options.dispatcher ?? ownAgent!;
  let last: { answer: GatewayReachability; atMs: number } | undefined;
  let inFlight: Promise<GatewayReachability> | undefined;

  async function probe(): Promise<GatewayReachability> {
    const startedMs = now();
    let reachable: boolean;
    try {
      const res = await request(url, {
        method: 'GET',
        dispatcher,
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      await res.body.dump();
      reachable = true;
    } catch {
      reachable = false;
    }
    const answer = {
      reachable,
      checkedAt: new Date(startedMs).toISOString(),
      unreachable: reachable ? [] : [url.origin],
    };
    last = { answer, atMs: startedMs };
    return answer;
  }

  return {
    check(): Promise<GatewayReachability> {
      if (last && now() - last.atMs < cacheMs) return Promise.resolve(last.answer);
      inFlight ??= probe().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
    async close(): Promise<void> {
      await ownAgent?.close();
    },
  };
}

/**
 * One probe per distinct Plural origin (merchants may name their own, `plural.baseUrl`), answering as one: reachable
 * when every origin is. Undefined when there is no origin to probe.
 */
export function createGatewayProbes(
  baseUrls: readonly string[],
  options: Omit<GatewayProbeOptions, 'baseUrl'> = {},
): GatewayProbe | undefined {
  const origins = [...new Set(baseUrls.map((u) => new URL('/', u).href))];
  const probes = origins.map((baseUrl) => createGatewayProbe({ ...options, baseUrl }));
  if (probes.length <= 1) return probes[0];
  return {
    async check(): Promise<GatewayReachability> {
      const answers = await Promise.all(probes.map((p) => p.check()));
      return {
        reachable: answers.every((a) => a.reachable),
        checkedAt: answers.map((a) => a.checkedAt).sort()[0]!,
        unreachable: answers.flatMap((a) => a.unreachable),
      };
    },
    async close(): Promise<void> {
      await Promise.all(probes.map((p) => p.close()));
    },
  };
}

/** Every Plural origin the merchants use: each one's own `plural.baseUrl`, else `fallback` (`PLURAL_BASE_URL`). */
export function pluralOrigins(merchants: readonly MerchantAccount[], fallback: string | undefined): string[] {
  return merchants.flatMap((m) => {
    const origin = m.plural.baseUrl ?? fallback;
    return origin === undefined ? [] : [origin];
  });
}
