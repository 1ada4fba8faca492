import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedTemporal } from '../../../embedded-temporal';
import type { EmbeddedTemporal } from '../../../embedded-temporal';

const { EventType, TaskQueueKind, TimeoutType } = temporal.api.enums.v1;

let server: EmbeddedTemporal;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  server = await startEmbeddedTemporal();
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection });
});

afterAll(async () => {
  await connection?.close();
  await server?.stop();
});

/** Plays a worker by hand: takes the first workflow task and completes it naming a sticky queue nobody polls. */
async function completeFirstTaskWithDeadStickyQueue(queue: string, workflowId: string): Promise<void> {
  await client.workflow.start('anything', { taskQueue: queue, workflowId });
  const task = await connection.workflowService.pollWorkflowTaskQueue({
    namespace: 'default',
    taskQueue: { name: queue },
    identity: 'by-hand',
  });
  await connection.workflowService.respondWorkflowTaskCompleted({
    namespace: 'default',
    taskToken: task.taskToken,
    identity: 'by-hand',
    stickyAttributes: {
      workerTaskQueue: { name: `${queue}-dead-sticky`, kind: TaskQueueKind.TASK_QUEUE_KIND_STICKY, normalName: queue },
      scheduleToStartTimeout: msToTs(1_000),
    },
  });
}

async function history(workflowId: string): Promise<temporal.api.history.v1.IHistoryEvent[]> {
  return (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

describe('sticky queues', () => {
  it('a task for a sticky queue nobody polls goes to the normal queue at once (Go matching: StickyWorkerUnavailable)', async () => {
    await completeFirstTaskWithDeadStickyQueue('sticky-a', 'sticky-a');
    await client.workflow.getHandle('sticky-a').signal('go');
    const task = await connection.workflowService.pollWorkflowTaskQueue({
      namespace: 'default',
      taskQueue: { name: 'sticky-a' },
      identity: 'normal-poller',
    });
    expect(task.taskToken?.length).toBeGreaterThan(0);
    // Full history on the normal queue, and the scheduled event names the sticky queue it was meant for.
    expect(task.history?.events?.[0]?.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
    const scheduled = task.history!.events!.at(-2)!;
    expect(scheduled.workflowTaskScheduledEventAttributes?.taskQueue?.kind).toBe(TaskQueueKind.TASK_QUEUE_KIND_STICKY);
    const types = (await history('sticky-a')).map((e) => e.eventType);
    expect(types).not.toContain(EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT);
  });

  it('when nobody starts it within the sticky schedule-to-start timeout, WFTTimedOut(SCHEDULE_TO_START) is written and a normal task scheduled', async () => {
    await completeFirstTaskWithDeadStickyQueue('sticky-b', 'sticky-b');
    await client.workflow.getHandle('sticky-b').signal('go');
    await new Promise((r) => setTimeout(r, 1_500));
    const events = await history('sticky-b');
    const timedOut = events.findIndex((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT);
    expect(timedOut).toBeGreaterThan(0);
    expect(events[timedOut]!.workflowTaskTimedOutEventAttributes?.timeoutType).toBe(
      TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
    );
    const next = events[timedOut + 1]!.workflowTaskScheduledEventAttributes;
    expect(next?.taskQueue?.kind).toBe(TaskQueueKind.TASK_QUEUE_KIND_NORMAL);
    expect(next?.attempt).toBe(1);
  });
});
