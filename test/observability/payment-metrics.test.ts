/**
 * The worker-side sink of the payment workflow's counters: an event counts once per run and ordinal (a retried
 * workflow task repeats the ordinals of the attempt it replaces), only documented labels with token-like values
 * reach the meter, and the memory of runs stays bounded.
 */
import type { MetricCounter, MetricMeter, MetricTags } from '@temporalio/common';
import type { WorkflowInfo } from '@temporalio/workflow';
import { describe, expect, it } from 'vitest';
import { createPaymentMetricsSinks } from '../../observability/payment-metrics';
import { PAYMENT_METRIC } from '../../workflows/metrics';

interface Added {
  name: string;
  tags: MetricTags;
}

/** A meter that records every `add`. */
function fakeMeter(): { meter: MetricMeter; added: Added[] } {
  const added: Added[] = [];
  const meter = {
    createCounter: (name: string) =>
      ({ add: (_value: number, tags: MetricTags = {}) => void added.push({ name, tags }) }) as unknown as MetricCounter,
  } as unknown as MetricMeter;
  return { meter, added };
}

const info = (runId: string) =>
  ({ runId, namespace: 'default', taskQueue: 'payments', workflowType: 'paymentWorkflow' }) as WorkflowInfo;

function sinkOf(options: Parameters<typeof createPaymentMetricsSinks>[0]) {
  const sink = createPaymentMetricsSinks(options).paymentMetrics.count;
  // The sink is synchronous; `void` drops the `void | Promise<void>` of its declared type.
  return (runId: string, name: string, labels: Record<string, string>, ordinal: number): void =>
    void sink.fn(info(runId), name as never, labels, ordinal);
}

describe('createPaymentMetricsSinks', () => {
  it('counts an ordinal once per run, so a retried workflow task does not count again', () => {
    const { meter, added } = fakeMeter();
    const count = sinkOf({ meter });
    count('run-1', PAYMENT_METRIC.COMPLETED, { status: 'PROCESSED', method: 'card' }, 1);
    // The retried attempt reaches the same terminal status through the webhook instead: same ordinal.
    count('run-1', PAYMENT_METRIC.COMPLETED, { status: 'PROCESSED', method: 'card' }, 1);
    count('run-1', PAYMENT_METRIC.OTP_SUBMISSIONS, { result: 'incorrect' }, 1);
    count('run-1', PAYMENT_METRIC.OTP_SUBMISSIONS, { result: 'accepted' }, 2);
    count('run-1', PAYMENT_METRIC.OTP_SUBMISSIONS, { result: 'incorrect' }, 1);
    count('run-2', PAYMENT_METRIC.COMPLETED, { status: 'FAILED', method: 'card' }, 1);
    expect(added.map((a) => [a.name, a.tags.status ?? a.tags.result])).toEqual([
      [PAYMENT_METRIC.COMPLETED, 'PROCESSED'],
      [PAYMENT_METRIC.OTP_SUBMISSIONS, 'incorrect'],
      [PAYMENT_METRIC.OTP_SUBMISSIONS, 'accepted'],
      [PAYMENT_METRIC.COMPLETED, 'FAILED'],
    ]);
  });

  it('tags with the SDK labels and the documented labels only, and replaces a value that is not a token', () => {
    const { meter, added } = fakeMeter();
    const count = sinkOf({ meter });
    count('run-1', PAYMENT_METRIC.CAPTURES, { kind: 'partial', outcome: 'order v1-123 / 5000', ref: 'order-1001' }, 1);
    expect(added).toEqual([
      {
        name: PAYMENT_METRIC.CAPTURES,
        tags: {
          namespace: 'default',
          taskQueue: 'payments',
          workflowType: 'paymentWorkflow',
          kind: 'partial',
          outcome: 'other',
          merchant: 'other',
        },
      },
    ]);
  });

  it("tags every counter with the payment's merchant, a configured slug, or 'other'", () => {
    const { meter, added } = fakeMeter();
    const count = sinkOf({ meter });
    count('run-1', PAYMENT_METRIC.STARTED, { method: 'card', merchant: 'acme' }, 1);
    count('run-2', PAYMENT_METRIC.STARTED, { method: 'card', merchant: 'default' }, 1);
    // Not a merchant slug (upper case, an order reference, too long): never a new series.
    count('run-3', PAYMENT_METRIC.STARTED, { method: 'card', merchant: 'ACME' }, 1);
    count('run-4', PAYMENT_METRIC.STARTED, { method: 'card', merchant: 'order 1001 for 5000 INR' }, 1);
    count('run-5', PAYMENT_METRIC.STARTED, { method: 'card', merchant: 'a'.repeat(33) }, 1);
    expect(added.map((a) => a.tags.merchant)).toEqual(['acme', 'default', 'other', 'other', 'other']);
  });

  it('ignores unknown counter names and invalid ordinals', () => {
    const { meter, added } = fakeMeter();
    const count = sinkOf({ meter });
    count('run-1', 'payment_card_numbers_total', {}, 1);
    count('run-1', PAYMENT_METRIC.STARTED, { method: 'card' }, 0);
    count('run-1', PAYMENT_METRIC.STARTED, { method: 'card' }, 1.5);
    expect(added).toEqual([]);
  });

  it('forgets the least recently used runs beyond maxRuns', () => {
    const { meter, added } = fakeMeter();
    const count = sinkOf({ meter, maxRuns: 2 });
    count('run-1', PAYMENT_METRIC.STARTED, { method: 'card' }, 1);
    count('run-2', PAYMENT_METRIC.STARTED, { method: 'card' }, 1);
    count('run-1', PAYMENT_METRIC.STARTED, { method: 'card' }, 1); // run-1 used again: run-2 is now the oldest
    count('run-3', PAYMENT_METRIC.STARTED, { method: 'card' }, 1); // evicts run-2
    count('run-1', PAYMENT_METRIC.STARTED, { method: 'card' }, 1); // still remembered
    count('run-2', PAYMENT_METRIC.STARTED, { method: 'card' }, 1); // forgotten: counted again
    expect(added).toHaveLength(4);
  });
});
