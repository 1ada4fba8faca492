/**
 * AES-256-GCM sealing of one card secret under its own random key. The sealed form is `iv (12) | tag (16) |
 * ciphertext`; the additional authenticated data binds it to its entry id, so a ciphertext moved to another id does
 * not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CardSecretSchema } from './types';
import type { CardSecret } from './types';

export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A fresh random AES-256 key. */
export function newKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** A fresh random entry id: 16 bytes, base64url (22 characters). */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/** Encrypts `secret` (already validated) under `key`, bound to `id`. */
export function seal(secret: CardSecret, key: Buffer, id: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(`card-vault:${id}`, 'utf8'));
  const plaintext = Buffer.from(JSON.stringify(secret), 'utf8');
  try {
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
  } finally {
    plaintext.fill(0);
  }
}

/** Decrypts a sealed secret; `undefined` when the key, id or bytes do not match (tampering or a wrong handle). */
export function open(sealed: Buffer, key: Buffer, id: string): CardSecret | undefined {
  if (key.length !== KEY_BYTES || sealed.length <= IV_BYTES + TAG_BYTES) return undefined;
  let plaintext: Buffer | undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(`card-vault:${id}`, 'utf8'));
    decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    plaintext = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    const parsed = CardSecretSchema.safeParse(JSON.parse(plaintext.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  } finally {
    plaintext?.fill(0);
  }
}
