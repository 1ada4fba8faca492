/**
 * The floor's worker process: the floor workflow and its no-op activity on their own task queue, with the payment
 * worker's settings (worker/worker.ts) and data converter. Prints `READY` once polling; stops on SIGTERM.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createFloorActivities } from './activities';
import { FLOOR_TASK_QUEUE } from './definitions';
import { floorEnv } from './env';

async function main(): Promise<void> {
  const env = floorEnv();
  const connection = await NativeConnection.connect({ address: env.temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue: FLOOR_TASK_QUEUE,
    workflowsPath: require.resolve('./workflow'),
    activities: createFloorActivities(),
    dataConverter: env.dataConverter,
    maxConcurrentActivityTaskExecutions: 100,
    shutdownGraceTime: 10_000,
    stickyQueueScheduleToStartTimeout: '3 seconds',
  });
  const running = worker.run();
  // The SDK's default runtime also shuts the worker down on SIGTERM: whichever comes first.
  process.once('SIGTERM', () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
  });
  process.stdout.write('READY\n');
  await running;
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`floor worker failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
