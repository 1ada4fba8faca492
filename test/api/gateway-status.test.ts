/**
 * The payment's `gateway` status comes from its pending activities: only a step retried for a gateway failure counts,
 * the last error is its HTTP status and code read from the failure's details (encrypted like every payload), never
 * its message.
 */
import { randomBytes } from 'node:crypto';
import { ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import { encodeErrorToFailure } from '@temporalio/common/lib/internal-non-workflow/codec-helpers';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow/data-converter-helpers';
import { msNumberToTs } from '@temporalio/common/lib/time';
import Ajv2020 from 'ajv/dist/2020';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { gatewayRetryStatus } from '../../api/gateway-status';
import type { PendingActivity } from '../../api/gateway-status';
import { buildOpenApiDocument } from '../../api/openapi';
import { createDataConverter } from '../../payload-codec';
import { CARDS } from '../support/cards';
import { auth, cardPayment, makeApi } from './helpers';

const converter = loadDataConverter(createDataConverter({ mode: 'on', keys: [{ id: 'gs-1', key: randomBytes(32) }] }));
const PAN = CARDS.nativeOtp;

async function pending(error: Error, extra: Partial<PendingActivity> = {}): Promise<PendingActivity> {
  return {
    activityType: { name: 'createOrder' },
    attempt: 3,
    maximumAttempts: 8,
    lastFailure: await encodeErrorToFailure(converter, error),
    ...extra,
  };
}

const gatewayDown = (details: unknown[]) =>
  ApplicationFailure.create({
    message: `HTTP 503 from Plural for creation of order with card ${PAN}`,
    type: 'GatewayUnavailable',
    nonRetryable: false,
    details,
  });

describe('gatewayRetryStatus', () => {
  it('reports a step retried for a gateway failure: operation, attempt, budget, next attempt and HTTP status', async () => {
    const next = Date.parse('2026-12-04T21:00:05.000Z');
    const status = await gatewayRetryStatus(
      [
        await pending(gatewayDown([{ code: 'INTERNAL_ERROR', httpStatus: 503, errorType: 'PluralApiError' }]), {
          nextAttemptScheduleTime: msNumberToTs(next),
        }),
      ],
      converter,
    );
    expect(status).toEqual({
      status: 'unavailable',
      reason: 'gateway_unavailable',
      operation: 'createOrder',
      attempt: 3,
      maxAttempts: 8,
      lastError: 'HTTP 503 INTERNAL_ERROR',
      retrying: true,
      nextAttemptAt: '2026-12-04T21:00:05.000Z',
    });
  });

  it('names a connection failure by its error type and network code, and never repeats the message', async () => {
    const status = await gatewayRetryStatus(
      [await pending(gatewayDown([{ code: 'ECONNREFUSED', errorType: 'PluralConnectionError' }]))],
      converter,
    );
    expect(status?.lastError).toBe('PluralConnectionError ECONNREFUSED');
    expect(JSON.stringify(status)).not.toContain(PAN);
  });

  it('drops a code or type that is not a plain word (it could be anything Plural sent)', async () => {
    const status = await gatewayRetryStatus(
      [await pending(gatewayDown([{ code: `bad ${PAN}`, httpStatus: 502, errorType: 'x y' }]))],
      converter,
    );
    expect(status?.lastError).toBe('HTTP 502');
  });

  it('reports an activity timeout as gateway_timeout', async () => {
    const status = await gatewayRetryStatus(
      [await pending(new TimeoutFailure('activity timed out', undefined, 'START_TO_CLOSE'))],
      converter,
    );
    expect(status).toMatchObject({ reason: 'gateway_timeout', operation: 'createOrder' });
  });

  it('ignores steps that fail for another reason, and steps that have not failed', async () => {
    const other = await pending(ApplicationFailure.create({ message: 'bug', type: 'TypeError' }));
    const fresh: PendingActivity = { activityType: { name: 'captureOrder' }, attempt: 1 };
    expect(await gatewayRetryStatus([other, fresh], converter)).toBeUndefined();
    expect(await gatewayRetryStatus(undefined, converter)).toBeUndefined();
  });

  it('still says gateway_unavailable when the failure cannot be decrypted here (its type is in clear)', async () => {
    const other = loadDataConverter(createDataConverter({ mode: 'on', keys: [{ id: 'gs-2', key: randomBytes(32) }] }));
    const status = await gatewayRetryStatus([await pending(gatewayDown([{ code: 'X', httpStatus: 500 }]))], other);
    expect(status).toMatchObject({ reason: 'gateway_unavailable', lastError: undefined, attempt: 3 });
  });
});

describe('the payment resource’s gateway field', () => {
  it('is null while nothing is retried, and says so in snake_case while a step is, as documented', async () => {
    const api = makeApi();
    const created = await request(api.app).post('/v1/payments').set(auth).send(cardPayment('gw-1'));
    expect(created.body.gateway).toBeNull();
    api.engine.gatewayStatus.set('gw-1', {
      status: 'unavailable',
      reason: 'gateway_unavailable',
      operation: 'captureOrder',
      attempt: 4,
      maxAttempts: 8,
      lastError: 'HTTP 503 INTERNAL_ERROR',
      retrying: true,
      nextAttemptAt: undefined,
    });
    const res = await request(api.app).get('/v1/payments/gw-1').set(auth);
    expect(res.body.gateway).toEqual({
      status: 'unavailable',
      reason: 'gateway_unavailable',
      operation: 'captureOrder',
      attempt: 4,
      max_attempts: 8,
      last_error: 'HTTP 503 INTERNAL_ERROR',
      retrying: true,
      next_attempt_at: null,
    });
    const doc = buildOpenApiDocument({ serverUrl: 'x' });
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const validate = ajv.compile({ $ref: 'doc#/components/schemas/Payment' });
    expect(validate(res.body), JSON.stringify(validate.errors)).toBe(true);
  });
});
