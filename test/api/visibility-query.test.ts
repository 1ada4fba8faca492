/**
 * The payment search's visibility query: built from typed filters only, so no request text changes its shape. (The
 * queries themselves run against the real dev server in `payment-search.test.ts`.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REFERENCE_PATTERN } from '../../api/schemas';
import { paymentListQuery } from '../../api/visibility-query';
import { PAYMENT_STATUS } from '../../workflows/definitions';
import type { PaymentStatus } from '../../workflows/definitions';

const unordered = { orderByStartTime: false };
/** The default merchant's payments, those started before MerchantId existed included. */
const DEFAULT_MERCHANT = "(MerchantId = 'default' OR MerchantId IS NULL)";
/** The default merchant's payments, without the closed runs of those that continued as new. */
const BASE = `${DEFAULT_MERCHANT} AND ExecutionStatus != 'ContinuedAsNew'`;

describe('paymentListQuery', () => {
  it('lists payment workflows only, and asks for newest first only when told the store takes ORDER BY', () => {
    expect(paymentListQuery({}, unordered)).toBe(`WorkflowType = 'paymentWorkflow' AND ${BASE}`);
    expect(paymentListQuery({}, { orderByStartTime: true })).toBe(
      `WorkflowType = 'paymentWorkflow' AND ${BASE} ORDER BY StartTime DESC`,
    );
  });

  it("lists one merchant's payments only", () => {
    expect(paymentListQuery({}, { ...unordered, merchantId: 'acme' })).toBe(
      "WorkflowType = 'paymentWorkflow' AND MerchantId = 'acme' AND ExecutionStatus != 'ContinuedAsNew'",
    );
    expect(() => paymentListQuery({}, { ...unordered, merchantId: "acme' OR '1' = '1" })).toThrow(TypeError);
  });

  it('joins every filter with AND: status, a half-open creation-time range in UTC, and a reference prefix', () => {
    const query = paymentListQuery(
      {
        statuses: ['AUTHORIZED'],
        createdFrom: new Date('2026-01-31T00:00:00+05:30'),
        createdTo: new Date('2026-02-01T00:00:00.250Z'),
        referencePrefix: 'order-1',
      },
      unordered,
    );
    expect(query).toBe(
      `WorkflowType = 'paymentWorkflow' AND ${BASE} AND PaymentStatus = 'AUTHORIZED' AND ` +
        // The creation time a payment states (carried over continue-as-new), else its run's start.
        "(PaymentCreatedAt >= '2026-01-30T18:30:00.000Z' OR " +
        "(PaymentCreatedAt IS NULL AND StartTime >= '2026-01-30T18:30:00.000Z')) AND " +
        "(PaymentCreatedAt < '2026-02-01T00:00:00.250Z' OR " +
        "(PaymentCreatedAt IS NULL AND StartTime < '2026-02-01T00:00:00.250Z')) AND " +
        "MerchantOrderReference STARTS_WITH 'order-1'",
    );
  });

  it('asks for several statuses with IN', () => {
    expect(paymentListQuery({ statuses: ['PROCESSED', 'CANCELLED', 'FAILED'] }, unordered)).toBe(
      `WorkflowType = 'paymentWorkflow' AND ${BASE} AND PaymentStatus IN ('PROCESSED', 'CANCELLED', 'FAILED')`,
    );
  });

  it('keeps every accepted prefix one quoted literal', () => {
    fc.assert(
      fc.property(fc.stringMatching(REFERENCE_PATTERN), (prefix) => {
        const query = paymentListQuery({ referencePrefix: prefix }, unordered);
        expect(query.endsWith(` STARTS_WITH '${prefix}'`)).toBe(true);
        // Three quoted literals before the prefix (type, merchant, execution status), then the prefix's.
        expect(query.split("'")).toHaveLength(9);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a prefix a reference cannot have (quotes, wildcards, spaces) rather than quote it into the query', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.constantFrom("x' OR WorkflowType != '", 'a%', 'a b', '', 'x'.repeat(51)),
        ),
        (prefix) => {
          fc.pre(!REFERENCE_PATTERN.test(prefix));
          expect(() => paymentListQuery({ referencePrefix: prefix }, unordered)).toThrow(TypeError);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('takes every payment status, and refuses anything else and an invalid date', () => {
    for (const status of Object.values(PAYMENT_STATUS)) {
      expect(paymentListQuery({ statuses: [status] }, unordered)).toContain(`PaymentStatus = '${status}'`);
    }
    const injected = "AUTHORIZED' OR '1' = '1" as PaymentStatus;
    expect(() => paymentListQuery({ statuses: [injected] }, unordered)).toThrow(TypeError);
    expect(() => paymentListQuery({ createdFrom: new Date(NaN) }, unordered)).toThrow(TypeError);
  });
});
