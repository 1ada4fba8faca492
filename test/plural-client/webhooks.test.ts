import { describe, expect, it } from 'vitest';
import { ORDER_STATUS, parseWebhookBody, WEBHOOK_EVENT } from '../../plural-client';
import { order, payment } from './fixtures';

describe('parseWebhookBody', () => {
  it('parses an order event into a typed order', () => {
    const body = JSON.stringify({
      event_type: 'PAYMENT_FAILED',
      data: order({
        status: 'ATTEMPTED',
        payments: [payment({ status: 'FAILED', error_detail: { code: 'USER_AUTHENTICATION_FAILED', message: 'x' } })],
      }),
    });
    const parsed = parseWebhookBody(Buffer.from(body));
    expect(parsed.ok && parsed.kind === 'order' ? parsed.eventType : undefined).toBe(WEBHOOK_EVENT.PAYMENT_FAILED);
    if (!parsed.ok || parsed.kind !== 'order') throw new Error('expected an order event');
    expect(parsed.order.status).toBe(ORDER_STATUS.ATTEMPTED);
    expect(parsed.order.payments[0]!.error_detail?.code).toBe('USER_AUTHENTICATION_FAILED');
  });

  it('passes other event types through untyped', () => {
    const parsed = parseWebhookBody(JSON.stringify({ event_type: 'CUSTOMER_CREATED', data: { customer_id: 'c1' } }));
    expect(parsed).toEqual({ ok: true, kind: 'other', eventType: 'CUSTOMER_CREATED', data: { customer_id: 'c1' } });
  });

  it('rejects non-JSON and bodies without event_type', () => {
    expect(parseWebhookBody('not json')).toEqual({ ok: false, message: 'webhook body is not JSON' });
    expect(parseWebhookBody('{"data":{}}')).toEqual({ ok: false, message: 'webhook body has no event_type' });
  });

  it('rejects an order event whose order breaks the schema, naming the field but not the value', () => {
    const parsed = parseWebhookBody(
      JSON.stringify({ event_type: 'ORDER_PROCESSED', data: order({ status: 'WEIRD' }) }),
    );
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.message).toContain('data.status');
    expect(parsed.message).not.toContain('WEIRD');
  });
});
