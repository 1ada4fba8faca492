/**
 * Codec server entry point (`npm run codec-server`): serves the codec endpoint (payload-codec/server.ts) for the
 * Temporal UI and CLI, with the same `PAYLOAD_KEYS` as the workers and the API. Stops cleanly on SIGINT/SIGTERM.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { codecServerSecrets, ConfigError, loadCodecServerConfig } from '../config';
import type { CodecServerConfig } from '../config';
import { createLogger } from '../observability';
import type { AppLogger } from '../observability';
import { EncryptionCodec } from './codec';
import { createCodecRouter } from './server';

/** Exit code for a configuration error (sysexits EX_CONFIG), as `npm run worker` uses. */
export const EXIT_CONFIG_ERROR = 78;

/** A listening codec server. */
export interface RunningCodecServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts the codec server for `config`. @throws when the port cannot be bound. */
export async function startCodecServer(config: CodecServerConfig, logger: AppLogger): Promise<RunningCodecServer> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use(
    createCodecRouter({
      // A viewer for the UI and CLI: it shows a plain-text payload someone wrote without the codec (which the workers
      // refuse), so the operator can see what failed the workflow task.
      codec: new EncryptionCodec({ keys: config.keys, unencrypted: 'pass' }),
      auth: config.auth,
      corsOrigins: config.corsOrigins,
      logger,
    }),
  );
  const server = http.createServer(app);
  server.requestTimeout = 30_000;
  server.headersTimeout = 20_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  return {
    url: `http://${host}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** Loads configuration, serves until a shutdown signal, and returns the process exit code. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let config: CodecServerConfig;
  try {
    config = loadCodecServerConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    createLogger({ name: 'codec-server' }).fatal({ issues: err.issues }, err.message);
    return EXIT_CONFIG_ERROR;
  }
  const logger = createLogger({
    name: 'codec-server',
    level: config.logLevel,
    knownSecrets: codecServerSecrets(config),
  });
  try {
    const server = await startCodecServer(config, logger);
    if (config.auth.kind === 'none') {
      logger.warn(
        'CODEC_SERVER_AUTH=none: anyone who reaches this port can decrypt payloads; ' +
          'run it only behind an authenticating proxy or on a loopback-only port',
      );
    }
    logger.info(
      {
        url: server.url,
        keyIds: config.keys.map((k) => k.id),
        auth: config.auth.kind,
        corsOrigins: config.corsOrigins,
      },
      'codec server listening',
    );
    await new Promise<void>((resolve) => {
      const onSignal = (signal: NodeJS.Signals): void => {
        logger.info({ signal }, 'shutdown requested: stopping the codec server');
        resolve();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    });
    await server.stop();
    logger.info('codec server stopped');
    return 0;
  } catch (err) {
    logger.fatal({ err }, 'codec server failed');
    return 1;
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`codec server failed to start: ${err instanceof Error ? err.name : 'unknown error'}\n`);
      process.exit(1);
    },
  );
}
