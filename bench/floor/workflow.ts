/**
 * The floor: a workflow with the payment's shape and none of its work, so that the benchmark can say what Temporal
 * alone costs on the same server, driven the same way. Per phase it runs the counted number of no-op activities
 * before answering the phase's Update and the counted follow-up ones after; it waits for the next Update under a timer,
 * as the payment waits for the OTP (its window) and for the capture (its auto-cancel). No search attributes, memo or
 * query: those are the payment's own work. Deterministic code only, as in workflows/.
 */
import { allHandlersFinished, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { FloorActivities } from './activities';
import { floorCaptureUpdate, floorEventSignal, floorOpenUpdate, floorOtpUpdate } from './definitions';
import type { FloorAnswer, FloorPhase, FloorShape } from './definitions';

// The payment's activity options (workflows/steps.ts), so that a retry would cost the same.
const { floorStep } = proxyActivities<FloorActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 8 },
});

/** How long the floor waits for the OTP and for the capture (the payment's OTP window and auto-cancel). */
const OTP_WINDOW = '10 minutes';
const CAPTURE_WINDOW = '5 days';

const PHASE = { OPENING: 0, AWAITING_OTP: 1, AUTHORIZED: 2, PROCESSED: 3 } as const;

async function steps(count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) await floorStep();
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

  await phase(shape.open, () => (at = PHASE.AWAITING_OTP));
  if (!(await condition(() => otpRequested, OTP_WINDOW))) return signals;
  await phase(shape.otp, () => (at = PHASE.AUTHORIZED));
  if (!(await condition(() => captureRequested, CAPTURE_WINDOW))) return signals;
  await phase(shape.capture, () => (at = PHASE.PROCESSED));
  await condition(allHandlersFinished);
  return signals;
}
