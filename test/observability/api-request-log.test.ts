/**
 * The API's one log line per request carries the request id and, when the request addressed a payment, the
 * payment's workflow id, so an API line joins the worker's lines for the same payment.
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { signCallback, webhookHeaders } from '../../plural-client';
import { paymentWorkflowId } from '../../workflows/definitions';
import { CARDS } from '../support/cards';
import { auth, CALLBACK_SECRET_HEX, cardPayment, makeApi, orderWebhookBody, WEBHOOK_SECRET } from '../api/helpers';
import type { TestApi } from '../api/helpers';

interface RequestLine {
  msg: string;
  requestId?: string;
  workflowId?: string;
  route?: string;
  status?: string;
}

/** The `request` line of the request whose X-Request-Id is `requestId`. */
function requestLine(api: TestApi, requestId: string): RequestLine {
  const lines = api.logs.map((l) => JSON.parse(l) as RequestLine).filter((l) => l.msg === 'request');
  const line = lines.find((l) => l.requestId === requestId);
  if (!line) throw new Error(`no request line with requestId ${requestId}`);
  return line;
}

/** `finish` fires after supertest has the response; give it a turn. */
const settled = () => new Promise((r) => setTimeout(r, 20));

async function challengePayment(api: TestApi, ref: string): Promise<string> {
  const res = await request(api.app)
    .post('/v1/payments')
    .set(auth)
    .set('X-Request-Id', `create-${ref}`)
    .send(
      cardPayment(ref, {
        card: { number: CARDS.challenge, name: 'A', expiry_month: '01', expiry_year: '2031', cvv: '999' },
      }),
    );
  expect(res.status).toBe(201);
  return res.body.order_id as string;
}

describe('API request log line', () => {
  it('names the workflow of a payment created, read or acted on', async () => {
    const api = makeApi();
    await challengePayment(api, 'log-1');
    await request(api.app).get('/v1/payments/log-1').set(auth).set('X-Request-Id', 'get-log-1');
    await request(api.app).post('/v1/payments/log-1/cancel').set(auth).set('X-Request-Id', 'cancel-log-1');
    await settled();
    for (const id of ['create-log-1', 'get-log-1', 'cancel-log-1']) {
      expect(requestLine(api, id)).toMatchObject({ requestId: id, workflowId: paymentWorkflowId('log-1') });
    }
    expect(requestLine(api, 'get-log-1')).toMatchObject({ route: '/v1/payments/:merchant_order_reference' });
  });

  it('names the workflow a verified callback or webhook was delivered to', async () => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'log-2');
    const fields = { order_id: orderId, status: 'AUTHORIZED' };
    await request(api.app)
      .post('/v1/callbacks/plural')
      .set('X-Request-Id', 'callback-log-2')
      .type('form')
      .send({ ...fields, signature: signCallback(fields, CALLBACK_SECRET_HEX) });
    const body = orderWebhookBody('log-2', orderId);
    await request(api.app)
      .post('/v1/webhooks/plural')
      .set('Content-Type', 'application/json')
      .set('X-Request-Id', 'webhook-log-2')
      .set(webhookHeaders({ id: 'msg_log', timestamp: Math.floor(Date.now() / 1000), body, secret: WEBHOOK_SECRET }))
      .send(body);
    await settled();
    expect(requestLine(api, 'callback-log-2')).toMatchObject({ status: '303', workflowId: paymentWorkflowId('log-2') });
    expect(requestLine(api, 'webhook-log-2')).toMatchObject({ status: '200', workflowId: paymentWorkflowId('log-2') });
  });

  it('leaves the workflow id out when no payment was addressed or the reference is invalid', async () => {
    const api = makeApi();
    await request(api.app).get('/healthz').set('X-Request-Id', 'health');
    await request(api.app).get('/v1/payments/bad%20ref!').set(auth).set('X-Request-Id', 'bad-ref');
    await settled();
    expect(requestLine(api, 'health').workflowId).toBeUndefined();
    expect(requestLine(api, 'bad-ref')).toMatchObject({ status: '400' });
    expect(requestLine(api, 'bad-ref').workflowId).toBeUndefined();
  });
});
