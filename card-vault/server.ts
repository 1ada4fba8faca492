/**
 * The vault server's own listener: {@link createCardVaultRouter}'s router alone, on an address of its own. Workers in
 * other processes reach it with `CARD_VAULT_URL`; it is internal traffic with its own bearer token, so it never shares
 * the API's public port (the port merchants and Plural reach): bind it to a private interface and publish it nowhere.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { CardVaultRouter } from './router';

/** A listening vault server. */
export interface CardVaultServer {
  /** What workers set as `CARD_VAULT_URL`, e.g. `http://127.0.0.1:8082` (a wildcard host reads as loopback). */
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections and ends open ones; the store stays (close the router to zero it). */
  close(): Promise<void>;
}

/**
 * Serves `router` at the root of an app of its own (`PUT|GET|DELETE /secrets/:id`, nothing else) on `host:port`
 * (`0`: an ephemeral port). @throws when the address cannot be bound.
 */
export async function listenCardVault(router: CardVaultRouter, host: string, port: number): Promise<CardVaultServer> {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(router);
  const server = http.createServer(app);
  // Requests are a few hundred bytes each way: a slow client has no business holding a socket for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shown.includes(':') && !shown.startsWith('[') ? `[${shown}]` : shown}:${bound}`,
    port: bound,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
