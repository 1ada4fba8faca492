/**
 * The stack's one HTTP server (the API, `/dev` and `/codec`), opened before anything else starts: the Temporal UI is
 * told where the codec endpoint is (`<api>/codec`) and the sandboxes where the callbacks go, which needs the bound
 * port, and an ephemeral `API_PORT=0` is only known once bound. Until the stack is ready, every request gets a 503.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The server, listening. */
export interface FrontDoor {
  readonly port: number;
  /** From now on, requests go to `handler` instead of the 503. */
  open(handler: http.RequestListener): void;
  /** Stops accepting, lets in-flight requests finish (at most 5 s) and resolves once closed. */
  close(): Promise<void>;
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function openFrontDoor(listenOn: { port: number; host: string }): Promise<FrontDoor> {
  let handler: http.RequestListener | undefined;
  const server = http.createServer((req, res) => {
    if (handler) return handler(req, res);
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
    res.end(JSON.stringify({ error: { type: 'api_error', code: 'starting', message: 'the API is starting' } }));
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  const port = await listen(server, listenOn.port, listenOn.host);
  return {
    port,
    open(h) {
      handler = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), 5_000);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
