/** The Temporal data converter of the engine's workers and clients, with or without payload encryption. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { EncryptionCodec } from './codec';
import type { PayloadKey } from './codec';

/**
 * Path of the failure-converter module (`failureConverter` export), for `DataConverter.failureConverterPath` and for
 * `bundleWorkflowCode({ failureConverterPath })`.
 */
export const FAILURE_CONVERTER_PATH: string = failureConverterPath();

function failureConverterPath(): string {
  // From source (tsx, vitest) the module is a .ts file, which require.resolve does not find without a loader hook.
  for (const file of ['failure-converter.ts', 'failure-converter.js']) {
    const candidate = path.join(__dirname, file);
    if (existsSync(candidate)) return candidate;
  }
  return require.resolve('./failure-converter');
}

/** Payload encryption as configured: on with a key ring, or explicitly off. */
export type PayloadEncryptionSetting = { mode: 'on'; keys: readonly PayloadKey[] } | { mode: 'off' };

/**
 * The data converter for `Worker.create` and `new Client`: the encryption codec and the failure converter that turns
 * failure messages and stack traces into payloads the codec can encrypt; with encryption off, Temporal's defaults.
 * @throws {PayloadCodecError} when the key ring is unusable.
 */
export function createDataConverter(setting: PayloadEncryptionSetting | PayloadCodec): DataConverter {
  if ('mode' in setting && setting.mode === 'off') return {};
  const codec = 'mode' in setting ? new EncryptionCodec({ keys: setting.keys }) : setting;
  return { failureConverterPath: FAILURE_CONVERTER_PATH, payloadCodecs: [codec] };
}
