/**
 * Waiting for a payment workflow to reach a state, through its `getPayment` query: the wait most Temporal tests share,
 * on the dev server and on the time-skipping server alike (it polls in real time; see `wait.ts`).
 */
import { getPaymentQuery } from '../../workflows/definitions';
import type { PaymentState, PaymentStatus } from '../../workflows/definitions';
import { waitFor } from './wait';
import type { WaitForOptions } from './wait';

/** What the wait needs of a workflow handle (any `WorkflowHandle` has it). */
export interface QueryablePayment {
  query(query: typeof getPaymentQuery): Promise<PaymentState>;
}

/** Options of {@link waitForPaymentState}: those of `waitFor` but the description, which is the payment's. */
export type WaitForPaymentOptions = Omit<WaitForOptions, 'describeLast'>;

/**
 * Polls `getPayment` until `check` passes and returns that state. A query that fails (the workflow's first task has
 * not run yet) or a `check` that throws counts as "not yet"; on timeout the error shows the last state answered: its
 * status, last audit entry and failure.
 * @throws {WaitForTimeoutError} when the payment does not get there within `timeoutMs` (default 30 s)
 */
export function waitForPaymentState(
  handle: QueryablePayment,
  check: (state: PaymentState) => boolean,
  what: string,
  options: WaitForPaymentOptions = {},
): Promise<PaymentState> {
  let last: PaymentState | undefined;
  return waitFor(
    what,
    async () => {
      try {
        last = await handle.query(getPaymentQuery);
        return check(last) ? last : undefined;
      } catch {
        return undefined;
      }
    },
    { timeoutMs: 30_000, ...options, describeLast: () => describePayment(last) },
  );
}

/** {@link waitForPaymentState} for a status. */
export function waitForPaymentStatus(
  handle: QueryablePayment,
  status: PaymentStatus,
  options: WaitForPaymentOptions = {},
): Promise<PaymentState> {
  return waitForPaymentState(handle, (s) => s.status === status, `status ${status}`, options);
}

/** A payment's last known state in a line, for a timeout's message. */
function describePayment(last: PaymentState | undefined): string {
  if (!last) return 'the getPayment query never answered';
  return (
    `last state: ${JSON.stringify(last.status)} ${JSON.stringify(last.audit.at(-1))}` +
    (last.failure ? ` failure ${JSON.stringify(last.failure)}` : '')
  );
}
