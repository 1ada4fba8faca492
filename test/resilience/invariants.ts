/**
 * The resilience suite's invariants, checked against the Plural sandbox's own record of every order. Pure: it takes
 * what the engine reported and what the sandbox recorded, and returns counts plus one line per violation, so a unit
 * test can plant each kind of violation and prove the checker sees it.
 */
import type { OrderSummary } from '../../plural-sandbox';
import type { Money, PaymentStatus } from '../../workflows/definitions';

/** What the engine (Temporal) says about one payment once the run has settled. */
export interface EngineOutcome {
  /** False when no workflow exists for the reference (the payment was lost). */
  found: boolean;
  /** The workflow has closed (completed with its final state). */
  closed: boolean;
  status: PaymentStatus | undefined;
  pluralOrderId: string | undefined;
  amount: Money | undefined;
  amountCaptured: Money | undefined;
  /** What the engine refunded (the merchant's refunds, and money Plural took while the payment was closing). */
  amountRefunded: Money | undefined;
  /** Plural's refund order of each refund the engine made (undefined: not taken by Plural, or unknown). */
  refundOrderIds?: (string | undefined)[];
  /** The parked operation, when the payment still waits for an operator. */
  parked: string | undefined;
  /** Why the engine's state could not be read (a failed or terminated workflow, say). */
  problem?: string;
  /** The engine's failure code and its last audit entries, quoted in violation lines. */
  detail?: string;
}

/** One payment the scenario started. */
export interface PaymentUnderTest {
  merchantOrderReference: string;
  /** The amount the merchant asked for. */
  amount: Money;
  engine: EngineOutcome;
}

export interface InvariantReport {
  payments: number;
  byStatus: Record<string, number>;
  /** No workflow, or a workflow that never reached a terminal status. */
  lost: number;
  /** Engine's final status contradicts the sandbox's order status. */
  statusMismatches: number;
  /** Orders captured more than once. */
  doubleCaptures: number;
  /** Orders both cancelled and captured, or captured after a cancel. */
  capturesAfterCancel: number;
  /** Orders still AUTHORIZED at the end (nothing will ever capture or cancel them), or past their deadline. */
  openAuthorizations: number;
  /** Amounts that are not integer minor units or differ between the engine and the sandbox. */
  amountMismatches: number;
  /** Payments whose net money (captured − refunded) differs between the engine and the sandbox's order. */
  moneyMismatches: number;
  /** More refunded than captured (engine or sandbox), or a refund at Plural the engine does not know (made twice). */
  refundMismatches: number;
  /** Sandbox charge orders no payment under test accounts for (a second order for one payment, say). */
  strayOrders: number;
  /** One line per violation: what happened, to which payment. */
  violations: string[];
}

const TERMINAL: readonly string[] = ['PROCESSED', 'CANCELLED', 'FAILED'];
/** Sandbox order statuses in which money was taken. */
const CAPTURED_ORDER: readonly string[] = ['PROCESSED', 'PARTIALLY_CAPTURED', 'PARTIALLY_REFUNDED', 'FULLY_REFUNDED'];
/** Sandbox order statuses in which no money is held or taken. */
const NO_MONEY_ORDER: readonly string[] = ['CREATED', 'PENDING', 'ATTEMPTED', 'FAILED'];

const isMinorUnits = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Whether the engine's terminal status is consistent with the sandbox's order status. */
function statusMatches(status: PaymentStatus, order: OrderSummary): boolean {
  switch (status) {
    case 'PROCESSED':
      return CAPTURED_ORDER.includes(order.status);
    case 'CANCELLED':
      // Cancelled after authorization (released at Plural), before it (nothing was ever held), or paid after the
      // cancel and refunded in full (the money check below compares the amounts).
      return order.status === 'CANCELLED' || NO_MONEY_ORDER.includes(order.status) || order.status === 'FULLY_REFUNDED';
    case 'FAILED':
      // Declined, abandoned, a late authorization the engine cancelled, or a late payment it refunded.
      return NO_MONEY_ORDER.includes(order.status) || order.status === 'CANCELLED' || order.status === 'FULLY_REFUNDED';
    default:
      return false;
  }
}

/**
 * Checks every invariant. `orders` is the sandbox's full record (`sandbox.orders()`); `now` decides which
 * authorizations are past their deadline.
 */
export function checkInvariants(
  payments: readonly PaymentUnderTest[],
  orders: readonly OrderSummary[],
  now: number,
): InvariantReport {
  const report: InvariantReport = {
    payments: payments.length,
    byStatus: {},
    lost: 0,
    statusMismatches: 0,
    doubleCaptures: 0,
    capturesAfterCancel: 0,
    openAuthorizations: 0,
    amountMismatches: 0,
    moneyMismatches: 0,
    refundMismatches: 0,
    strayOrders: 0,
    violations: [],
  };
  const violation = (kind: keyof InvariantReport, line: string): void => {
    (report[kind] as number) += 1;
    report.violations.push(line);
  };
  const ordersByRef = new Map<string, OrderSummary[]>();
  for (const o of orders) {
    if (o.type !== 'CHARGE') continue;
    const list = ordersByRef.get(o.merchantOrderReference) ?? [];
    list.push(o);
    ordersByRef.set(o.merchantOrderReference, list);
  }
  const refs = new Set(payments.map((p) => p.merchantOrderReference));
  for (const [ref, list] of ordersByRef) {
    if (!refs.has(ref))
      violation('strayOrders', `sandbox order ${list[0]?.orderId ?? ''} (${ref}) belongs to no payment`);
  }

  for (const p of payments) {
    const ref = p.merchantOrderReference;
    const e = p.engine;
    // A closed payment keeps its final status in the label, with a parked operation it still reports after it.
    const parked = e.parked !== undefined ? `PARKED(${e.parked})` : undefined;
    const statusKey = !e.found
      ? 'MISSING'
      : e.closed && e.status !== undefined
        ? [e.status, parked].filter((x) => x !== undefined).join('+')
        : (parked ?? e.status ?? 'UNKNOWN');
    const engineView = `engine: ${statusKey}${e.detail ? ` [${e.detail}]` : ''}`;
    report.byStatus[statusKey] = (report.byStatus[statusKey] ?? 0) + 1;
    const list = ordersByRef.get(ref) ?? [];
    const order = list[0];

    // Sandbox-side invariants hold whatever the engine says.
    for (const o of list) {
      if (o.captureCount > 1)
        violation('doubleCaptures', `${ref}: order ${o.orderId} captured ${o.captureCount} times`);
      const cancelledAt = o.history.findIndex((h) => h.status === 'CANCELLED');
      const capturedAfter =
        cancelledAt >= 0 && o.history.slice(cancelledAt + 1).some((h) => CAPTURED_ORDER.includes(h.status));
      if (capturedAfter || (o.cancelCount > 0 && o.captureCount > 0)) {
        violation('capturesAfterCancel', `${ref}: order ${o.orderId} was captured after a cancel`);
      }
      if (o.status === 'AUTHORIZED') {
        const past = o.authorizationDeadline !== undefined && now > o.authorizationDeadline;
        violation(
          'openAuthorizations',
          `${ref}: order ${o.orderId} is still AUTHORIZED at the end${past ? ', past its authorization deadline' : ''} (engine: ${statusKey})`,
        );
      }
      const resolvedAt = o.capturedAt ?? o.cancelledAt;
      if (
        o.preAuth &&
        o.authorizationDeadline !== undefined &&
        resolvedAt !== undefined &&
        resolvedAt > o.authorizationDeadline
      ) {
        const authorized =
          o.authorizedAt !== undefined ? `, ${resolvedAt - o.authorizedAt} ms after its authorization` : '';
        violation(
          'openAuthorizations',
          `${ref}: order ${o.orderId} was captured or cancelled ${resolvedAt - o.authorizationDeadline} ms after its authorization deadline${authorized} (${engineView})`,
        );
      }
      if (!isMinorUnits(o.amount.value) || !isMinorUnits(o.capturedAmount) || !isMinorUnits(o.authorizedAmount)) {
        violation('amountMismatches', `${ref}: sandbox order ${o.orderId} holds a non-integer amount`);
      }
    }
    if (list.length > 1) {
      violation('strayOrders', `${ref}: ${list.length} sandbox orders for one payment`);
    }

    if (!e.found || !e.closed || e.status === undefined || !TERMINAL.includes(e.status)) {
      violation(
        'lost',
        `${ref}: ${!e.found ? 'no workflow' : `workflow ${e.closed ? 'closed' : 'still open'} in ${statusKey}`}${e.problem ? ` (${e.problem})` : ''}`,
      );
      continue;
    }

    // Amounts: integer minor units, the engine's equal to the request's and to the sandbox's.
    if (
      e.amount === undefined ||
      e.amount.value !== p.amount.value ||
      e.amount.currency !== p.amount.currency ||
      !isMinorUnits(e.amount.value)
    ) {
      violation('amountMismatches', `${ref}: engine amount ${JSON.stringify(e.amount)} differs from the request's`);
    }

    if (!order) {
      // Acceptable only when Plural never saw the payment and nothing was taken.
      if (e.pluralOrderId !== undefined || e.status === 'PROCESSED') {
        violation(
          'statusMismatches',
          `${ref}: engine ${e.status} with order ${e.pluralOrderId ?? '-'}, sandbox has no order`,
        );
      }
      continue;
    }
    if (e.pluralOrderId !== undefined && e.pluralOrderId !== order.orderId) {
      violation('statusMismatches', `${ref}: engine order ${e.pluralOrderId}, sandbox order ${order.orderId}`);
    }
    if (!statusMatches(e.status, order)) {
      violation(
        'statusMismatches',
        `${ref}: engine ${e.status}, sandbox order ${order.orderId} ${order.status}${e.detail ? ` [${e.detail}]` : ''}`,
      );
    }
    if (order.amount.value !== p.amount.value || order.amount.currency !== p.amount.currency) {
      violation(
        'amountMismatches',
        `${ref}: sandbox order amount ${order.amount.value} differs from ${p.amount.value}`,
      );
    }
    // Money agrees with Plural: what the engine says was taken and not returned is what Plural's order kept.
    const engineNet = (e.amountCaptured?.value ?? 0) - (e.amountRefunded?.value ?? 0);
    const pluralNet = order.capturedAmount - order.refundedAmount;
    if (engineNet !== pluralNet) {
      violation(
        'moneyMismatches',
        `${ref}: engine net ${engineNet} (captured ${e.amountCaptured?.value ?? 0} − refunded ${e.amountRefunded?.value ?? 0}), sandbox order ${order.orderId} net ${pluralNet} (${order.status})${e.detail ? ` [${e.detail}]` : ''}`,
      );
    }
    // Never more refunded than captured, and every refund at Plural is one the engine made once.
    const refundedOrPending = order.refundedAmount + (order.refundPendingAmount ?? 0);
    if (refundedOrPending > order.capturedAmount || (e.amountRefunded?.value ?? 0) > (e.amountCaptured?.value ?? 0)) {
      violation(
        'refundMismatches',
        `${ref}: refunded more than captured: engine ${e.amountRefunded?.value ?? 0} of ${e.amountCaptured?.value ?? 0}, sandbox ${refundedOrPending} of ${order.capturedAmount}`,
      );
    }
    if (e.refundOrderIds !== undefined) {
      const known = new Set(e.refundOrderIds);
      for (const id of order.refundIds ?? []) {
        if (!known.has(id)) {
          violation(
            'refundMismatches',
            `${ref}: sandbox refund ${id} of order ${order.orderId} is not one of the engine's refunds (refunded twice?)`,
          );
        }
      }
    }
    if (e.status === 'PROCESSED') {
      const captured = e.amountCaptured;
      if (
        captured === undefined ||
        !isMinorUnits(captured.value) ||
        captured.value !== order.capturedAmount ||
        captured.currency !== order.amount.currency
      ) {
        violation(
          'amountMismatches',
          `${ref}: engine captured ${JSON.stringify(captured)}, sandbox captured ${order.capturedAmount}`,
        );
      }
    }
  }
  return report;
}

/** The counts as one `key=value` line, for the lead to quote. */
export function summaryLine(report: InvariantReport, extra: Record<string, number | string> = {}): string {
  const statuses = Object.entries(report.byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}:${v}`)
    .join(',');
  const fields: Record<string, number | string> = {
    payments: report.payments,
    statuses,
    lost: report.lost,
    double_captures: report.doubleCaptures,
    captures_after_cancel: report.capturesAfterCancel,
    open_authorizations: report.openAuthorizations,
    status_mismatches: report.statusMismatches,
    amount_mismatches: report.amountMismatches,
    money_mismatches: report.moneyMismatches,
    refund_mismatches: report.refundMismatches,
    stray_orders: report.strayOrders,
    ...extra,
  };
  return `RESILIENCE ${Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`;
}
