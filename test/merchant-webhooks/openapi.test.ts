/** The OpenAPI document's `webhooks` section describes what the engine really sends. */
import Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../api/openapi';
import { merchantEventBody } from '../../merchant-webhooks';
import { MERCHANT_EVENT_TYPE } from '../../workflows/definitions';
import type { MerchantEvent } from '../../workflows/definitions';

const doc = buildOpenApiDocument({ serverUrl: 'x' });
const ajv = new Ajv2020({ strict: false, validateFormats: false });
ajv.addSchema({ $id: 'doc', components: doc.components });
const validate = ajv.compile({ $ref: 'doc#/components/schemas/MerchantWebhookEvent' });

const payment: MerchantEvent['payment'] = {
  merchantOrderReference: 'ord-1',
  method: 'card',
  preAuth: true,
  status: 'FAILED',
  pluralOrderId: undefined,
  amount: { value: 5000, currency: 'INR' },
  amountCaptured: undefined,
  amountRefunded: undefined,
  failure: { code: 'PAYMENT_DECLINED', message: 'declined' },
  createdAt: '2026-12-05T09:00:00.000Z',
  updatedAt: '2026-12-05T10:00:00.000Z',
};

describe('OpenAPI webhooks', () => {
  it('documents one webhook per event type, with the three Standard Webhooks headers', () => {
    expect(Object.keys(doc.webhooks).sort()).toEqual(Object.values(MERCHANT_EVENT_TYPE).sort());
    for (const webhook of Object.values(doc.webhooks)) {
      expect(webhook.post.parameters.map((p) => p.name)).toEqual([
        'webhook-id',
        'webhook-timestamp',
        'webhook-signature',
      ]);
    }
  });

  it('describes the body of a payment event and of a refund event as sent', () => {
    const failed = merchantEventBody('default', 'payment:ord-1', {
      sequence: 1,
      type: 'payment.failed',
      at: '2026-12-05T10:00:00.000Z',
      payment,
    });
    expect(validate(JSON.parse(JSON.stringify(failed))), JSON.stringify(validate.errors)).toBe(true);
    const refunded = merchantEventBody('default', 'payment:ord-1', {
      sequence: 5,
      type: 'refund.failed',
      at: '2026-12-05T10:00:00.000Z',
      payment: { ...payment, status: 'PROCESSED', failure: undefined, amountCaptured: payment.amount },
      refund: {
        reason: 'MERCHANT',
        amount: { value: 100, currency: 'INR' },
        merchantRefundReference: 'r-1',
        reference: undefined,
        refundOrderId: undefined,
        status: 'FAILED',
        failure: { code: 'REFUND_REJECTED', message: 'refused' },
        at: '2026-12-05T10:00:00.000Z',
      },
    });
    expect(validate(JSON.parse(JSON.stringify(refunded))), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...refunded, extra: 1 })).toBe(false);
  });
});
