/**
 * The floor's HTTP route process: the engine API's three calls with nothing of the engine around them (no Express,
 * authentication, vault or fingerprint check; a memo only for the floor with visibility). Each request is one Temporal call through a `Client` with the engine's
 * data converter, under the engine API's waits: a create is one update-with-start, an OTP or capture one Update, and
 * the phase's gateway webhooks are sent as Signals alongside (the engine's webhook route sends one Signal each).
 *
 *   POST /floor/payments            { reference, shape }  → 201 { status: AWAITING_OTP }
 *     (with `shape.visibility`, started with the search attributes and memo the engine's API gives a payment)
 *   POST /floor/payments/:ref/otp     { signals }         → 200 { status: AUTHORIZED }
 *   POST /floor/payments/:ref/capture { signals }         → 200 { status: PROCESSED }
 *
 * Not answered within the wait: 202, as the engine API answers. Prints `READY <url>` once listening.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { z } from 'zod';
import { startSearchAttributes, startSummary } from '../../api/payment-summary';
import { DEFAULT_MERCHANT_ID, FINGERPRINT_MEMO_KEY, PAYMENT_MEMO_KEY } from '../../workflows/definitions';
import { BENCH_AMOUNT, NATIVE_OTP_CARD } from '../lib/merchant';
import {
  FLOOR_TASK_QUEUE,
  FLOOR_WORKFLOW_TYPE,
  floorCaptureUpdate,
  floorEventSignal,
  floorOpenUpdate,
  floorOtpUpdate,
  floorWorkflowId,
} from './definitions';
import type { FloorAnswer } from './definitions';
import { floorEnv } from './env';

const phaseSchema = z.object({
  activities: z.number().int().min(0),
  background: z.number().int().min(0),
  signals: z.number().int().min(0),
  upserts: z.number().int().min(0),
  memos: z.number().int().min(0),
});
const createSchema = z.object({
  reference: z.string().min(1).max(100),
  shape: z.object({ open: phaseSchema, otp: phaseSchema, capture: phaseSchema, visibility: z.boolean().optional() }),
});

/**
 * What the engine's API gives a payment at start for Temporal's visibility store (api/temporal-engine.ts): its search
 * attributes, and a memo of a request fingerprint and the summary of a benchmark payment (the API's own builders).
 */
function startVisibility(reference: string) {
  return {
    typedSearchAttributes: startSearchAttributes(reference, DEFAULT_MERCHANT_ID),
    memo: {
      [FINGERPRINT_MEMO_KEY]: `v2:${'0'.repeat(64)}`,
      [PAYMENT_MEMO_KEY]: startSummary({
        merchantOrderReference: reference,
        amount: BENCH_AMOUNT,
        preAuth: true,
        method: { kind: 'card', cardHandle: 'floor', last4: NATIVE_OTP_CARD.number.slice(-4) },
      }),
    },
  };
}
const actionSchema = z.object({ signals: z.number().int().min(0).max(100) });
const ACTION_PATH = /^\/floor\/payments\/([^/]+)\/(otp|capture)$/;

const isNamed = (err: unknown, name: string): boolean =>
  err !== null && typeof err === 'object' && (err as { name?: unknown }).name === name;

/** The HTTP status and body of a Temporal call's outcome, as the engine API would answer it. */
async function answer(
  created: boolean,
  call: () => Promise<FloorAnswer>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  try {
    return { status: created ? 201 : 200, body: { ...(await call()) } };
  } catch (err) {
    if (isNamed(err, 'WorkflowUpdateRPCTimeoutOrCancelledError')) return { status: 202, body: { status: 'PENDING' } };
    if (isNamed(err, 'WorkflowUpdateFailedError')) return { status: 409, body: { error: { code: 'update_refused' } } };
    return { status: 500, body: { error: { code: err instanceof Error ? err.name : 'unknown' } } };
  }
}

/** Sends `count` Signals to the workflow; Signals to a workflow that has just completed are ignored. */
async function signal(handle: WorkflowHandle, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    await handle.signal(floorEventSignal).catch((err: unknown) => {
      if (!isNamed(err, 'WorkflowNotFoundError')) throw err;
    });
  }
}

async function main(): Promise<void> {
  const env = floorEnv();
  const connection = await Connection.connect({ address: env.temporalAddress });
  const client = new Client({ connection, namespace: 'default', dataConverter: env.dataConverter });
  const within = <T>(ms: number, fn: () => Promise<T>): Promise<T> => client.withDeadline(Date.now() + ms, fn);

  async function route(method: string | undefined, url: string, body: unknown) {
    if (method === 'POST' && url === '/floor/payments') {
      const { reference, shape } = createSchema.parse(body);
      const startWorkflowOperation = new WithStartWorkflowOperation(FLOOR_WORKFLOW_TYPE, {
        taskQueue: FLOOR_TASK_QUEUE,
        workflowId: floorWorkflowId(reference),
        args: [shape],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        ...(shape.visibility ? startVisibility(reference) : {}),
      });
      const result = await answer(true, () =>
        within(env.startWaitMs, () =>
          client.workflow.executeUpdateWithStart(floorOpenUpdate, { startWorkflowOperation }),
        ),
      );
      await signal(client.workflow.getHandle(floorWorkflowId(reference)), shape.open.signals);
      return result;
    }
    const m = ACTION_PATH.exec(url);
    if (method === 'POST' && m) {
      const { signals } = actionSchema.parse(body);
      const handle = client.workflow.getHandle(floorWorkflowId(decodeURIComponent(m[1] ?? '')));
      const update = m[2] === 'otp' ? floorOtpUpdate : floorCaptureUpdate;
      const [result] = await Promise.all([
        answer(false, () => within(env.actionWaitMs, () => handle.executeUpdate(update))),
        signal(handle, signals),
      ]);
      return result;
    }
    return { status: 404, body: { error: { code: 'not_found' } } };
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        reply(400, { error: { code: 'invalid_json' } });
        return;
      }
      route(req.method, req.url ?? '/', body).then(
        (r) => reply(r.status, r.body),
        (err: unknown) => reply(err instanceof z.ZodError ? 400 : 500, { error: { code: 'floor_failed' } }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(env.port, '127.0.0.1', resolve));
  process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
  process.once('SIGTERM', () => {
    server.close();
    void connection.close().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`floor route failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
