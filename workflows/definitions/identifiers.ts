/**
 * The payment workflow's names: its task queue, its workflow type, and the workflow id a merchant's order reference
 * becomes (and back).
 */

/** Task queue the payment worker polls. */
export const PAYMENT_TASK_QUEUE = 'payments';

/** Workflow type name (the exported workflow function's name). */
export const PAYMENT_WORKFLOW_TYPE = 'paymentWorkflow';

/**
 * The merchant account of the single-merchant configuration (`API_KEYS`, `PLURAL_*`), and of a payment whose input
 * names none. Its payments keep the workflow ids they had before merchants existed (`payment:<ref>`).
 */
export const DEFAULT_MERCHANT_ID = 'default';

/**
 * A merchant id: a lowercase slug, so it needs no escaping in a workflow id, a URL path or a visibility query, and
 * cannot contain the `:` that separates it from the reference.
 */
export const MERCHANT_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/**
 * One workflow per order and merchant: its id is derived from the merchant and the merchant order reference, so a
 * second start is rejected and two merchants may use the same reference. `payment:<merchantId>:<ref>`; the default
 * merchant's payments keep `payment:<ref>` (references have no `:`, so the two forms never collide).
 */
export function paymentWorkflowId(merchantOrderReference: string, merchantId: string = DEFAULT_MERCHANT_ID): string {
  return merchantId === DEFAULT_MERCHANT_ID
    ? `payment:${merchantOrderReference}`
    : `payment:${merchantId}:${merchantOrderReference}`;
}

/** The merchant and reference in a payment workflow id; undefined for an id {@link paymentWorkflowId} never makes. */
export function parsePaymentWorkflowId(
  workflowId: string,
): { merchantId: string; merchantOrderReference: string } | undefined {
  const m = /^payment:(?:([a-z0-9-]{1,32}):)?([A-Za-z0-9_-]{1,50})$/.exec(workflowId);
  if (!m?.[2]) return undefined;
  const merchantId = m[1] ?? DEFAULT_MERCHANT_ID;
  if (!MERCHANT_ID_PATTERN.test(merchantId)) return undefined;
  return { merchantId, merchantOrderReference: m[2] };
}
