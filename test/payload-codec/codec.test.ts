import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { DefaultPayloadConverter, METADATA_ENCODING_KEY } from '@temporalio/common';
import type { Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  CIPHER,
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  METADATA_CIPHER,
  METADATA_KEY_ID,
  PayloadCodecError,
} from '../../payload-codec';
import { thrownBy } from '../support/thrown';

const converter = new DefaultPayloadConverter();
const OLD = { id: 'k2025', key: randomBytes(32) };
const NEW = { id: 'k2026', key: randomBytes(32) };
const SECRET_VALUE = { name: 'Asha Rao', email: 'asha.rao@example.in' };

const text = (b: Uint8Array | null | undefined): string => Buffer.from(b ?? new Uint8Array()).toString('utf8');
const payloadOf = (value: unknown): Payload => converter.toPayload(value);

async function codecError(fn: () => Promise<unknown>): Promise<PayloadCodecError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof PayloadCodecError) return err;
    throw err;
  }
  throw new Error('expected a PayloadCodecError');
}

function keyMaterialIn(s: string, keys: { key: Buffer }[]): boolean {
  return keys.some((k) => s.includes(k.key.toString('base64')) || s.includes(k.key.toString('hex')));
}

describe('EncryptionCodec', () => {
  it('round-trips payloads, metadata included, and stores no plaintext', async () => {
    const codec = new EncryptionCodec({ keys: [NEW] });
    const original = [payloadOf(SECRET_VALUE), payloadOf('plain string'), payloadOf(null)];
    const encoded = await codec.encode(original);
    for (const p of encoded) {
      expect(text(p.metadata?.[METADATA_ENCODING_KEY])).toBe(ENCRYPTED_ENCODING);
      expect(text(p.metadata?.[METADATA_KEY_ID])).toBe('k2026');
      expect(text(p.metadata?.[METADATA_CIPHER])).toBe(CIPHER);
      expect(Object.keys(p.metadata ?? {}).sort()).toEqual(
        [METADATA_CIPHER, METADATA_KEY_ID, METADATA_ENCODING_KEY].sort(),
      );
    }
    expect(text(encoded[0]?.data)).not.toContain('Asha');
    expect(text(encoded[0]?.data)).not.toContain('json/plain');
    const decoded = await codec.decode(encoded);
    expect(decoded.map((p) => converter.fromPayload(p))).toEqual([SECRET_VALUE, 'plain string', null]);
    expect(text(decoded[0]?.metadata?.[METADATA_ENCODING_KEY])).toBe('json/plain');
  });

  it('uses a fresh IV per payload: the same value encrypts differently each time', async () => {
    const codec = new EncryptionCodec({ keys: [NEW] });
    const [a, b] = await codec.encode([payloadOf(SECRET_VALUE), payloadOf(SECRET_VALUE)]);
    expect(Buffer.from(a!.data!).subarray(0, 12).equals(Buffer.from(b!.data!).subarray(0, 12))).toBe(false);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('rotation: the first key encrypts, an older key in the ring still decrypts', async () => {
    const before = new EncryptionCodec({ keys: [OLD] });
    const stored = await before.encode([payloadOf(SECRET_VALUE)]);
    const rotated = new EncryptionCodec({ keys: [NEW, OLD] });
    expect(rotated.activeKeyId).toBe('k2026');
    expect((await rotated.decode(stored)).map((p) => converter.fromPayload(p))).toEqual([SECRET_VALUE]);
    const fresh = await rotated.encode([payloadOf(SECRET_VALUE)]);
    expect(text(fresh[0]?.metadata?.[METADATA_KEY_ID])).toBe('k2026');
    // The retired key alone cannot read what the new key wrote.
    const err = await codecError(() => before.decode(fresh));
    expect(err.code).toBe('unknown_key_id');
  });

  it('an unknown key id fails with an error naming the id and the known ids, never key material', async () => {
    const stored = await new EncryptionCodec({ keys: [OLD] }).encode([payloadOf(SECRET_VALUE)]);
    const err = await codecError(() => new EncryptionCodec({ keys: [NEW] }).decode(stored));
    expect(err.code).toBe('unknown_key_id');
    expect(err.keyId).toBe('k2025');
    expect(err.message).toContain('k2025');
    expect(err.message).toContain('k2026');
    expect(keyMaterialIn(`${err.message} ${inspect(err)} ${JSON.stringify(err)}`, [OLD, NEW])).toBe(false);
  });

  it('tampering with the ciphertext, the IV or the tag fails authentication', async () => {
    const codec = new EncryptionCodec({ keys: [NEW] });
    const [p] = await codec.encode([payloadOf(SECRET_VALUE)]);
    const data = Buffer.from(p!.data!);
    for (const index of [0, 20, data.length - 1]) {
      const altered = Buffer.from(data);
      altered[index] = altered[index]! ^ 0x01;
      const err = await codecError(() => codec.decode([{ ...p, data: altered }]));
      expect(err.code).toBe('decryption_failed');
      expect(err.message).toContain('k2026');
      expect(keyMaterialIn(`${err.message} ${inspect(err)}`, [NEW])).toBe(false);
    }
  });

  it('relabelling a payload with another known key id fails authentication', async () => {
    // Both keys equal: only the authenticated key id (AAD) can tell the relabelling.
    const shared = randomBytes(32);
    const codec = new EncryptionCodec({
      keys: [
        { id: 'a', key: shared },
        { id: 'b', key: shared },
      ],
    });
    const [p] = await codec.encode([payloadOf(SECRET_VALUE)]);
    const relabelled = { ...p, metadata: { ...p!.metadata, [METADATA_KEY_ID]: Buffer.from('b') } };
    const err = await codecError(() => codec.decode([relabelled]));
    expect(err.code).toBe('decryption_failed');
    expect(err.keyId).toBe('b');
  });

  it('a key under a known id that differs from the encrypting key fails authentication', async () => {
    const stored = await new EncryptionCodec({ keys: [NEW] }).encode([payloadOf(SECRET_VALUE)]);
    const impostor = new EncryptionCodec({ keys: [{ id: 'k2026', key: randomBytes(32) }] });
    expect((await codecError(() => impostor.decode(stored))).code).toBe('decryption_failed');
  });

  it('malformed encrypted payloads fail clearly: no key id, truncated data, another cipher', async () => {
    const codec = new EncryptionCodec({ keys: [NEW] });
    const [p] = await codec.encode([payloadOf(SECRET_VALUE)]);
    const noId = { ...p, metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING) } };
    expect((await codecError(() => codec.decode([noId]))).code).toBe('malformed_encrypted_payload');
    const short = { ...p, data: Buffer.alloc(10) };
    expect((await codecError(() => codec.decode([short]))).code).toBe('malformed_encrypted_payload');
    const otherCipher = { ...p, metadata: { ...p!.metadata, [METADATA_CIPHER]: Buffer.from('AES-128-CBC') } };
    expect((await codecError(() => codec.decode([otherCipher]))).code).toBe('malformed_encrypted_payload');
    const weirdId = { ...p, metadata: { ...p!.metadata, [METADATA_KEY_ID]: Buffer.from('x\n<script>') } };
    const err = await codecError(() => codec.decode([weirdId]));
    expect(err.message).not.toContain('<script>');
  });

  it('refuses to decode a payload that is not encrypted, saying so without its content', async () => {
    const codec = new EncryptionCodec({ keys: [NEW] });
    const plain = payloadOf({ orderId: 'v1-attacker', status: 'PROCESSED' });
    const err = await codecError(() => codec.decode([plain]));
    expect(err.code).toBe('unencrypted_payload');
    expect(err.message).toContain('not encrypted (encoding json/plain)');
    expect(err.message).not.toContain('PROCESSED');
    const noEncoding: Payload = { metadata: {}, data: Buffer.from('raw') };
    expect((await codecError(() => codec.decode([noEncoding]))).message).toContain('(encoding none)');
    const oddEncoding: Payload = { metadata: { encoding: Buffer.from('x\n<script>') }, data: Buffer.from('raw') };
    const odd = await codecError(() => codec.decode([oddEncoding]));
    expect(odd.message).toContain('(encoding (not shown))');
    expect(odd.message).not.toContain('<script>');
    // One plain payload among encrypted ones fails the whole batch: nothing of it reaches the workflow.
    const [sealed] = await codec.encode([payloadOf('fine')]);
    expect((await codecError(() => codec.decode([sealed!, plain]))).code).toBe('unencrypted_payload');
  });

  it('passes unencrypted payloads through on decode when asked (the codec endpoint, a viewer)', async () => {
    const viewer = new EncryptionCodec({ keys: [NEW], unencrypted: 'pass' });
    const plain = payloadOf(SECRET_VALUE);
    const noEncoding: Payload = { metadata: {}, data: Buffer.from('raw') };
    expect(await viewer.decode([plain, noEncoding])).toEqual([plain, noEncoding]);
    // It still refuses what claims to be encrypted and is not ours.
    const [sealed] = await new EncryptionCodec({ keys: [OLD] }).encode([plain]);
    expect((await codecError(() => viewer.decode([sealed!]))).code).toBe('unknown_key_id');
  });

  it('leaves encrypted payloads alone on encode, and encrypts one without an encoding', async () => {
    const codec = new EncryptionCodec({ keys: [NEW] });
    const plain = payloadOf(SECRET_VALUE);
    const noEncoding: Payload = { metadata: {}, data: Buffer.from('raw') };
    const encrypted = await codec.encode([plain]);
    expect(await codec.encode(encrypted)).toEqual(encrypted);
    // A payload without an encoding is still encrypted, and comes back as it was.
    const [sealed] = await codec.encode([noEncoding]);
    expect(text(sealed?.metadata?.[METADATA_ENCODING_KEY])).toBe(ENCRYPTED_ENCODING);
    const [back] = await codec.decode([sealed!]);
    expect(text(back?.data)).toBe('raw');
  });

  it('refuses an unusable key ring without echoing key material', () => {
    const short = randomBytes(16);
    expect(() => new EncryptionCodec({ keys: [] })).toThrow(/empty/);
    expect(() => new EncryptionCodec({ keys: [{ id: 'x', key: short }] })).toThrow(/must be 32 bytes/);
    expect(() => new EncryptionCodec({ keys: [NEW, { id: NEW.id, key: OLD.key }] })).toThrow(/repeated/);
    expect(() => new EncryptionCodec({ keys: [{ id: 'bad id', key: NEW.key }] })).toThrow(/key id/);
    const err = thrownBy(() => new EncryptionCodec({ keys: [{ id: 'x', key: short }] }));
    expect(String((err as Error).message)).not.toContain(short.toString('base64'));
  });

  it('never shows key bytes when the codec itself is inspected or serialized', () => {
    const codec = new EncryptionCodec({ keys: [NEW, OLD] });
    expect(
      keyMaterialIn(`${inspect(codec, { depth: 10, showHidden: true })} ${JSON.stringify(codec)}`, [NEW, OLD]),
    ).toBe(false);
    expect(codec.keyIds).toEqual(['k2026', 'k2025']);
  });
});
