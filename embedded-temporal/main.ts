import { startEmbeddedTemporal } from './index';

/**
 * Entry point. As a test server (`embedded-temporal <port> [args]`, how the SDK spawns an existing-path server) or a
 * CLI-style dev server (`start-dev --port N ...`), or with no arguments as the dev server configured by
 * TEMPORAL_PORT (default 7233), TEMPORAL_HOST (default 127.0.0.1) and TEMPORAL_PERSIST_FILE.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let port: number;
  let host = process.env.TEMPORAL_HOST || '127.0.0.1';
  let persistPath = process.env.TEMPORAL_PERSIST_FILE || undefined;
  let namespace: string | undefined;
  const ignored: string[] = [];
  if (args.length === 0) {
    port = parsePort(process.env.TEMPORAL_PORT ?? '7233', 'TEMPORAL_PORT');
  } else if (/^\d+$/.test(args[0]!)) {
    port = parsePort(args[0]!, 'port argument');
    ignored.push(...args.slice(1));
  } else {
    // `temporal server start-dev --port N --ip H --db-filename F ...` as spawned for createLocal.
    port = 7233;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      const value = args[i + 1];
      if (a === '--port' && value) {
        port = parsePort(value, '--port');
        i++;
      } else if (a === '--ip' && value) {
        host = value;
        i++;
      } else if (a === '--namespace' && value) {
        namespace = value;
        i++;
      } else if (a === '--db-filename' && value) {
        persistPath = value;
        i++;
      } else if (a !== 'server' && a !== 'start-dev') {
        ignored.push(a);
      }
    }
  }
  if (ignored.length > 0) process.stderr.write(`embedded-temporal: ignoring arguments: ${ignored.join(' ')}\n`);
  const server = await startEmbeddedTemporal({ port, host, persistPath, namespace });
  process.stdout.write(`embedded-temporal: listening on ${server.address}\n`);
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`embedded-temporal: error while stopping: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

function parsePort(value: string, what: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid ${what} '${value}': expected an integer port between 0 and 65535`);
  }
  return port;
}

main().catch((err: unknown) => {
  process.stderr.write(`embedded-temporal: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
