import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../../embedded-temporal/errors';
import { History } from '../../../embedded-temporal/history';
import { parseQuery } from '../../../embedded-temporal/visibility';
import { WorkflowRun } from '../../../embedded-temporal/workflow-run';
import type { RunConfig } from '../../../embedded-temporal/workflow-run';

function run(
  id: string,
  type: string,
  status: number,
  attrs: Record<string, unknown> = {},
  startTime = 1000,
): WorkflowRun {
  const config: RunConfig = {
    namespace: 'default',
    workflowId: id,
    runId: `run-${id}`,
    firstRunId: `run-${id}`,
    workflowType: type,
    taskQueue: 'q',
    workflowTaskTimeoutMs: 10_000,
    runTimeoutMs: 0,
    executionTimeoutMs: 0,
    executionExpirationTime: 0,
    retryPolicy: undefined,
    retryPolicyProto: undefined,
    attempt: 1,
    startRequestId: 'r',
    startTime,
    executionTime: startTime,
  };
  const r = new WorkflowRun(config, new History(), status);
  for (const [k, v] of Object.entries(attrs)) {
    r.searchAttributes.set(k, { metadata: { type: Buffer.from('Keyword') }, data: Buffer.from(JSON.stringify(v)) });
  }
  return r;
}

const runs = [
  run('a', 'payment', 1, { PaymentStatus: 'AUTHORIZED', MerchantOrderReference: 'ord-1' }),
  run('b', 'payment', 2, { PaymentStatus: 'CAPTURED' }, 2000),
  run('c', 'refund', 1, { PluralOrderId: ['po-1', 'po-2'] }, 3000),
];
const ids = (query: string): string[] => runs.filter(parseQuery(query).filter).map((r) => r.workflowId);

describe('visibility query subset', () => {
  it('combines WorkflowType and ExecutionStatus with AND', () => {
    expect(ids("WorkflowType = 'payment' AND ExecutionStatus = 'Running'")).toEqual(['a']);
  });

  it('matches custom keyword attributes without registration, with = and IN', () => {
    expect(ids("PaymentStatus = 'CAPTURED'")).toEqual(['b']);
    expect(ids("PaymentStatus IN ('AUTHORIZED', 'CAPTURED')")).toEqual(['a', 'b']);
    expect(ids('`MerchantOrderReference` = "ord-1"')).toEqual(['a']);
  });

  it('matches a keyword list when any element equals the value', () => {
    expect(ids("PluralOrderId = 'po-2'")).toEqual(['c']);
  });

  it('supports OR, NOT, parentheses, STARTS_WITH, IS NULL and time comparisons', () => {
    expect(
      ids("(WorkflowType = 'refund' OR PaymentStatus = 'CAPTURED') AND NOT ExecutionStatus = 'Completed'"),
    ).toEqual(['c']);
    expect(ids("WorkflowId STARTS_WITH 'b'")).toEqual(['b']);
    expect(ids('PaymentStatus IS NULL')).toEqual(['c']);
    expect(ids("StartTime > '1970-01-01T00:00:01.500Z'")).toEqual(['b', 'c']);
  });

  it('rejects malformed queries with INVALID_ARGUMENT', () => {
    expect(() => parseQuery("WorkflowType = 'x")).toThrow(ServiceError);
    expect(() => parseQuery('WorkflowType LIKE 1')).toThrow(/invalid query/);
  });
});
