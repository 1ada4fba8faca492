/**
 * The Temporal list filter (visibility query) of a payment search. It is built from typed values only — statuses of
 * `PAYMENT_STATUS`, instants written as ISO 8601 UTC, and a reference prefix of `REFERENCE_PATTERN`'s characters —
 * so nothing a client sends can change the query's shape.
 */
import {
  DEFAULT_MERCHANT_ID,
  MERCHANT_ID_PATTERN,
  PAYMENT_STATUS,
  PAYMENT_WORKFLOW_TYPE,
  SEARCH_ATTRIBUTE,
} from '../workflows/definitions';
import type { PaymentListFilters } from './engine';
import { REFERENCE_PATTERN } from './schemas';

const STATUSES: ReadonlySet<string> = new Set(Object.values(PAYMENT_STATUS));

/** Options of {@link paymentListQuery}. */
export interface PaymentListQueryOptions {
  /**
   * Append `ORDER BY StartTime DESC`. Only Elasticsearch visibility takes it; SQL stores (the dev server's SQLite,
   * MySQL, PostgreSQL) and Temporal Cloud refuse it and return their fixed order instead.
   */
  orderByStartTime: boolean;
  /** The merchant whose payments alone are listed. @default DEFAULT_MERCHANT_ID */
  merchantId?: string;
}

/**
 * The filter of one merchant's payments. The default merchant's also matches payments started before the `MerchantId`
 * attribute existed (they have none, and were all the single merchant's).
 * @throws {TypeError} for an id that is not a merchant id (never quoted into the query)
 */
export function merchantClause(merchantId: string): string {
  if (!MERCHANT_ID_PATTERN.test(merchantId)) throw new TypeError('not a merchant id in a list filter');
  const name = SEARCH_ATTRIBUTE.MERCHANT_ID.name;
  return merchantId === DEFAULT_MERCHANT_ID
    ? `(${name} = '${merchantId}' OR ${name} IS NULL)`
    : `${name} = '${merchantId}'`;
}

function instant(d: Date, what: string): string {
  if (!Number.isFinite(d.getTime())) throw new TypeError(`${what} is not a valid date`);
  return d.toISOString();
}

/**
 * A bound on the payment's creation time: `PaymentCreatedAt`, which a continue-as-new carries on, or where the
 * payment has not stated it yet (before its first change, or none since the attribute existed) the run's
 * `StartTime`, the same instant for a payment's first run.
 */
function createdClause(op: '>=' | '<', at: string): string {
  const name = SEARCH_ATTRIBUTE.CREATED_AT.name;
  return `(${name} ${op} '${at}' OR (${name} IS NULL AND StartTime ${op} '${at}'))`;
}

/**
 * The list filter of `filters`: payment workflows, started (created) in `[createdFrom, createdTo)`, in one of the
 * statuses, whose reference starts with the prefix.
 * @throws {TypeError} a status, date or prefix the API should have refused (never quoted into the query)
 */
export function paymentListQuery(filters: PaymentListFilters, options: PaymentListQueryOptions): string {
  const terms = [
    `WorkflowType = '${PAYMENT_WORKFLOW_TYPE}'`,
    merchantClause(options.merchantId ?? DEFAULT_MERCHANT_ID),
    // A payment that continued as new (a long refund window) leaves its closed run in visibility, with the memo and
    // search attributes as they were then: listed beside the running one, it would show the payment twice, stale.
    `ExecutionStatus != 'ContinuedAsNew'`,
  ];
  const statuses = filters.statuses ?? [];
  for (const s of statuses) if (!STATUSES.has(s)) throw new TypeError('unknown payment status in a list filter');
  const status = SEARCH_ATTRIBUTE.PAYMENT_STATUS.name;
  if (statuses.length === 1) terms.push(`${status} = '${statuses[0]}'`);
  else if (statuses.length > 1) terms.push(`${status} IN (${statuses.map((s) => `'${s}'`).join(', ')})`);
  if (filters.createdFrom) terms.push(createdClause('>=', instant(filters.createdFrom, 'createdFrom')));
  if (filters.createdTo) terms.push(createdClause('<', instant(filters.createdTo, 'createdTo')));
  if (filters.referencePrefix !== undefined) {
    if (!REFERENCE_PATTERN.test(filters.referencePrefix))
      throw new TypeError('reference prefix has characters a reference cannot');
    // Keyword attributes take no LIKE; STARTS_WITH is the prefix match (the server escapes `_` for SQL stores).
    terms.push(`${SEARCH_ATTRIBUTE.MERCHANT_ORDER_REFERENCE.name} STARTS_WITH '${filters.referencePrefix}'`);
  }
  return `${terms.join(' AND ')}${options.orderByStartTime ? ' ORDER BY StartTime DESC' : ''}`;
}
