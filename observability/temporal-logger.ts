/**
 * Adapter from the application logger to Temporal's `Logger` interface, so the SDK's own logs, workflow and activity
 * context logs and (with `telemetryOptions.logging.forward`) Core's native logs all go through one redacting logger.
 */
import type { Logger as TemporalLogger, LogLevel as TemporalLogLevel, LogMetadata } from '@temporalio/common';
import type { AppLogger } from './logger';

const LEVELS: Record<TemporalLogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Wraps `logger` as a Temporal `Logger`; metadata becomes the line's fields (symbol keys are dropped). */
export function toTemporalLogger(logger: AppLogger): TemporalLogger {
  const log = (level: TemporalLogLevel, message: string, meta?: LogMetadata): void => {
    const method = LEVELS[level] ?? 'info';
    logger[method]({ ...(meta ?? {}) }, message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}
