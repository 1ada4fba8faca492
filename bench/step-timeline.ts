/**
 * Where a payment's time goes, step by step, read from the histories of real payments: the benchmark's payment
 * (create, OTP, capture) made one at a time through the API with the sandbox at N ms per Plural call, and the same
 * number through the floor (bench/floor/, the same shape with no-op activities). For each, from the server's event
 * times: the payment's span (first event to last), its workflow tasks (how many, the median wait between scheduling
 * and start, the median time from start to completion: the worker's part), and each activity type's median time from
 * scheduling to completion (the gateway call, plus the dispatch and the activity's own work). Prints a table; asserts
 * nothing. What it showed first is in bench/README.md, "Where a slow gateway payment's time goes".
 *   npm run bench:step-timeline -- [payments=10] [latencyMs=100]
 */
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { paymentWorkflowId } from '../workflows/definitions';
import { floorWorkflowId } from './floor/definitions';
import { countHistory } from './floor/shape';
import { startDeployment } from './lib/deployment';
import { merchantClient } from './lib/merchant';
import { engineRoute, floorRoute, makePayment } from './lib/payment-paths';
import type { PaymentRoute } from './lib/payment-paths';
import { percentile, Recorder } from './lib/stats';
import { renderTable } from './lib/table';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const WARM_UP = 2;

const millis = (e: HistoryEvent): number => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
const median = (xs: readonly number[]): number =>
  xs.length === 0
    ? NaN
    : percentile(
        [...xs].sort((a, b) => a - b),
        50,
      );

/** One history's step times, ms. */
interface Timeline {
  span: number;
  workflowTasks: number;
  taskWaits: number[];
  taskRuns: number[];
  activities: Map<string, number[]>;
}

function timelineOf(events: readonly HistoryEvent[]): Timeline {
  const t: Timeline = { span: 0, workflowTasks: 0, taskWaits: [], taskRuns: [], activities: new Map() };
  let taskScheduled = 0;
  let taskStarted = 0;
  const scheduled = new Map<number, { type: string; at: number }>();
  for (const e of events) {
    if (e.workflowTaskScheduledEventAttributes) taskScheduled = millis(e);
    if (e.workflowTaskStartedEventAttributes) {
      taskStarted = millis(e);
      t.taskWaits.push(taskStarted - taskScheduled);
    }
    if (e.workflowTaskCompletedEventAttributes) {
      t.workflowTasks += 1;
      t.taskRuns.push(millis(e) - taskStarted);
    }
    const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) scheduled.set(Number(e.eventId), { type, at: millis(e) });
    const done = e.activityTaskCompletedEventAttributes;
    const from = done ? scheduled.get(Number(done.scheduledEventId)) : undefined;
    if (from) t.activities.set(from.type, [...(t.activities.get(from.type) ?? []), millis(e) - from.at]);
  }
  const first = events[0];
  const last = events[events.length - 1];
  if (first && last) t.span = millis(last) - millis(first);
  return t;
}

/** One table row per measure, over the timelines of one path. */
function rows(label: string, timelines: readonly Timeline[]): (string | number)[][] {
  const all = (f: (t: Timeline) => number[]): number[] => timelines.flatMap(f);
  const out: (string | number)[][] = [
    [label, 'payment span (first to last event)', median(timelines.map((t) => t.span))],
    [label, 'workflow tasks per payment', median(timelines.map((t) => t.workflowTasks))],
    [label, 'workflow task: scheduled → started', median(all((t) => t.taskWaits))],
    [label, 'workflow task: started → completed (worker)', median(all((t) => t.taskRuns))],
    [label, 'workflow tasks: total per payment', median(timelines.map((t) => t.taskRuns.reduce((a, b) => a + b, 0)))],
  ];
  const types = [...new Set(timelines.flatMap((t) => [...t.activities.keys()]))];
  for (const type of types) {
    out.push([label, `activity ${type}: scheduled → completed`, median(all((t) => t.activities.get(type) ?? []))]);
  }
  return out;
}

async function main(): Promise<void> {
  const payments = Number(process.argv[2] ?? 10);
  const latencyMs = Number(process.argv[3] ?? 100);
  const d = await startDeployment({ temporalDbFile: undefined, logLevel: 'warn', floor: true });
  const connection = await Connection.connect({ address: d.temporalAddress });
  try {
    const client = new Client({ connection });
    const setLatency = async (latency: number): Promise<void> => {
      const res = await fetch(`${d.sandboxUrl}/__sandbox/faults`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${d.sandboxControlToken}` },
        body: JSON.stringify({ latencyMs: latency }),
      });
      if (!res.ok) throw new Error(`sandbox refused latency ${latency} ms: HTTP ${res.status}`);
    };
    const run = `tl${Date.now()}`;
    const pay = async (url: string, route: PaymentRoute, refs: readonly string[]): Promise<void> => {
      const api = merchantClient(url, d.apiKey, 1);
      try {
        for (const ref of refs) {
          const outcome = await makePayment(api, route, ref, new Recorder());
          if (outcome.kind !== 'completed') throw new Error(`payment ${ref}: ${JSON.stringify(outcome)}`);
        }
      } finally {
        await api.close();
      }
    };
    const histories = async (ids: readonly string[]): Promise<Timeline[]> =>
      Promise.all(ids.map(async (id) => timelineOf((await client.workflow.getHandle(id).fetchHistory()).events ?? [])));

    await setLatency(latencyMs);
    const engineRefs = Array.from({ length: WARM_UP + payments }, (_, i) => `${run}-e${i}`);
    await pay(d.apiUrl, engineRoute, engineRefs);
    await setLatency(0);
    const engineIds = engineRefs.slice(WARM_UP).map((ref) => paymentWorkflowId(ref));
    const firstHistory = await client.workflow.getHandle(engineIds[0] ?? '').fetchHistory();
    const shape = countHistory(firstHistory.events ?? [], (n) => temporal.api.enums.v1.EventType[n] ?? String(n)).shape;
    const floorRefs = Array.from({ length: WARM_UP + payments }, (_, i) => `${run}-f${i}`);
    await pay(d.floorUrl ?? '', floorRoute(shape), floorRefs);

    const table = renderTable(
      ['path', 'measure', 'median ms'],
      [
        ...rows('engine', await histories(engineIds)),
        ...rows('floor', await histories(floorRefs.slice(WARM_UP).map((ref) => floorWorkflowId(ref)))),
      ],
    );
    process.stdout.write(
      `${payments} payments each way, one at a time, after ${WARM_UP} warm-up; sandbox at ${latencyMs} ms per Plural call ` +
        `(the floor's activities do nothing). Times from the histories' event times (ms).\n\n${table}\n`,
    );
  } finally {
    await connection.close();
    await d.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
