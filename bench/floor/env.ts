/** What the floor's two processes read from their environment: the same Temporal server and payload keys as the engine. */
import { z } from 'zod';
import { payloadKeysField } from '../../config';
import { createDataConverter } from '../../payload-codec';
import type { DataConverter } from '@temporalio/common';

const floorEnvSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1),
  PAYLOAD_KEYS: payloadKeysField,
  FLOOR_PORT: z.coerce.number().int().min(0).max(65_535).default(0),
  /** The engine API's waits (API_START_WAIT_MS / API_ACTION_WAIT_MS defaults), so the floor answers 202 alike. */
  FLOOR_START_WAIT_MS: z.coerce.number().int().min(0).default(8_000),
  FLOOR_ACTION_WAIT_MS: z.coerce.number().int().min(0).default(15_000),
});

export interface FloorEnv {
  temporalAddress: string;
  /** The engine's data converter (payload encryption with the same keys). */
  dataConverter: DataConverter;
  port: number;
  startWaitMs: number;
  actionWaitMs: number;
}

/** @throws {z.ZodError} on a bad environment (the benchmark sets every key). */
export function floorEnv(env: NodeJS.ProcessEnv = process.env): FloorEnv {
  const e = floorEnvSchema.parse(env);
  return {
    temporalAddress: e.TEMPORAL_ADDRESS,
    dataConverter: createDataConverter({ mode: 'on', keys: e.PAYLOAD_KEYS }),
    port: e.FLOOR_PORT,
    startWaitMs: e.FLOOR_START_WAIT_MS,
    actionWaitMs: e.FLOOR_ACTION_WAIT_MS,
  };
}
