/**
 * `PAYLOAD_KEYS` and `PAYLOAD_ENCRYPTION`: the key ring of the payload codec (payload-codec/), shared by the worker,
 * the API's Temporal client and the codec server. Messages name key ids and positions, never key material.
 */
import { z } from 'zod';
import { CONFIG_KEYS as K } from './keys';
import type { CrossCheck } from './load';

/** AES-256 key length. */
export const PAYLOAD_KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** Standard base64 of exactly 32 bytes, as `openssl rand -base64 32` prints it. */
const KEY_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

/** One parsed key of `PAYLOAD_KEYS`. */
export interface ConfiguredPayloadKey {
  id: string;
  key: Buffer;
}

/** Payload encryption as configured: on with a key ring (the first key encrypts), or explicitly off. */
export type PayloadEncryptionConfig = { mode: 'on'; keys: ConfiguredPayloadKey[] } | { mode: 'off' };

const FORMAT = `comma-separated keyId:base64 entries, each key exactly ${PAYLOAD_KEY_BYTES} bytes (openssl rand -base64 32)`;

/** `PAYLOAD_KEYS`: `keyId:base64,…`; the first entry encrypts, every entry decrypts. */
export const payloadKeysField = z
  .string({ error: (issue) => (issue.input === undefined ? `is required (${FORMAT})` : `must be ${FORMAT}`) })
  .transform((value, ctx): ConfiguredPayloadKey[] => {
    const keys: ConfiguredPayloadKey[] = [];
    const entries = value.split(',').map((e) => e.trim());
    entries.forEach((entry, index) => {
      const at = `entry ${index + 1}`;
      const colon = entry.indexOf(':');
      const id = colon < 0 ? '' : entry.slice(0, colon).trim();
      const material = colon < 0 ? '' : entry.slice(colon + 1).trim();
      if (!KEY_ID.test(id)) {
        ctx.addIssue({
          code: 'custom',
          message: `${at} must start with a key id of 1-64 letters, digits, ".", "_" or "-", then ":" (${FORMAT})`,
        });
        return;
      }
      if (keys.some((k) => k.id === id)) {
        ctx.addIssue({ code: 'custom', message: `key id ${id} appears more than once` });
        return;
      }
      if (!KEY_BASE64.test(material)) {
        ctx.addIssue({
          code: 'custom',
          message: `key ${id} must be standard base64 of exactly ${PAYLOAD_KEY_BYTES} bytes (44 characters ending in "=")`,
        });
        return;
      }
      keys.push({ id, key: Buffer.from(material, 'base64') });
    });
    return keys;
  });

/** `PAYLOAD_ENCRYPTION`: `on` (default) or `off`. */
export const payloadEncryptionField = z.enum(['on', 'off'], { error: 'must be on or off' }).default('on');

/** With encryption on (the default), `PAYLOAD_KEYS` is required: customer data must not reach Temporal in clear. */
export const payloadKeysRequired: CrossCheck = (env) =>
  // An invalid PAYLOAD_ENCRYPTION is reported on its own; the keys are required only when it is on (or unset).
  (env[K.PAYLOAD_ENCRYPTION] ?? 'on') === 'on' && env[K.PAYLOAD_KEYS] === undefined
    ? [
        {
          key: K.PAYLOAD_KEYS,
          message:
            `is required while PAYLOAD_ENCRYPTION is on (${FORMAT}); ` +
            'PAYLOAD_ENCRYPTION=off stores workflow data in Temporal in clear',
        },
      ]
    : [];

/** The parsed setting from the parsed fields. */
export function toPayloadEncryption(
  mode: 'on' | 'off',
  keys: ConfiguredPayloadKey[] | undefined,
): PayloadEncryptionConfig {
  return mode === 'on' ? { mode: 'on', keys: keys ?? [] } : { mode: 'off' };
}

/** The key material as configured (base64), for the logger's `knownSecrets`. */
export function payloadKeySecrets(config: PayloadEncryptionConfig): string[] {
  return config.mode === 'on' ? config.keys.map((k) => k.key.toString('base64')) : [];
}
