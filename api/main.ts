/**
 * Serving the API: {@link startApiServer} listens with the app from {@link createApp} and stops cleanly. `npm run api`
 * (api/server.ts) builds its options from configuration (`configuredOptions`, see the API section of the README for
 * the keys) and calls this; the dev stack serves the same app on its own server. Nothing here reads `process.env`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app';
import { DEFAULT_TIMINGS } from './options';
import type { ApiOptions } from './options';

/**
 * How long a stopping server lets in-flight requests finish: the longest wait a handler makes (an action's Update,
 * a create's start) and 5 s to answer. A request cut short leaves its `Idempotency-Key` claimed until its lease ends,
 * and the merchant's retry meets 409 meanwhile.
 */
export function drainMs(options: Pick<ApiOptions, 'timings'>): number {
  const timings = { ...DEFAULT_TIMINGS, ...options.timings };
  return Math.max(timings.startWaitMs, timings.actionWaitMs) + 5_000;
}

/** Options of {@link startApiServer}: the app's options plus where to listen. */
export interface StartApiOptions extends ApiOptions {
  /** @default 0 (an ephemeral port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
}

/** A listening API server. */
export interface RunningApi {
  /** e.g. `http://127.0.0.1:8080` */
  readonly url: string;
  readonly port: number;
  readonly server: http.Server;
  /**
   * Stops accepting connections, ends idle keep-alive ones and waits for in-flight requests (at most {@link drainMs}:
   * 20 s with the default waits).
   */
  stop(): Promise<void>;
}

/** Start the API. @throws when the port cannot be bound or the options are unusable (see {@link createApp}). */
export async function startApiServer(options: StartApiOptions): Promise<RunningApi> {
  const app = createApp(options);
  const server = http.createServer(app);
  // Bound slow clients: the longest handler waits are seconds, not minutes.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    server,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), drainMs(options));
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return stopping;
    },
  };
}
