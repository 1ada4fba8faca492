/** Logging: the one redacting application logger and its Temporal adapter. */
export { createLogger, LOG_LEVELS, REDACT_PATHS } from './logger';
export type { AppLogger, CreateLoggerOptions, LogLevel } from './logger';
export { toTemporalLogger } from './temporal-logger';
export { isSensitiveKey, looksLikePan, luhnValid, maskPans, REDACTED, scrub, scrubString } from './scrub';
