/**
 * What one workflow step (a workflow task, then an activity) costs in time on the official dev server, with no work in
 * either: a workflow of 5 no-op activities, run one at a time, back to back and then 1 s apart, on a dev server with
 * Temporal's default transfer-queue poll rate (20 a second per shard) and on one as this project starts it
 * (`DEV_DYNAMIC_CONFIG`, temporal-server/dev-server.ts). Prints each run's wall time and the median wait between a
 * workflow task's scheduling and its start (from the history): the part of a step that is neither our code nor the
 * activity.
 *   npm run bench:step-latency -- [runs=10]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { DEV_DYNAMIC_CONFIG, startDevServer } from '../temporal-server/dev-server';
import { percentile } from './lib/stats';

const STEPS = 5;
const TASK_QUEUE = 'step-latency';
const { EventType } = temporal.api.enums.v1;

const millis = (t: temporal.api.history.v1.IHistoryEvent['eventTime']): number =>
  Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
const median = (xs: readonly number[]): number =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

/** Runs the workflows on one dev server started with `dynamicConfig`; prints one line per spacing. */
async function measure(label: string, dynamicConfig: Record<string, unknown>, runs: number): Promise<void> {
  const server = await startDevServer({ dynamicConfig });
  const native = await NativeConnection.connect({ address: server.address });
  const worker = await Worker.create({
    connection: native,
    taskQueue: TASK_QUEUE,
    workflowsPath: require.resolve('./step-latency/workflow'),
    activities: { async noop() {} },
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  try {
    for (const [kind, gapMs] of [
      ['back to back', 0],
      ['1 s apart', 1000],
    ] as const) {
      const waits: number[] = [];
      const walls: string[] = [];
      for (let r = 0; r < runs; r += 1) {
        await sleep(gapMs);
        const workflowId = `steps-${gapMs}-${r}-${Date.now()}`;
        const started = performance.now();
        await client.workflow.execute('sequentialSteps', { taskQueue: TASK_QUEUE, workflowId, args: [STEPS] });
        walls.push((performance.now() - started).toFixed(0));
        const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
        events.forEach((e, i) => {
          const next = events[i + 1];
          if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED && next)
            waits.push(millis(next.eventTime) - millis(e.eventTime));
        });
      }
      process.stdout.write(
        `${label}, ${kind}: ${runs} workflows of ${STEPS} no-op activities, ms each: ${walls.join(' ')}; ` +
          `workflow task scheduled → started, median ${median(waits).toFixed(1)} ms\n`,
      );
    }
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await native.close();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 10);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  await measure('transfer queue polled 20/s (Temporal default)', { 'history.transferProcessorMaxPollRPS': 20 }, runs);
  await measure(`as this project starts it (${JSON.stringify(DEV_DYNAMIC_CONFIG)})`, {}, runs);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
