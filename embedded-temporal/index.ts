import * as grpc from '@grpc/grpc-js';
import { Engine } from './engine';
import { addService } from './grpc-server';
import { operatorServiceHandlers } from './operator-service';
import { Persistence } from './persistence';
import { testServiceHandlers } from './test-service';
import { workflowServiceHandlers } from './workflow-service';

/** Options of {@link startEmbeddedTemporal}. */
export interface EmbeddedTemporalOptions {
  /**
   * Port to listen on; 0 picks a free ephemeral port.
   * @default 0
   */
  port?: number;
  /**
   * Host (interface) to listen on.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Namespace the service reports by default. Any namespace name the SDK sends is accepted.
   * @default 'default'
   */
  namespace?: string;
  /**
   * File to persist state to (write-behind snapshot) and to load at start, so running workflows survive a restart.
   * Without it, state is in memory only.
   */
  persistPath?: string;
  /**
   * Start with time skipping unlocked: whenever no workflow task, activity or query is outstanding, virtual time
   * jumps to the next timer. When false, virtual time follows real time until a TestService call unlocks skipping
   * (what `TestWorkflowEnvironment.createTimeSkipping` does).
   * @default false
   */
  timeSkipping?: boolean;
}

/** A running embedded Temporal service. */
export interface EmbeddedTemporal {
  /** gRPC address, `host:port`, to pass to `Connection.connect` / `NativeConnection.connect`. */
  readonly address: string;
  /** The port actually bound (useful with `port: 0`). */
  readonly port: number;
  /** Stops accepting calls, answers pending long polls, flushes the persistence file (if any) and closes. */
  stop(): Promise<void>;
}

/**
 * Starts an in-memory Temporal service (WorkflowService + TestService over gRPC) in this process.
 * @throws if the port cannot be bound or the persistence file cannot be read.
 */
export async function startEmbeddedTemporal(options: EmbeddedTemporalOptions = {}): Promise<EmbeddedTemporal> {
  const host = options.host ?? '127.0.0.1';
  const engine = new Engine({ autoSkip: options.timeSkipping ?? false });
  const persistence = options.persistPath ? new Persistence(engine, options.persistPath) : undefined;
  if (persistence) await persistence.load();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 128 * 1024 * 1024,
    'grpc.max_send_message_length': 128 * 1024 * 1024,
    // Channelz bookkeeping (per-call counters and traces) costs CPU on every call and nothing here reads it.
    'grpc.enable_channelz': 0,
  });
  addService(
    server,
    'temporal.api.workflowservice.v1.WorkflowService',
    workflowServiceHandlers(engine, options.namespace ?? 'default'),
  );
  addService(server, 'temporal.api.testservice.v1.TestService', testServiceHandlers(engine));
  addService(
    server,
    'temporal.api.operatorservice.v1.OperatorService',
    operatorServiceHandlers(engine.searchAttributeTypes),
  );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(err);
      else resolve(bound);
    });
  });
  persistence?.start();
  let stopped: Promise<void> | undefined;
  return {
    address: `${host}:${port}`,
    port,
    stop() {
      stopped ??= (async () => {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 2_000);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
          // Long polls would hold a graceful shutdown open; end them now.
          setImmediate(() => server.forceShutdown());
        });
        engine.stop();
        await persistence?.stop();
      })();
      return stopped;
    },
  };
}
