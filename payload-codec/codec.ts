/**
 * AES-256-GCM payload encryption for Temporal: a {@link PayloadCodec} over a key ring, so workflow inputs, results,
 * signals, query answers, memos and (with the failure converter) failure messages are ciphertext in Temporal's
 * storage. The layout follows Temporal's encryption samples: the whole payload (its metadata and data) is serialized
 * and encrypted; the outer payload carries only the encoding `binary/encrypted`, the cipher and the key id.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/** `metadata.encoding` of an encrypted payload (the name Temporal's samples use). */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata key naming the key that encrypted the payload. */
export const METADATA_KEY_ID = 'encryption-key-id';
/** Metadata key naming the cipher. */
export const METADATA_CIPHER = 'encryption-cipher';
/** The only cipher this codec writes and reads. */
export const CIPHER = 'AES-256-GCM';
/** Key length of AES-256. */
export const PAYLOAD_KEY_BYTES = 32;
/** Key ids: short, printable, safe in metadata, logs and error messages. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** One key of the ring: its id (stored in each payload's metadata) and its 32 bytes. */
export interface PayloadKey {
  id: string;
  key: Uint8Array;
}

/** Why a payload could not be encoded or decoded. */
export const PAYLOAD_CODEC_ERROR_CODE = {
  /** The payload names a key id the ring does not hold. */
  UNKNOWN_KEY_ID: 'unknown_key_id',
  /** The authentication tag did not verify: wrong key, or the ciphertext, IV or key id was altered. */
  DECRYPTION_FAILED: 'decryption_failed',
  /** The payload says it is encrypted but lacks a key id, the data, or has another cipher. */
  MALFORMED: 'malformed_encrypted_payload',
  /**
   * The payload is not encrypted at all: written by a client without the codec (the Temporal CLI or an SDK talking
   * to Temporal directly), so the engine did not write it. Refused unless the codec passes such payloads through.
   */
  UNENCRYPTED: 'unencrypted_payload',
  /** The key ring given to the codec is unusable. */
  INVALID_KEYS: 'invalid_keys',
} as const;
export type PayloadCodecErrorCode = (typeof PAYLOAD_CODEC_ERROR_CODE)[keyof typeof PAYLOAD_CODEC_ERROR_CODE];

/** A payload could not be encrypted or decrypted. Names the key id, never key material or payload contents. */
export class PayloadCodecError extends Error {
  override readonly name = 'PayloadCodecError';
  readonly type = 'PayloadCodecError';

  constructor(
    readonly code: PayloadCodecErrorCode,
    message: string,
    /** The key id involved, when there is one. */
    readonly keyId?: string,
  ) {
    super(message);
  }
}

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const text = (b: Uint8Array | null | undefined): string | undefined =>
  b === undefined || b === null ? undefined : Buffer.from(b).toString('utf8');

/** Additional authenticated data: binds the ciphertext to its encoding, cipher and key id. */
function aad(keyId: string): Buffer {
  return Buffer.from(`${ENCRYPTED_ENCODING}\n${CIPHER}\n${keyId}`, 'utf8');
}

/** `true` when the payload carries this codec's encoding. */
export function isEncryptedPayload(payload: Payload): boolean {
  return text(payload.metadata?.[METADATA_ENCODING_KEY]) === ENCRYPTED_ENCODING;
}

/** Options of {@link EncryptionCodec}. */
export interface EncryptionCodecOptions {
  /**
   * The key ring: the first key encrypts, every key decrypts. Add a new key first to rotate, and keep the old ones
   * while any stored history may still hold payloads they encrypted.
   * @throws {PayloadCodecError} `invalid_keys` when empty, a key is not 32 bytes, an id is malformed or repeated.
   */
  keys: readonly PayloadKey[];
  /**
   * What decoding does with a payload that is not encrypted. `refuse` (workers and the API's client): it fails, so
   * a plain-text signal or input sent to Temporal by anyone who reaches it — the CLI without the codec, say — fails
   * the workflow task loudly instead of reaching the payment. `pass`: returned as it is, for read-only viewers such
   * as the codec endpoint the Temporal UI and CLI call, which must show such a payload to explain the failure.
   * @default 'refuse'
   */
  unencrypted?: 'refuse' | 'pass';
}

/**
 * AES-256-GCM {@link PayloadCodec} with a key ring. Encoding an already encrypted payload leaves it as it is (no
 * double encryption); decoding a payload without the `binary/encrypted` encoding fails (see
 * {@link EncryptionCodecOptions.unencrypted}).
 */
export class EncryptionCodec implements PayloadCodec {
  readonly activeKeyId: string;
  readonly unencrypted: 'refuse' | 'pass';
  /** KeyObjects, not Buffers: inspecting or logging the codec never prints key bytes. */
  readonly #keys: ReadonlyMap<string, KeyObject>;

  constructor(options: EncryptionCodecOptions) {
    const first = options.keys[0];
    if (first === undefined) {
      throw new PayloadCodecError(PAYLOAD_CODEC_ERROR_CODE.INVALID_KEYS, 'the payload key ring is empty');
    }
    const keys = new Map<string, KeyObject>();
    for (const { id, key } of options.keys) {
      if (!KEY_ID_PATTERN.test(id)) {
        throw new PayloadCodecError(
          PAYLOAD_CODEC_ERROR_CODE.INVALID_KEYS,
          'a payload key id must be 1-64 letters, digits, ".", "_" or "-"',
        );
      }
      if (keys.has(id)) {
        throw new PayloadCodecError(PAYLOAD_CODEC_ERROR_CODE.INVALID_KEYS, `payload key id ${id} is repeated`, id);
      }
      if (key.length !== PAYLOAD_KEY_BYTES) {
        throw new PayloadCodecError(
          PAYLOAD_CODEC_ERROR_CODE.INVALID_KEYS,
          `payload key ${id} must be ${PAYLOAD_KEY_BYTES} bytes`,
          id,
        );
      }
      keys.set(id, createSecretKey(Buffer.from(key)));
    }
    this.activeKeyId = first.id;
    this.#keys = keys;
    this.unencrypted = options.unencrypted ?? 'refuse';
  }

  /** The ids of the ring, the active one first. */
  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(payloads.map((p) => this.encryptOne(p)));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(payloads.map((p) => this.decryptOne(p)));
  }

  /** Encrypts one payload with the active key (an already encrypted one is returned unchanged). */
  encryptOne(payload: Payload): Payload {
    if (isEncryptedPayload(payload)) return payload;
    const keyId = this.activeKeyId;
    const plaintext = temporal.api.common.v1.Payload.encode(payload).finish();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(keyId)!, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(keyId));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: utf8(ENCRYPTED_ENCODING),
        [METADATA_CIPHER]: utf8(CIPHER),
        [METADATA_KEY_ID]: utf8(keyId),
      },
      data: Buffer.concat([iv, ciphertext, cipher.getAuthTag()]),
    };
  }

  /**
   * Decrypts one payload.
   * @throws {PayloadCodecError} `unencrypted_payload` for a payload that is not encrypted (unless the codec passes
   * them through); for an unknown key id, a tag that does not verify, or a malformed payload.
   */
  decryptOne(payload: Payload): Payload {
    if (!isEncryptedPayload(payload)) {
      if (this.unencrypted === 'pass') return payload;
      // The encoding is named only when it is a plain token: the metadata came from whoever wrote to Temporal.
      const encoding = text(payload.metadata?.[METADATA_ENCODING_KEY]);
      const shown = encoding === undefined ? 'none' : /^[\w./+-]{1,64}$/.test(encoding) ? encoding : '(not shown)';
      throw new PayloadCodecError(
        PAYLOAD_CODEC_ERROR_CODE.UNENCRYPTED,
        `refused a payload that is not encrypted (encoding ${shown}) while payload encryption is on: the engine did ` +
          'not write it; something reached Temporal without the codec (e.g. the Temporal CLI without --codec-endpoint)',
      );
    }
    const keyId = text(payload.metadata?.[METADATA_KEY_ID]);
    if (keyId === undefined || keyId === '') {
      throw new PayloadCodecError(
        PAYLOAD_CODEC_ERROR_CODE.MALFORMED,
        `encrypted payload has no ${METADATA_KEY_ID} metadata`,
      );
    }
    // Printable ids only in messages: the metadata came from storage, which may have been tampered with.
    const shownId = KEY_ID_PATTERN.test(keyId) ? keyId : '(invalid key id)';
    const cipherName = text(payload.metadata?.[METADATA_CIPHER]);
    if (cipherName !== undefined && cipherName !== CIPHER) {
      throw new PayloadCodecError(
        PAYLOAD_CODEC_ERROR_CODE.MALFORMED,
        `encrypted payload (key id ${shownId}) uses an unsupported cipher; this codec reads ${CIPHER}`,
        shownId,
      );
    }
    const key = this.#keys.get(keyId);
    if (key === undefined) {
      throw new PayloadCodecError(
        PAYLOAD_CODEC_ERROR_CODE.UNKNOWN_KEY_ID,
        `payload was encrypted with key id ${shownId}, which is not in PAYLOAD_KEYS (known: ${this.keyIds.join(', ')}); ` +
          'add that key back to the ring to read it',
        shownId,
      );
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw new PayloadCodecError(
        PAYLOAD_CODEC_ERROR_CODE.MALFORMED,
        `encrypted payload (key id ${shownId}) is too short to hold an IV and a tag`,
        shownId,
      );
    }
    const bytes = Buffer.from(data);
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(keyId));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new PayloadCodecError(
        PAYLOAD_CODEC_ERROR_CODE.DECRYPTION_FAILED,
        `payload encrypted with key id ${shownId} failed authentication: the key under that id differs from the one ` +
          'that encrypted it, or the payload was altered',
        shownId,
      );
    }
    try {
      const inner = temporal.api.common.v1.Payload.decode(plaintext);
      return { metadata: inner.metadata, data: inner.data };
    } catch {
      throw new PayloadCodecError(
        PAYLOAD_CODEC_ERROR_CODE.MALFORMED,
        `payload encrypted with key id ${shownId} does not hold a serialized payload`,
        shownId,
      );
    }
  }
}
