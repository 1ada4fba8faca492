/** Payload encryption for Temporal: the AES-256-GCM codec, the data converter, and the codec endpoint. */
export {
  CIPHER,
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  isEncryptedPayload,
  KEY_ID_PATTERN,
  METADATA_CIPHER,
  METADATA_KEY_ID,
  PAYLOAD_CODEC_ERROR_CODE,
  PAYLOAD_KEY_BYTES,
  PayloadCodecError,
} from './codec';
export type { EncryptionCodecOptions, PayloadCodecErrorCode, PayloadKey } from './codec';
export { createDataConverter, FAILURE_CONVERTER_PATH } from './data-converter';
export type { PayloadEncryptionSetting } from './data-converter';
export { CODEC_ALLOWED_HEADERS, createCodecRouter, MAX_PAYLOADS_PER_REQUEST } from './server';
export type { CodecAuth, CodecRouterOptions } from './server';
