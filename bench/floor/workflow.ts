/**
 * The floor: a workflow with the payment's shape and none of its work, so that the benchmark can say what Temporal
 * alone costs on the same server, driven the same way. Per phase it runs the counted number of no-op activities
 * before answering the phase's Update and the counted follow-up ones after; it waits for the next Update under a timer,
 * as the payment waits for the OTP (its window) and for the capture (its auto-cancel). No query. No search attributes
 * or memo either, unless the shape asks for `visibility`: then each phase's answer comes with as many search-attribute
 * upserts and memo updates as the payment made in that phase (the visibility store's work Temporal does for the
 * payment's search, measured apart from ours). Deterministic code only, as in workflows/.
 */
import {
  allHandlersFinished,
  condition,
  proxyActivities,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { nowMs } from '../../workflows/clock';
import { PAYMENT_MEMO_KEY, SEARCH_ATTRIBUTE } from '../../workflows/definitions';
import type { FloorActivities } from './activities';
import { floorCaptureUpdate, floorEventSignal, floorOpenUpdate, floorOtpUpdate } from './definitions';
import type { FloorAnswer, FloorPhase, FloorShape } from './definitions';

// The payment's activity options (workflows/steps.ts), so that a retry would cost the same.
const { floorStep } = proxyActivities<FloorActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 8 },
});

/**
 * How long the floor waits for the OTP and for the capture, and stays open after it (the payment's OTP window,
 * auto-cancel and refund window).
 */
const OTP_WINDOW = '10 minutes';
const CAPTURE_WINDOW = '5 days';
const REFUND_WINDOW = '180 days';

const PHASE = { OPENING: 0, AWAITING_OTP: 1, AUTHORIZED: 2, PROCESSED: 3 } as const;

async function steps(count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) await floorStep();
}

/**
 * The payment's visibility writes of one phase, made with its answer as the payment makes them with its move: status,
 * time of change and creation time (and, on the first, the gateway's order id) upserted; the memo's summary rewritten.
 */
function writeVisibility(shape: FloorPhase, status: FloorAnswer['status'], first: boolean): void {
  const now = new Date(nowMs());
  for (let i = 0; i < shape.upserts; i += 1) {
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTE.PAYMENT_STATUS, value: status },
      { key: SEARCH_ATTRIBUTE.UPDATED_AT, value: now },
      { key: SEARCH_ATTRIBUTE.CREATED_AT, value: workflowInfo().startTime },
      ...(first && i === 0
        ? [{ key: SEARCH_ATTRIBUTE.PLURAL_ORDER_ID, value: `floor-${workflowInfo().workflowId}` }]
        : []),
    ]);
  }
  for (let i = 0; i < shape.memos; i += 1) {
    const summary = workflowInfo().memo?.[PAYMENT_MEMO_KEY];
    upsertMemo({ [PAYMENT_MEMO_KEY]: { ...(summary ?? {}), status, updatedAt: now.toISOString() } });
  }
}

/** Runs one phase: its activities, then the answer (the phase moves on), then its follow-up activities. */
async function phase(shape: FloorPhase, answer: () => void): Promise<void> {
  await steps(shape.activities);
  answer();
  await steps(shape.background);
}

/** The payment's shape, no-op: update-with-start → OTP Update → capture Update, each answered after its activities. */
export async function paymentFloorWorkflow(shape: FloorShape): Promise<number> {
  let at: number = PHASE.OPENING;
  let otpRequested = false;
  let captureRequested = false;
  let signals = 0;
  const answerAt = (reached: number, status: FloorAnswer['status']) => async (): Promise<FloorAnswer> => {
    await condition(() => at >= reached);
    return { status };
  };
  const refuseUnless = (expected: number) => (): void => {
    if (at !== expected) throw new Error(`not applicable in phase ${at}`);
  };

  setHandler(floorEventSignal, () => {
    signals += 1;
  });
  setHandler(floorOpenUpdate, answerAt(PHASE.AWAITING_OTP, 'AWAITING_OTP'));
  setHandler(
    floorOtpUpdate,
    async () => {
      otpRequested = true;
      return answerAt(PHASE.AUTHORIZED, 'AUTHORIZED')();
    },
    { validator: refuseUnless(PHASE.AWAITING_OTP) },
  );
  setHandler(
    floorCaptureUpdate,
    async () => {
      captureRequested = true;
      return answerAt(PHASE.PROCESSED, 'PROCESSED')();
    },
    { validator: refuseUnless(PHASE.AUTHORIZED) },
  );

  const move = (p: FloorPhase, to: number, status: FloorAnswer['status']) => (): void => {
    at = to;
    if (shape.visibility) writeVisibility(p, status, to === PHASE.AWAITING_OTP);
  };
  await phase(shape.open, move(shape.open, PHASE.AWAITING_OTP, 'AWAITING_OTP'));
  if (!(await condition(() => otpRequested, OTP_WINDOW))) return signals;
  await phase(shape.otp, move(shape.otp, PHASE.AUTHORIZED, 'AUTHORIZED'));
  if (!(await condition(() => captureRequested, CAPTURE_WINDOW))) return signals;
  await phase(shape.capture, move(shape.capture, PHASE.PROCESSED, 'PROCESSED'));
  // The payment stays open after its capture, parked on its refund window's timer (no close, no visibility close
  // record, while the benchmark runs): so does the floor.
  await condition(allHandlersFinished);
  await sleep(REFUND_WINDOW);
  return signals;
}
