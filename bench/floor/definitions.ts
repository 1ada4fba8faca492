/**
 * The floor's contract: a no-op workflow of the payment's shape (bench/floor/workflow.ts), its Updates, Signal, task
 * queue and input. The floor's HTTP route and the benchmark import this module, never the workflow body.
 */
import { defineSignal, defineUpdate } from '@temporalio/workflow';

/** Task queue of the floor worker (never the payment worker's). */
export const FLOOR_TASK_QUEUE = 'bench-floor';

/** Workflow type name (the exported workflow function's name). */
export const FLOOR_WORKFLOW_TYPE = 'paymentFloorWorkflow';

export const floorWorkflowId = (reference: string): string => `floor:${reference}`;

/**
 * One phase of a payment, as counted in a real payment's history: from the Update that opens it (update-with-start,
 * OTP, capture) to the next one.
 */
export interface FloorPhase {
  /** Activities that completed before the phase's Update was answered (the answer waits for them). */
  activities: number;
  /** Activities of the phase that completed after the answer (the payment's own follow-up calls). */
  background: number;
  /** Signals the payment received during the phase (gateway webhooks); the floor's route sends as many. */
  signals: number;
  /** Search-attribute upserts the payment made during the phase (made by the floor only with `visibility`). */
  upserts: number;
  /** Memo updates the payment made during the phase (likewise). */
  memos: number;
}

/** The payment's shape, phase by phase: the floor workflow's input. */
export interface FloorShape {
  open: FloorPhase;
  otp: FloorPhase;
  capture: FloorPhase;
  /**
   * Also write what the payment writes to Temporal's visibility store: its search attributes and memo at start, and
   * each phase's upserts and memo updates with the phase's answer. Off, the floor writes none (the plain floor).
   */
  visibility?: boolean;
}

/** A status as the payment's answers carry it, so the driver checks the floor's answers as it checks the engine's. */
export interface FloorAnswer {
  status: 'AWAITING_OTP' | 'AUTHORIZED' | 'PROCESSED';
}

export const floorOpenUpdate = defineUpdate<FloorAnswer>('floorOpen');
export const floorOtpUpdate = defineUpdate<FloorAnswer>('floorOtp');
export const floorCaptureUpdate = defineUpdate<FloorAnswer>('floorCapture');
/** Stands for a gateway webhook: the workflow only counts it. */
export const floorEventSignal = defineSignal('floorEvent');
