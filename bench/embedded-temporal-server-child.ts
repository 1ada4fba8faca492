/**
 * Runs the embedded Temporal service alone in this process so the benchmark can read its RSS in isolation.
 * Prints one JSON line `{"port":N}` once listening; exits on SIGTERM or when stdin closes.
 */
import path from 'node:path';

interface EmbeddedTemporalModule {
  startEmbeddedTemporal(options?: {
    port?: number;
    host?: string;
  }): Promise<{ address: string; port: number; stop(): Promise<void> }>;
}

async function main(): Promise<void> {
  const modulePath = path.join(__dirname, '..', 'embedded-temporal', 'index');
  const embedded = (await import(modulePath)) as EmbeddedTemporalModule;
  const server = await embedded.startEmbeddedTemporal({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
  const stop = () => {
    void server.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}

main().catch((err: unknown) => {
  process.stderr.write(`embedded temporal child failed: ${String(err)}\n`);
  process.exit(1);
});
