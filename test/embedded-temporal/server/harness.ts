import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { WorkerOptions } from '@temporalio/worker';
import { startEmbeddedTemporal } from '../../../embedded-temporal';
import type { EmbeddedTemporal } from '../../../embedded-temporal';
import * as activities from './activities';

/** An in-process server plus a client and a running worker for one test file. */
export interface Harness {
  server: EmbeddedTemporal;
  client: Client;
  connection: Connection;
  nativeConnection: NativeConnection;
  taskQueue: string;
  worker: Worker;
  stop(): Promise<void>;
}

export async function startHarness(
  taskQueue: string,
  workerOptions: Partial<WorkerOptions> = {},
  serverOptions: { timeSkipping?: boolean } = {},
): Promise<Harness> {
  const server = await startEmbeddedTemporal(serverOptions);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowsPath: path.join(__dirname, 'workflows.ts'),
    activities,
    ...workerOptions,
  });
  const running = worker.run();
  return {
    server,
    client,
    connection,
    nativeConnection,
    taskQueue,
    worker,
    async stop() {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      await server.stop();
    },
  };
}
