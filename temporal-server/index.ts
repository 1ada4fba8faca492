export {
  findTemporalBinary,
  installHint,
  PROJECT_BIN_DIR,
  sdkExecutable,
  TEMPORAL_BINARIES,
  TemporalBinaryError,
} from './binaries';
export type { FoundBinary, SdkExecutable, TemporalBinary } from './binaries';
export { freePort, startDevServer } from './dev-server';
export type { DevServerOptions, RunningDevServer, SearchAttributeSpec } from './dev-server';
