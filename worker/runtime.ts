/** Temporal's process-wide runtime: its logs go to the app logger, its metrics to a Prometheus endpoint. */
import { Runtime } from '@temporalio/worker';
import type { LogLevel as TemporalLogLevel } from '@temporalio/common';
import { toTemporalLogger } from '../observability';
import type { AppLogger, LogLevel } from '../observability';

/** Options of {@link installRuntime}. */
export interface InstallRuntimeOptions {
  logger: AppLogger;
  /** The app's log level; Core (native) logs are forwarded from WARN, or from DEBUG/TRACE when the app asks for it. */
  logLevel: LogLevel;
  /** Prometheus scrape endpoint (`/metrics`); omit or `port: 0` to turn metrics off. */
  metrics?: { host: string; port: number };
}

function coreLevel(level: LogLevel): TemporalLogLevel {
  if (level === 'trace') return 'TRACE';
  if (level === 'debug') return 'DEBUG';
  return 'WARN';
}

/**
 * Installs the Temporal runtime once per process, before any connection or worker is created. Shutdown signals are
 * left to the caller (`shutdownSignals: []`), which drains the worker and closes its own resources.
 */
export function installRuntime(options: InstallRuntimeOptions): Runtime {
  const metrics = options.metrics && options.metrics.port > 0 ? options.metrics : undefined;
  const host = metrics?.host.includes(':') && !metrics.host.startsWith('[') ? `[${metrics.host}]` : metrics?.host;
  return Runtime.install({
    logger: toTemporalLogger(options.logger.child({ component: 'temporal' })),
    shutdownSignals: [],
    telemetryOptions: {
      logging: { filter: { core: coreLevel(options.logLevel), other: 'ERROR' }, forward: {} },
      ...(metrics ? { metrics: { prometheus: { bindAddress: `${host}:${metrics.port}` } } } : {}),
    },
  });
}
