/**
 * Temporal mTLS and API-key settings, named as `@temporalio/envconfig` names them, reach the worker's and the API's
 * connections: read into the config, refused when unusable, and — against a local TLS server that requires a client
 * certificate — presented by `Connection.connect`, `NativeConnection.connect` and the real entry points.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiSecrets,
  ConfigError,
  loadApiConfig,
  loadWorkerConfig,
  temporalConnectionOptions,
  workerSecrets,
} from '../../config';

const ROOT = path.join(__dirname, '..', '..');
const SERVER_NAME = 'temporal.payments.test';
const API_KEY = `tk_${randomBytes(24).toString('hex')}`;
const PAYLOAD_KEYS = `k1:${randomBytes(32).toString('base64')}`;

const WORKER = {
  PLURAL_BASE_URL: 'https://pluraluat.v2.pinepg.in',
  PLURAL_CLIENT_ID: 'merchant-1',
  PLURAL_CLIENT_SECRET: 'client-secret-value-xyz',
  PAYLOAD_KEYS,
};
const API = {
  API_KEYS: 'test-api-key-0123456789',
  API_FINGERPRINT_KEY: 'test-fingerprint-key-0123456789',
  PLURAL_CALLBACK_SECRET_HEX: 'c0ffee'.repeat(8),
  PLURAL_WEBHOOK_SECRET: 'test-webhook-secret',
  PAYLOAD_KEYS,
};

let dir: string;
const file = (name: string) => path.join(dir, name);
const pem = (name: string) => readFileSync(file(name));

/** A CA, a server certificate for SERVER_NAME (and 127.0.0.1) and a client certificate, made with openssl. */
function makeCertificates(): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test CA');
  for (const [name, cn, ext] of [
    ['server', SERVER_NAME, `subjectAltName=DNS:${SERVER_NAME},IP:127.0.0.1\nextendedKeyUsage=serverAuth`],
    ['client', 'payments-worker', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    writeFileSync(file(`${name}.ext`), `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n${ext}\n`);
    openssl('req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    // rustls (the worker's native connection) wants PKCS#8 keys: openssl 3 writes them by default.
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    );
  }
}

/** What the fake Temporal frontend saw of one connection. */
interface Seen {
  servername: string | false;
  clientCn: unknown;
  authorization: string | undefined;
  path: string | undefined;
}

/**
 * An HTTP/2 TLS server that requires a client certificate signed by the test CA, records each connection's SNI,
 * certificate and `authorization` header, and answers every gRPC call UNAUTHENTICATED (so connecting fails fast).
 */
async function startFakeFrontend(): Promise<{ address: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createSecureServer({
    key: pem('server.key'),
    cert: pem('server.pem'),
    ca: pem('ca.pem'),
    requestCert: true,
    rejectUnauthorized: true,
  });
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    // Node sets `servername` (the SNI the client sent) on server-side TLS sockets; @types/node omits it.
    const socket = stream.session?.socket as (TLSSocket & { servername?: string | false }) | undefined;
    seen.push({
      servername: socket?.servername ?? false,
      clientCn: socket?.getPeerCertificate().subject?.CN,
      authorization: headers.authorization,
      path: headers[':path'],
    });
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'test frontend' },
      { endStream: true },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.destroy();
      }),
  };
}

const tlsEnv = () => ({
  TEMPORAL_TLS_CLIENT_CERT_PATH: file('client.pem'),
  TEMPORAL_TLS_CLIENT_KEY_PATH: file('client.key'),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem'),
  TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
  TEMPORAL_API_KEY: API_KEY,
});

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'temporal-tls-'));
  makeCertificates();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('Temporal connection settings (TEMPORAL_TLS_*, TEMPORAL_API_KEY)', () => {
  it('are read by the worker and the API into TLS options with the certificates, server name and API key', () => {
    for (const config of [
      loadWorkerConfig({ ...WORKER, ...tlsEnv() }).temporal,
      loadApiConfig({ ...API, ...tlsEnv() }).temporal,
    ]) {
      expect(config.apiKey).toBe(API_KEY);
      expect(config.tls).toEqual({
        serverNameOverride: SERVER_NAME,
        serverRootCACertificate: new Uint8Array(pem('ca.pem')),
        clientCertPair: { crt: new Uint8Array(pem('client.pem')), key: new Uint8Array(pem('client.key')) },
      });
      expect(temporalConnectionOptions(config)).toEqual({
        address: '127.0.0.1:7233',
        tls: config.tls,
        apiKey: API_KEY,
      });
    }
  });

  it('take PEM text too (_DATA), and TEMPORAL_TLS=true alone means TLS with the system roots', () => {
    const data = loadWorkerConfig({
      ...WORKER,
      TEMPORAL_TLS_CLIENT_CERT_DATA: pem('client.pem').toString('utf8'),
      TEMPORAL_TLS_CLIENT_KEY_DATA: pem('client.key').toString('utf8'),
    }).temporal;
    // Values are trimmed, as every configuration value is: the PEM without its final newline.
    const crt = Buffer.from(typeof data.tls === 'object' ? (data.tls.clientCertPair?.crt ?? []) : []);
    expect(crt.toString('utf8')).toBe(pem('client.pem').toString('utf8').trim());
    const tlsOnly = loadWorkerConfig({ ...WORKER, TEMPORAL_TLS: 'true' }).temporal;
    expect(tlsOnly.tls).toBeTruthy();
    expect(temporalConnectionOptions(tlsOnly)).toMatchObject({ tls: expect.any(Object) as unknown });
    // An API key alone turns TLS on, as envconfig does (Temporal Cloud).
    expect(loadApiConfig({ ...API, TEMPORAL_API_KEY: API_KEY }).temporal.tls).toBe(true);
  });

  it('leave the connection plain when unset, as for the local dev server', () => {
    const config = loadWorkerConfig(WORKER).temporal;
    expect(temporalConnectionOptions(config)).toEqual({ address: '127.0.0.1:7233' });
  });

  it('refuse what cannot work, naming the key and never a value', () => {
    const missing = configError(() =>
      loadWorkerConfig({ ...WORKER, TEMPORAL_TLS_CLIENT_CERT_PATH: file('nope.pem'), TEMPORAL_API_KEY: API_KEY }),
    );
    expect(missing.issues).toEqual([
      { key: 'TEMPORAL_TLS_CLIENT_KEY_PATH', message: 'is required with a client certificate (mTLS)' },
      { key: 'TEMPORAL_TLS_CLIENT_CERT_PATH', message: 'names a file this process cannot read (ENOENT)' },
    ]);
    expect(missing.message).not.toContain(API_KEY);
    // A CA directory is readable, but not a PEM file: named here, not an unnamed EISDIR from the SDK at start.
    const directory = configError(() => loadWorkerConfig({ ...WORKER, TEMPORAL_TLS_SERVER_CA_CERT_PATH: dir }));
    expect(directory.issues).toEqual([
      { key: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', message: 'names a directory or device, not a PEM file' },
    ]);
    expect(
      configError(() => loadApiConfig({ ...API, TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: API_KEY })).issues,
    ).toEqual([
      { key: 'TEMPORAL_TLS', message: 'is false, but TEMPORAL_API_KEY is set: the API key would travel in clear' },
    ]);
    expect(
      configError(() => loadWorkerConfig({ ...WORKER, TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' })).issues[0]?.key,
    ).toBe('TEMPORAL_TLS_DISABLE_HOST_VERIFICATION');
    expect(configError(() => loadWorkerConfig({ ...WORKER, TEMPORAL_TLS: 'yes' })).issues).toEqual([
      { key: 'TEMPORAL_TLS', message: 'must be true or false' },
    ]);
    expect(
      configError(() => loadWorkerConfig({ ...WORKER, TEMPORAL_TLS_CLIENT_KEY_DATA: 'not a key', ...tlsEnv() })).issues,
    ).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'TEMPORAL_TLS_CLIENT_KEY_DATA' })]));
  });

  it('count the API key and the client key as secrets for the logger to mask', () => {
    const key = pem('client.key').toString('utf8').trim();
    expect(workerSecrets(loadWorkerConfig({ ...WORKER, ...tlsEnv() }))).toEqual(expect.arrayContaining([API_KEY, key]));
    expect(apiSecrets(loadApiConfig({ ...API, ...tlsEnv() }))).toEqual(expect.arrayContaining([API_KEY, key]));
  });
});

describe('against a TLS frontend that requires a client certificate', () => {
  let frontend: Awaited<ReturnType<typeof startFakeFrontend>>;
  beforeAll(async () => {
    frontend = await startFakeFrontend();
  });
  afterAll(async () => {
    await frontend?.close();
  });

  const expectPresented = (seen: Seen | undefined) => {
    expect(seen).toMatchObject({
      servername: SERVER_NAME,
      clientCn: 'payments-worker',
      authorization: `Bearer ${API_KEY}`,
    });
    expect(seen?.path).toMatch(/^\/temporal\.api\.workflowservice\.v1\.WorkflowService\//);
  };

  it("the API's client (Connection) and the worker's (NativeConnection) present the certificate, name and key", async () => {
    const temporal = loadApiConfig({ ...API, ...tlsEnv(), TEMPORAL_ADDRESS: frontend.address }).temporal;
    await expect(
      Connection.connect({ ...temporalConnectionOptions(temporal), connectTimeout: 5_000 }),
    ).rejects.toThrow();
    expectPresented(frontend.seen.at(-1));
    const before = frontend.seen.length;
    const worker = loadWorkerConfig({ ...WORKER, ...tlsEnv(), TEMPORAL_ADDRESS: frontend.address }).temporal;
    await expect(NativeConnection.connect(temporalConnectionOptions(worker))).rejects.toThrow();
    expect(frontend.seen.length).toBeGreaterThan(before);
    expectPresented(frontend.seen.at(-1));
  }, 30_000);

  it('npm run worker and npm run api connect with them (the frontend refuses, so each exits 1)', async () => {
    const run = (entry: string, env: Record<string, string>) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', entry], {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env },
          stdio: 'ignore',
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.on('exit', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
      });
    const common = { ...tlsEnv(), TEMPORAL_ADDRESS: frontend.address };
    for (const [entry, env] of [
      ['worker/main.ts', { ...WORKER, ...common, WORKER_METRICS_PORT: '0' }],
      ['api/server.ts', { ...API, ...common, API_PORT: '0', API_PUBLIC_URL: 'http://127.0.0.1:1' }],
    ] as const) {
      const before = frontend.seen.length;
      expect(await run(entry, env)).toBe(1);
      expect(frontend.seen.length).toBeGreaterThan(before);
      expectPresented(frontend.seen.at(-1));
    }
  }, 90_000);
});
