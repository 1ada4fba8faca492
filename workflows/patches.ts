/**
 * Workflow changes made after histories existed, each behind `patched(id)` so that a payment started before the change
 * replays its old branch. `test/workflows/replay.test.ts` requires a committed history holding each id's marker.
 */
export const PATCH = {
  /** Skip the post-OTP Get Order once a webhook or callback has already confirmed the outcome. */
  SKIP_CONFIRMED_OTP_RECONCILE: 'skip-confirmed-otp-reconcile',
  /** Confirm an OTP refusal with Get Order: a retried submission is refused once Plural has accepted the first. */
  CONFIRM_OTP_REFUSAL: 'confirm-otp-refusal',
} as const;
