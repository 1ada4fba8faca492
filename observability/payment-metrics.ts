/**
 * Worker side of the payment workflow's business counters: the `paymentMetrics` sink the workflow records through
 * (`workflows/metrics.ts`), turned into counters on the Temporal runtime's metric meter, so they appear on the
 * worker's Prometheus endpoint next to Temporal's own metrics.
 *
 * Each event carries its ordinal among the run's events of that name; an ordinal already counted for the run is a
 * workflow task being retried (the server rejected the attempt that completed the payment because a signal arrived
 * meanwhile, or the task failed), and is not counted again. Runs are remembered in a bounded most-recently-used map:
 * retries follow within seconds, so forgetting idle runs loses nothing.
 */
import type { MetricCounter, MetricMeter } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { InjectedSinks } from '@temporalio/worker';
import { MERCHANT_ID_PATTERN } from '../workflows/definitions';
import {
  isPaymentMetricName,
  PAYMENT_METRIC_DESCRIPTIONS,
  PAYMENT_METRIC_LABELS,
  PAYMENT_METRIC_MERCHANT_LABEL,
} from '../workflows/metrics';
import type { PaymentMetricName, PaymentMetricsSinks } from '../workflows/metrics';

/** Options of {@link createPaymentMetricsSinks}. */
export interface PaymentMetricsSinkOptions {
  /** Where counters are created. @default the installed runtime's `Runtime.instance().metricMeter` */
  meter?: MetricMeter;
  /** Workflow runs remembered to drop the events a retried workflow task repeats. @default 10000 */
  maxRuns?: number;
}

/** A label value the sink accepts: a short enumeration-like token (never free text, never an id). */
const LABEL_VALUE = /^[A-Za-z_]{1,40}$/;

/** Builds the worker's `sinks` entry for the payment workflow's counters (pass it to `Worker.create`). */
export function createPaymentMetricsSinks(options: PaymentMetricsSinkOptions = {}): InjectedSinks<PaymentMetricsSinks> {
  const maxRuns = options.maxRuns ?? 10_000;
  let meter = options.meter;
  const counters = new Map<PaymentMetricName, MetricCounter>();
  /** runId → counter name → highest ordinal counted, most recently used last. */
  const runs = new Map<string, Map<PaymentMetricName, number>>();

  const counter = (name: PaymentMetricName): MetricCounter => {
    let c = counters.get(name);
    if (c === undefined) {
      meter ??= Runtime.instance().metricMeter;
      c = meter.createCounter(name, undefined, PAYMENT_METRIC_DESCRIPTIONS[name]);
      counters.set(name, c);
    }
    return c;
  };

  const seenFor = (runId: string): Map<PaymentMetricName, number> => {
    let seen = runs.get(runId);
    if (seen === undefined) seen = new Map();
    else runs.delete(runId);
    runs.set(runId, seen);
    if (runs.size > maxRuns) {
      const oldest = runs.keys().next();
      if (!oldest.done) runs.delete(oldest.value);
    }
    return seen;
  };

  return {
    paymentMetrics: {
      count: {
        fn(info, name, labels, ordinal) {
          if (!isPaymentMetricName(name) || !Number.isSafeInteger(ordinal) || ordinal < 1) return;
          const seen = seenFor(info.runId);
          if (ordinal <= (seen.get(name) ?? 0)) return;
          seen.set(name, ordinal);
          // Only the counter's documented labels, with token-like values: the endpoint's cardinality stays bounded.
          const tags: Record<string, string> = {
            namespace: info.namespace,
            taskQueue: info.taskQueue,
            workflowType: info.workflowType,
          };
          for (const label of PAYMENT_METRIC_LABELS[name]) {
            const value = labels[label];
            tags[label] = typeof value === 'string' && LABEL_VALUE.test(value) ? value : 'other';
          }
          // The merchant: a configured slug (as many values as merchants), else `other`.
          const merchant = labels[PAYMENT_METRIC_MERCHANT_LABEL];
          tags[PAYMENT_METRIC_MERCHANT_LABEL] =
            typeof merchant === 'string' && MERCHANT_ID_PATTERN.test(merchant) ? merchant : 'other';
          counter(name).add(1, tags);
        },
        callDuringReplay: false,
      },
    },
  };
}
