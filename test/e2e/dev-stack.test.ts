/**
 * End to end: the whole stack started as `npm start` starts it (a child process running `tsx dev/start.ts`, every
 * port ephemeral), driven over HTTP only — the merchant API, the sandbox's pages as a browser would use them, and
 * the sandbox's fault control API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCallback, webhookHeaders } from '../../plural-client';
import { DEFAULT_CREDENTIALS } from '../../plural-sandbox';
import { paymentWorkflowId } from '../../workflows/definitions';
import { CARDS } from '../support/cards';
import { waitFor } from '../support/wait';
import { completeChallenge, submitForm } from './forms';
import { apiClient, startStackProcess } from './stack-process';
import type { Reply, StackProcess } from './stack-process';

const CVV = '739';
const OTP = '123456';

let dataDir: string;
let stack: StackProcess;
let call: ReturnType<typeof apiClient>;
let seq = 0;

const ref = (what: string) => `e2e-${what}-${Date.now()}-${++seq}`;
const card = (number: string) => ({ number, name: 'Test Holder', expiry_month: '12', expiry_year: '2035', cvv: CVV });
const sandboxUrl = (p: string) => `${stack.info.plural.baseUrl}/__sandbox${p}`;
/** The sandbox's control API wants the token the stack printed in READY. */
const control = () => ({ authorization: `Bearer ${stack.info.plural.controlToken ?? ''}` });

interface Delivery {
  webhookId: string;
  eventType: string;
  orderId: string;
  copy: number;
  outcome: string;
  status?: number;
  sent?: number;
}

async function deliveries(orderId: string): Promise<Delivery[]> {
  const res = await fetch(sandboxUrl('/webhooks'), { headers: control() });
  const body = (await res.json()) as { deliveries: Delivery[] };
  return body.deliveries.filter((d) => d.orderId === orderId);
}

/** The audit trail's state changes (it also records notes, such as an ignored event, as X → X entries). */
const transitions = (body: Reply['body']) =>
  (body.events as { from: string; to: string }[]).filter((e) => e.from !== e.to);

/** Replaces the sandbox's fault settings (`undefined` clears them) through its control API. */
async function setFaults(faults: Record<string, number> | undefined): Promise<void> {
  const res = await fetch(sandboxUrl('/faults'), {
    method: faults ? 'PUT' : 'DELETE',
    headers: { ...control(), ...(faults ? { 'content-type': 'application/json' } : {}) },
    ...(faults ? { body: JSON.stringify(faults) } : {}),
  });
  expect(res.status).toBe(200);
}

async function payment(reference: string): Promise<Reply['body']> {
  const res = await call('GET', `/v1/payments/${reference}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function untilStatus(reference: string, status: string): Promise<Reply['body']> {
  let last: string | undefined;
  return waitFor(
    `payment ${reference} to become ${status}`,
    async () => {
      const body = await payment(reference);
      last = String(body.status);
      return body.status === status ? body : undefined;
    },
    { describeLast: () => `last status ${last ?? 'none'}` },
  );
}

async function createPayment(reference: string, cardNumber: string, preAuth = true): Promise<Reply> {
  const created = await call('POST', '/v1/payments', {
    merchant_order_reference: reference,
    amount: { value: 125_000, currency: 'INR' },
    pre_auth: preAuth,
    card: card(cardNumber),
  });
  expect(created.status).toBe(201);
  return created;
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'plural-e2e-'));
  stack = await startStackProcess(dataDir);
  call = apiClient(stack.info);
}, 180_000);

afterAll(async () => {
  await stack?.stop('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start, end to end over HTTP', () => {
  it('prints where everything is and serves health, readiness, docs and metrics', async () => {
    expect(stack.info).toMatchObject({
      temporal: { devServer: true, namespace: 'default', dbFile: path.join(dataDir, 'temporal.db') },
      temporalUi: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as unknown,
      plural: { sandbox: true },
      devApiKey: expect.any(String) as unknown,
    });
    expect(stack.output()).toContain(`API key`);
    expect(stack.output()).toContain(`Temporal UI     ${stack.info.temporalUi}`);
    expect((await fetch(stack.info.temporalUi!)).status).toBe(200);
    expect((await fetch(`${stack.info.api}/healthz`)).status).toBe(200);
    expect((await fetch(`${stack.info.api}/readyz`)).status).toBe(200);
    expect((await fetch(stack.info.docs)).status).toBe(200);
    const openapi = (await (await fetch(stack.info.openapi)).json()) as { openapi: string };
    expect(openapi.openapi).toMatch(/^3\./);
    expect(await (await fetch(stack.info.apiMetrics)).text()).toContain('# TYPE');
    expect((await call('GET', '/v1/payments/none', undefined, { authorization: 'Bearer wrong-key' })).status).toBe(401);
  });

  it("prints the sandbox's control token in READY and the banner, and its control API wants it", async () => {
    const token = stack.info.plural.controlToken;
    expect(token).toMatch(/^\S{16,}$/);
    expect(stack.output()).toContain(`Plural control  ${stack.info.plural.baseUrl}/__sandbox (Bearer ${token})`);
    expect((await fetch(sandboxUrl('/faults'))).status).toBe(401);
    expect(
      (await fetch(sandboxUrl('/faults'), { headers: { authorization: 'Bearer not-the-token-0123' } })).status,
    ).toBe(401);
    expect((await fetch(sandboxUrl('/faults'), { headers: control() })).status).toBe(200);
  });

  it('runs a native-OTP pre-auth payment to capture', async () => {
    const reference = ref('otp');
    const created = await createPayment(reference, CARDS.nativeOtp);
    expect(created.body).toMatchObject({ status: 'AWAITING_OTP', pre_auth: true });
    const authorized = await call('POST', `/v1/payments/${reference}/otp`, { otp: OTP });
    expect(authorized.status).toBe(200);
    expect(authorized.body.status).toBe('AUTHORIZED');
    const captured = await call('POST', `/v1/payments/${reference}/capture`);
    expect(captured.status).toBe(200);
    expect(captured.body).toMatchObject({ status: 'PROCESSED', captured_amount: { value: 125_000, currency: 'INR' } });
    // The sandbox's webhooks reached the API and were accepted.
    const orderId = String(created.body.order_id);
    const seen = await waitFor('the ORDER_PROCESSED webhook', async () => {
      const list = await deliveries(orderId);
      return list.some((d) => d.eventType === 'ORDER_PROCESSED') ? list : undefined;
    });
    expect(seen.every((d) => d.outcome === 'delivered' && d.status === 200)).toBe(true);
  }, 60_000);

  it("shows the payment's merchant webhooks, verified, on the stack's own receiver", async () => {
    const receiver = stack.info.merchantWebhooks.receiver;
    expect(receiver).toBe(`${stack.info.api}/dev/merchant-webhooks`);
    expect(stack.info.merchantWebhooks.endpoint).toBe(receiver);
    const reference = ref('merchant-webhooks');
    await createPayment(reference, CARDS.nativeOtp);
    expect((await call('POST', `/v1/payments/${reference}/otp`, { otp: OTP })).body.status).toBe('AUTHORIZED');
    interface Shown {
      merchantOrderReference: string;
      type: string;
      sequence: number;
      verified: boolean;
      duplicate: boolean;
    }
    const shown = await waitFor('the deliveries on the receiver', async () => {
      const res = await fetch(`${receiver}?format=json`);
      const mine = ((await res.json()) as { deliveries: Shown[] }).deliveries.filter(
        (d) => d.merchantOrderReference === reference,
      );
      return mine.length >= 2 ? mine : undefined;
    });
    expect(shown.map((d) => [d.sequence, d.type, d.verified, d.duplicate])).toEqual([
      [1, 'payment.awaiting_otp', true, false],
      [2, 'payment.authorized', true, false],
    ]);
    const page = await fetch(receiver!);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain(reference);
    // A delivery not signed with the endpoint's secret is refused and shown as such.
    const forged = await fetch(receiver!, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'evt_forged',
        'webhook-timestamp': '1',
        'webhook-signature': 'v1,AAAA',
      },
      body: '{}',
    });
    expect(forged.status).toBe(401);
    expect(stack.output()).toContain('merchant webhook received');
  }, 60_000);

  it('fails the payment once every OTP attempt is used up with a wrong OTP', async () => {
    const reference = ref('wrong-otp');
    const created = await createPayment(reference, CARDS.nativeOtp);
    const attempts = (created.body.otp as { attempts_left: number }).attempts_left;
    expect(attempts).toBeGreaterThan(1);
    const attemptsLeft = (r: Reply): number => (r.body.otp as { attempts_left: number }).attempts_left;
    let last: Reply | undefined;
    let submitted = 0;
    while (submitted < attempts + 2) {
      // Another wrong OTP each time: each costs an attempt.
      last = await call('POST', `/v1/payments/${reference}/otp`, { otp: String(submitted).padStart(6, '0') });
      submitted += 1;
      expect(last.status).toBe(200);
      if (last.body.status !== 'AWAITING_OTP') break;
      expect(attemptsLeft(last)).toBe(attempts - submitted);
      if (submitted === 1) {
        // The same wrong OTP again (a client retrying, say) is answered wrong without spending one.
        const repeat = await call('POST', `/v1/payments/${reference}/otp`, { otp: '000000' });
        expect(repeat.status).toBe(200);
        expect(repeat.body.otp).toMatchObject({
          attempts_left: attempts - 1,
          last_submission: { outcome: 'INCORRECT' },
        });
      }
    }
    expect(submitted).toBe(attempts);
    expect(last?.body.status).toBe('FAILED');
    expect(last?.body.failure).not.toBeNull();
    const again = await call('POST', `/v1/payments/${reference}/otp`, { otp: OTP });
    expect(again.status).toBe(409);
  }, 60_000);

  it('completes the challenge page like a browser: callback, merchant return page, webhook', async () => {
    const reference = ref('challenge');
    const created = await createPayment(reference, CARDS.challenge);
    expect(created.body.status).toBe('AWAITING_CHALLENGE');
    const { callbackForm } = await completeChallenge(String(created.body.challenge_url), 'Approve');
    expect(callbackForm.action).toBe(`${stack.info.api}/v1/callbacks/plural`);

    const callback = await submitForm(callbackForm);
    expect(callback.status).toBe(303);
    const returnUrl = new URL(callback.headers.get('location') ?? '');
    expect(`${returnUrl.origin}${returnUrl.pathname}`).toBe(stack.info.returnPage);
    expect(returnUrl.searchParams.get('merchant_order_reference')).toBe(reference);

    const returnPage = await fetch(returnUrl);
    expect(returnPage.status).toBe(200);
    expect(await returnPage.text()).toContain('<span id="status">AUTHORIZED</span>');
    expect((await payment(reference)).status).toBe('AUTHORIZED');

    const orderId = String(created.body.order_id);
    const authorizedHooks = await waitFor('the ORDER_AUTHORIZED webhook', async () => {
      const list = (await deliveries(orderId)).filter((d) => d.eventType === 'ORDER_AUTHORIZED');
      return list.length > 0 ? list : undefined;
    });
    expect(authorizedHooks.every((d) => d.outcome === 'delivered' && d.status === 200)).toBe(true);

    const captured = await call('POST', `/v1/payments/${reference}/capture`, {
      amount: { value: 100_000, currency: 'INR' },
    });
    expect(captured.status).toBe(200);
    expect(captured.body).toMatchObject({ status: 'PROCESSED', captured_amount: { value: 100_000, currency: 'INR' } });
  }, 60_000);

  it('ends a declined card FAILED and shows it on the merchant return page', async () => {
    const reference = ref('declined');
    const created = await createPayment(reference, CARDS.declined, false);
    expect(created.body.status).toBe('AWAITING_CHALLENGE');
    const { callbackForm } = await completeChallenge(String(created.body.challenge_url), 'Approve');
    expect(callbackForm.fields.payment_status).toBe('FAILED');

    const callback = await submitForm(callbackForm);
    expect(callback.status).toBe(303);
    const returnUrl = new URL(callback.headers.get('location') ?? '');
    expect(returnUrl.searchParams.get('status')).toBe('FAILED');
    const html = await (await fetch(returnUrl)).text();
    expect(html).toContain('<span id="status">FAILED</span>');

    const failed = await untilStatus(reference, 'FAILED');
    expect(failed.failure).toMatchObject({ code: expect.any(String) as unknown });
    expect((await call('POST', `/v1/payments/${reference}/capture`)).status).toBe(409);
  }, 60_000);

  it("still takes a customer who returns after the declined payment has ended to the merchant's return page", async () => {
    const reference = ref('declined-late');
    const created = await createPayment(reference, CARDS.declined, false);
    const { callbackForm } = await completeChallenge(String(created.body.challenge_url), 'Approve');
    // The browser is slow: Plural's webhook ends the payment, and its workflow closes, before the customer is back.
    await untilStatus(reference, 'FAILED');
    const connection = await Connection.connect({ address: stack.info.temporal.address });
    try {
      // The raw description: the SDK's would decode the memo, which the stack encrypts.
      const describe = () =>
        connection.workflowService.describeWorkflowExecution({
          namespace: stack.info.temporal.namespace,
          execution: { workflowId: paymentWorkflowId(reference) },
        });
      await waitFor('the payment workflow to close', async () =>
        (await describe()).workflowExecutionInfo?.status !==
        temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
          ? true
          : undefined,
      );
    } finally {
      await connection.close();
    }

    const callback = await submitForm(callbackForm);
    expect(callback.status).toBe(303);
    const returnUrl = new URL(callback.headers.get('location') ?? '');
    expect(`${returnUrl.origin}${returnUrl.pathname}`).toBe(stack.info.returnPage);
    expect(returnUrl.searchParams.get('merchant_order_reference')).toBe(reference);
    expect(await (await fetch(returnUrl)).text()).toContain('<span id="status">FAILED</span>');
  }, 60_000);

  it('settles a payment from duplicated webhooks alone when the browser never returns', async () => {
    await setFaults({ webhookDuplicateRate: 1 });
    try {
      const reference = ref('webhooks');
      const created = await createPayment(reference, CARDS.challenge);
      const orderId = String(created.body.order_id);
      // The customer approves, but the browser never posts the callback form back: only webhooks tell the engine.
      await completeChallenge(String(created.body.challenge_url), 'Approve');
      const authorized = await untilStatus(reference, 'AUTHORIZED');
      expect(authorized.next_actions).toContain('CAPTURE');

      // Both copies (same webhook-id) were acknowledged; the second changed nothing.
      const list = await waitFor('both copies of ORDER_AUTHORIZED', async () => {
        const l = (await deliveries(orderId)).filter((d) => d.eventType === 'ORDER_AUTHORIZED');
        return l.filter((d) => d.outcome === 'delivered').length >= 2 ? l : undefined;
      });
      expect(new Set(list.map((d) => d.webhookId)).size).toBe(1);
      expect(list.map((d) => d.copy).sort()).toEqual([1, 2]);
      expect(list.every((d) => d.status === 200)).toBe(true);
      const events = transitions(await payment(reference));
      expect(events.filter((e) => e.to === 'AUTHORIZED')).toHaveLength(1);
    } finally {
      await setFaults(undefined);
    }
  }, 60_000);

  it('ignores a stale webhook that arrives after a newer one (reordered and duplicated)', async () => {
    // ORDER_AUTHORIZED is held back until the next event of the order (ORDER_PROCESSED) has gone out.
    await setFaults({ webhookDuplicateRate: 1, webhookReorderRate: 1, webhookReorderHoldMs: 20_000 });
    try {
      const reference = ref('reordered');
      const created = await createPayment(reference, CARDS.nativeOtp);
      const orderId = String(created.body.order_id);
      expect((await call('POST', `/v1/payments/${reference}/otp`, { otp: OTP })).body.status).toBe('AUTHORIZED');
      const captured = await call('POST', `/v1/payments/${reference}/capture`);
      expect(captured.status).toBe(200);
      expect(captured.body.status).toBe('PROCESSED');

      const list = await waitFor('both copies of both events', async () => {
        const l = (await deliveries(orderId)).filter((d) => d.outcome === 'delivered');
        const count = (type: string) => l.filter((d) => d.eventType === type).length;
        return count('ORDER_AUTHORIZED') >= 2 && count('ORDER_PROCESSED') >= 2 ? l : undefined;
      });
      expect(list.every((d) => d.status === 200)).toBe(true);
      // A stale copy went out after the newer event (the held one; its duplicate may go out at once). In sending order:
      // the log lists deliveries in the order their answers came back, which load can shuffle.
      const types = [...list].sort((a, b) => (a.sent ?? 0) - (b.sent ?? 0)).map((d) => d.eventType);
      expect(types.lastIndexOf('ORDER_AUTHORIZED')).toBeGreaterThan(types.indexOf('ORDER_PROCESSED'));

      await new Promise((r) => setTimeout(r, 300));
      const final = await payment(reference);
      expect(final.status).toBe('PROCESSED');
      const events = transitions(final);
      expect(events.filter((e) => e.to === 'AUTHORIZED')).toHaveLength(1);
      expect(events.filter((e) => e.to === 'PROCESSED')).toHaveLength(1);
    } finally {
      await setFaults(undefined);
    }
  }, 60_000);

  it('rejects a forged callback and a forged webhook with 401 and leaves the payment unchanged', async () => {
    const reference = ref('forged');
    const created = await createPayment(reference, CARDS.challenge);
    const orderId = String(created.body.order_id);
    const before = await payment(reference);
    expect(before.status).toBe('AWAITING_CHALLENGE');

    const fields = { order_id: orderId, status: 'AUTHORIZED' };
    const forgedQuery = new URLSearchParams({ ...fields, signature: signCallback(fields, 'ab'.repeat(32)) });
    const forgedGet = await fetch(`${stack.info.api}/v1/callbacks/plural?${forgedQuery.toString()}`, {
      redirect: 'manual',
    });
    expect(forgedGet.status).toBe(401);
    const unsignedPost = await fetch(`${stack.info.api}/v1/callbacks/plural`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
    });
    expect(unsignedPost.status).toBe(401);

    const body = JSON.stringify({
      event_type: 'ORDER_AUTHORIZED',
      data: {
        order_id: orderId,
        merchant_order_reference: reference,
        status: 'AUTHORIZED',
        order_amount: { value: 125_000, currency: 'INR' },
        payments: [],
      },
    });
    const now = Math.floor(Date.now() / 1000);
    const send = (headers: Record<string, string>) =>
      fetch(`${stack.info.api}/v1/webhooks/plural`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
      });
    const wrongSecret = await send(
      webhookHeaders({ id: 'msg_forged1', timestamp: now, body, secret: 'not-the-secret' }),
    );
    expect(wrongSecret.status).toBe(401);
    const stale = await send(
      webhookHeaders({ id: 'msg_forged2', timestamp: now - 3_600, body, secret: DEFAULT_CREDENTIALS.webhookSecret }),
    );
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as Reply['body']).error?.type).toBeDefined();

    await new Promise((r) => setTimeout(r, 300));
    const after = await payment(reference);
    expect(after.status).toBe('AWAITING_CHALLENGE');
    expect(after.events).toEqual(before.events);
    // Not authorized yet: the cancel answers 202 CLOSING (Plural cancels only authorized orders).
    expect((await call('POST', `/v1/payments/${reference}/cancel`)).body.status).toBe('CLOSING');
  }, 60_000);

  it('writes no card number, CVV field or secret to its output', () => {
    const out = stack.output();
    expect(out).toContain('"route":"/v1/payments"');
    for (const secret of [
      CARDS.nativeOtp,
      CARDS.challenge,
      CARDS.declined,
      DEFAULT_CREDENTIALS.clientSecret,
      DEFAULT_CREDENTIALS.webhookSecret,
      DEFAULT_CREDENTIALS.callbackSecretHex,
    ]) {
      expect(out.includes(secret), `output contains ${secret.slice(0, 4)}…`).toBe(false);
    }
    expect(out).not.toMatch(/"cvv"\s*:\s*"\d/i);
    expect(out).not.toMatch(/"otp"\s*:\s*"\d/i);
  });

  it('stops cleanly on SIGTERM and keeps the Temporal state in its data folder across a restart', async () => {
    const reference = ref('persisted');
    // Created with an Idempotency-Key: the restarted API replays this answer (the key lives in Temporal).
    const key = { 'Idempotency-Key': `create-${reference}` };
    const request = {
      merchant_order_reference: reference,
      amount: { value: 125_000, currency: 'INR' },
      pre_auth: false,
      card: card(CARDS.nativeOtp),
    };
    const created = await call('POST', '/v1/payments', request, key);
    expect(created.status).toBe(201);
    expect((await call('POST', `/v1/payments/${reference}/otp`, { otp: OTP })).status).toBeLessThan(300);
    await untilStatus(reference, 'PROCESSED');

    const code = await stack.stop('SIGTERM');
    expect(code).toBe(0);
    expect(stack.output()).toContain('STOPPED');

    stack = await startStackProcess(dataDir);
    call = apiClient(stack.info);
    expect(stack.info.workflowBundle).toBe('cache');
    expect((await payment(reference)).status).toBe('PROCESSED');
    const replayed = await call('POST', '/v1/payments', request, key);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect([replayed.status, replayed.body]).toEqual([201, created.body]);
    const otherBody = await call('POST', '/v1/payments', { ...request, amount: { value: 1, currency: 'INR' } }, key);
    expect(otherBody.status).toBe(409);
    expect(otherBody.body.error?.code).toBe('idempotency_key_mismatch');
    expect(await stack.stop('SIGINT')).toBe(0);
  }, 180_000);
});
