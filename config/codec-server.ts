/** The codec server's configuration (`payload-codec/main.ts`): read from the environment once, at start-up. */
import { z } from 'zod';
import type { LogLevel } from '../observability/logger';
import { CONFIG_KEYS as K } from './keys';
import { integer, listenHost, logLevel } from './fields';
import { parseEnv } from './load';
import type { CrossCheck, Env } from './load';
import { payloadKeysField } from './payload-encryption';
import { refuseInProduction } from './production';
import type { ConfiguredPayloadKey } from './payload-encryption';

/** Defaults of the codec server's optional keys (documented in config/README.md). */
export const CODEC_SERVER_DEFAULTS = {
  host: '127.0.0.1',
  port: 8081,
  auth: 'token',
  logLevel: 'info',
} as const;

/** Shortest accepted codec token (`openssl rand -hex 32` gives 64 characters). */
export const CODEC_TOKEN_MIN_LENGTH = 32;

/** Validated codec server configuration. */
export interface CodecServerConfig {
  listen: { host: string; port: number };
  keys: ConfiguredPayloadKey[];
  auth: { kind: 'token'; tokens: string[] } | { kind: 'none' };
  /** Browser origins allowed by CORS (the Temporal UI's). */
  corsOrigins: string[];
  logLevel: LogLevel;
}

const tokenList = z
  .string()
  .transform((value) => value.split(',').map((t) => t.trim()))
  .refine((tokens) => tokens.every((t) => t.length >= CODEC_TOKEN_MIN_LENGTH && t.length <= 512 && !/\s/.test(t)), {
    error: `must be comma-separated tokens of ${CODEC_TOKEN_MIN_LENGTH}-512 characters each, without spaces`,
  });

/** Comma-separated browser origins (`scheme://host[:port]`, no path). */
export const originList = z
  .string()
  .transform((value) => value.split(',').map((o) => o.trim().replace(/\/+$/, '')))
  .refine(
    (origins) =>
      origins.every((o) => {
        try {
          const url = new URL(o);
          return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === o;
        } catch {
          return false;
        }
      }),
    { error: 'must be comma-separated origins like http://localhost:8233 (scheme, host and port; no path)' },
  );

const codecEnvSchema = z.object({
  [K.PAYLOAD_KEYS]: payloadKeysField,
  [K.CODEC_SERVER_HOST]: listenHost(CODEC_SERVER_DEFAULTS.host),
  [K.CODEC_SERVER_PORT]: integer({ min: 0, max: 65_535, default: CODEC_SERVER_DEFAULTS.port, unit: '0 = ephemeral' }),
  [K.CODEC_SERVER_AUTH]: z.enum(['token', 'none'], { error: 'must be token or none' }).default('token'),
  [K.CODEC_SERVER_TOKENS]: tokenList.optional(),
  [K.CODEC_CORS_ORIGINS]: originList.optional(),
  [K.LOG_LEVEL]: logLevel,
});

const tokensRequired: CrossCheck = (env) =>
  env[K.CODEC_SERVER_AUTH] !== 'none' && env[K.CODEC_SERVER_TOKENS] === undefined
    ? [
        {
          key: K.CODEC_SERVER_TOKENS,
          message:
            'is required (comma-separated bearer tokens, e.g. openssl rand -hex 32) unless CODEC_SERVER_AUTH=none',
        },
      ]
    : [];

/**
 * Reads and validates the codec server's configuration. `PAYLOAD_KEYS` is always required (`PAYLOAD_ENCRYPTION` does
 * not apply: a codec server without keys has nothing to do). In production mode, refuses development values.
 * @throws {ConfigError} listing every bad or missing key, without their values.
 * @throws {ProductionConfigError} in production mode, naming each development value in one line.
 */
export function loadCodecServerConfig(env: Env): CodecServerConfig {
  const e = parseEnv(codecEnvSchema, env, 'codec server', [tokensRequired]);
  refuseInProduction(env, 'codec server', { secrets: [K.CODEC_SERVER_TOKENS, K.PAYLOAD_KEYS] });
  return {
    listen: { host: e.CODEC_SERVER_HOST, port: e.CODEC_SERVER_PORT },
    keys: e.PAYLOAD_KEYS,
    auth: e.CODEC_SERVER_AUTH === 'none' ? { kind: 'none' } : { kind: 'token', tokens: e.CODEC_SERVER_TOKENS ?? [] },
    corsOrigins: e.CODEC_CORS_ORIGINS ?? [],
    logLevel: e.LOG_LEVEL,
  };
}

/** The secret values of a codec server configuration, for the logger's `knownSecrets`. */
export function codecServerSecrets(config: CodecServerConfig): string[] {
  return [
    ...config.keys.map((k) => k.key.toString('base64')),
    ...(config.auth.kind === 'token' ? config.auth.tokens : []),
  ];
}
