/**
 * How the worker and the API reach Temporal beyond its address: TLS (server CA, client certificate for mTLS, server
 * name) and an API key, under the names `@temporalio/envconfig` gives them (the Temporal CLI reads the same ones), and
 * read through it. Only the environment is read (no TOML profile file), like every other key of these processes.
 */
import { accessSync, constants, statSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { z } from 'zod';
import { CONFIG_KEYS as K } from './keys';
import type { ConfigKey } from './keys';
import type { ConfigIssue, CrossCheck, Env } from './load';

/** The Temporal connection keys, as `@temporalio/envconfig` names them. */
export const TEMPORAL_CONNECTION_KEYS = [
  K.TEMPORAL_TLS,
  K.TEMPORAL_TLS_CLIENT_CERT_PATH,
  K.TEMPORAL_TLS_CLIENT_CERT_DATA,
  K.TEMPORAL_TLS_CLIENT_KEY_PATH,
  K.TEMPORAL_TLS_CLIENT_KEY_DATA,
  K.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
  K.TEMPORAL_TLS_SERVER_CA_CERT_DATA,
  K.TEMPORAL_TLS_SERVER_NAME,
  K.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION,
  K.TEMPORAL_API_KEY,
] as const satisfies readonly ConfigKey[];

/** TLS and credentials of the Temporal connection; all unset: plain gRPC, as to a local dev server. */
export interface TemporalConnectionSecurity {
  /** `true`: TLS with the system's roots; an object: CA, client certificate, server name; unset or `false`: none. */
  tls: TLSConfig | boolean | undefined;
  /** Sent as `Authorization: Bearer …`; implies TLS unless `TEMPORAL_TLS=false`. */
  apiKey: string | undefined;
}

const bool = z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).optional();
const path = z.string().max(4096).optional();
const pem = (what: string) =>
  z
    .string()
    .refine((v) => v.includes('-----BEGIN '), { error: `must be PEM text (${what}), or use the _PATH key` })
    .optional();

/** zod fields of the Temporal connection keys, for the worker's and the API's schemas. */
export const temporalConnectionFields = {
  [K.TEMPORAL_TLS]: bool,
  [K.TEMPORAL_TLS_CLIENT_CERT_PATH]: path,
  [K.TEMPORAL_TLS_CLIENT_CERT_DATA]: pem('the client certificate'),
  [K.TEMPORAL_TLS_CLIENT_KEY_PATH]: path,
  [K.TEMPORAL_TLS_CLIENT_KEY_DATA]: pem('the client private key'),
  [K.TEMPORAL_TLS_SERVER_CA_CERT_PATH]: path,
  [K.TEMPORAL_TLS_SERVER_CA_CERT_DATA]: pem('the CA certificate of the server'),
  [K.TEMPORAL_TLS_SERVER_NAME]: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,253}$/, { error: 'must be a host name (the name in the server certificate)' })
    .optional(),
  [K.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION]: bool,
  [K.TEMPORAL_API_KEY]: z
    .string()
    .max(8192, { error: 'must be at most 8192 characters' })
    .regex(/^\S+$/, { error: 'must be one token without spaces' })
    .optional(),
};

const isTrue = (v: string | undefined): boolean => v === 'true' || v === '1';
const isFalse = (v: string | undefined): boolean => v === 'false' || v === '0';

/** Cross-checks of the Temporal connection keys: pairs, conflicts, unreadable files, unsupported settings. */
export const temporalConnectionChecks: CrossCheck = (env) => {
  const issues: ConfigIssue[] = [];
  const has = (key: ConfigKey): boolean => env[key] !== undefined;
  for (const [p, d] of [
    [K.TEMPORAL_TLS_CLIENT_CERT_PATH, K.TEMPORAL_TLS_CLIENT_CERT_DATA],
    [K.TEMPORAL_TLS_CLIENT_KEY_PATH, K.TEMPORAL_TLS_CLIENT_KEY_DATA],
    [K.TEMPORAL_TLS_SERVER_CA_CERT_PATH, K.TEMPORAL_TLS_SERVER_CA_CERT_DATA],
  ] as const) {
    if (has(p) && has(d)) issues.push({ key: d, message: `cannot be set together with ${p}; set one of them` });
  }
  const cert = has(K.TEMPORAL_TLS_CLIENT_CERT_PATH) || has(K.TEMPORAL_TLS_CLIENT_CERT_DATA);
  const key = has(K.TEMPORAL_TLS_CLIENT_KEY_PATH) || has(K.TEMPORAL_TLS_CLIENT_KEY_DATA);
  if (cert && !key) {
    issues.push({ key: K.TEMPORAL_TLS_CLIENT_KEY_PATH, message: 'is required with a client certificate (mTLS)' });
  }
  if (key && !cert) {
    issues.push({ key: K.TEMPORAL_TLS_CLIENT_CERT_PATH, message: 'is required with a client key (mTLS)' });
  }
  for (const file of [
    K.TEMPORAL_TLS_CLIENT_CERT_PATH,
    K.TEMPORAL_TLS_CLIENT_KEY_PATH,
    K.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
  ] as const) {
    const at = env[file];
    if (at === undefined) continue;
    try {
      accessSync(at, constants.R_OK);
      // A directory is readable too (a CA directory such as /etc/ssl/certs): the SDK would fail reading it, unnamed.
      if (!statSync(at).isFile()) issues.push({ key: file, message: 'names a directory or device, not a PEM file' });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const why = typeof code === 'string' ? code : 'unreadable';
      issues.push({ key: file, message: `names a file this process cannot read (${why})` });
    }
  }
  if (isTrue(env[K.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION])) {
    issues.push({
      key: K.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION,
      message:
        'is not supported by the TypeScript SDK; set TEMPORAL_TLS_SERVER_NAME to the name in the server certificate',
    });
  }
  if (isFalse(env[K.TEMPORAL_TLS])) {
    const tlsSetting = TEMPORAL_CONNECTION_KEYS.find(
      (k) => k !== K.TEMPORAL_TLS && k !== K.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION && has(k),
    );
    if (tlsSetting !== undefined) {
      issues.push({
        key: K.TEMPORAL_TLS,
        message: `is false, but ${tlsSetting} is set: ${
          tlsSetting === K.TEMPORAL_API_KEY ? 'the API key would travel in clear' : 'it needs TLS'
        }`,
      });
    }
  }
  return issues;
};

/**
 * The connection's TLS and API key from the (checked) environment, through `@temporalio/envconfig`; certificate and
 * key files are read now, once.
 */
export function temporalConnectionSecurity(env: Env): TemporalConnectionSecurity {
  const vars: Record<string, string> = {};
  for (const key of TEMPORAL_CONNECTION_KEYS) {
    const value = env[key]?.trim();
    if (value !== undefined && value !== '') vars[key] = value;
  }
  const { connectionOptions } = loadClientConnectConfig({ disableFile: true, overrideEnvVars: vars });
  return { tls: connectionOptions.tls ?? undefined, apiKey: connectionOptions.apiKey };
}

/** Options for `Connection.connect` and `NativeConnection.connect`: the address, TLS and API key when set. */
export function temporalConnectionOptions(temporal: { address: string } & TemporalConnectionSecurity): {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
} {
  return {
    address: temporal.address,
    ...(temporal.tls !== undefined ? { tls: temporal.tls } : {}),
    ...(temporal.apiKey !== undefined ? { apiKey: temporal.apiKey } : {}),
  };
}

/** Secret material of the connection, for the logger's `knownSecrets`: the API key and the client key's PEM. */
export function temporalConnectionSecrets(security: TemporalConnectionSecurity): string[] {
  const secrets: string[] = [];
  if (security.apiKey !== undefined) secrets.push(security.apiKey);
  const key = typeof security.tls === 'object' ? security.tls.clientCertPair?.key : undefined;
  if (key !== undefined) secrets.push(Buffer.from(key).toString('utf8').trim());
  return secrets;
}
