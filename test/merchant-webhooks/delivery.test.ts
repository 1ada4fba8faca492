/**
 * The `deliverMerchantEvent` activity over the sender, with the merchant's endpoint faked by undici's MockAgent: what
 * it sends (a signed body the standardwebhooks library verifies) and how each answer is classified for Temporal's
 * retry policy.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Webhook } from 'standardwebhooks';
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createActivities, MERCHANT_WEBHOOK_FAILURE } from '../../activities';
import { InMemoryCardVault } from '../../card-vault';
import { merchantEventId, newWebhookSecret, staticWebhookDirectory, WebhookSender } from '../../merchant-webhooks';
import { PluralClient } from '../../plural-client';
import type { MerchantDelivery } from '../../workflows/definitions';

const ORIGIN = 'https://merchant.example';
const SECRET = newWebhookSecret();
const delivery: MerchantDelivery = {
  merchantId: 'default',
  endpointId: 'main',
  workflowId: 'payment:ord-1',
  event: {
    sequence: 2,
    type: 'payment.authorized',
    at: '2026-12-05T10:00:00.000Z',
    payment: {
      merchantOrderReference: 'ord-1',
      method: 'card',
      preAuth: true,
      status: 'AUTHORIZED',
      pluralOrderId: 'v1-1',
      amount: { value: 5000, currency: 'INR' },
      amountCaptured: undefined,
      amountRefunded: undefined,
      failure: undefined,
      createdAt: '2026-12-05T09:59:00.000Z',
      updatedAt: '2026-12-05T10:00:00.000Z',
    },
  },
};

let agent: MockAgent;
let sender: WebhookSender;
let plural: PluralClient;
let vault: InMemoryCardVault;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  sender = new WebhookSender({ dispatcher: agent, timeoutMs: 1_000 });
  plural = new PluralClient({ baseUrl: 'http://127.0.0.1:1', clientId: 'x', clientSecret: 'y', timeoutMs: 1_000 });
  vault = new InMemoryCardVault();
});
afterEach(async () => {
  agent.assertNoPendingInterceptors();
  await agent.close();
  await plural.close();
  vault.close();
});

function activity(endpoints = [{ id: 'main', url: `${ORIGIN}/hooks`, secret: SECRET }]) {
  const directory = staticWebhookDirectory({ default: endpoints });
  const acts = createActivities({ plural, vault, merchantWebhooks: { directory, sender } });
  return (d: MerchantDelivery) => acts.deliverMerchantEvent(d);
}

const run = (fn: (d: MerchantDelivery) => Promise<unknown>, d = delivery) =>
  new MockActivityEnvironment({ attempt: 3 }).run(fn, d);

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
  throw new Error('expected the delivery to fail');
}

describe('deliverMerchantEvent', () => {
  it('POSTs the event as JSON, signed so that the standardwebhooks library verifies it, and resolves on a 2xx', async () => {
    let seen: { headers: Record<string, string>; body: string } | undefined;
    agent
      .get(ORIGIN)
      .intercept({ path: '/hooks', method: 'POST' })
      .reply((opts) => {
        seen = {
          headers: opts.headers as Record<string, string>,
          body: typeof opts.body === 'string' ? opts.body : '',
        };
        return { statusCode: 204, data: '' };
      });
    const id = merchantEventId('payment:ord-1', 2);
    await expect(run(activity())).resolves.toEqual({ webhookId: id, status: 204 });
    expect(seen!.headers['content-type']).toBe('application/json');
    expect(seen!.headers['webhook-id']).toBe(id);
    const body = new Webhook(SECRET).verify(seen!.body, seen!.headers) as Record<string, unknown>;
    expect(body).toMatchObject({ id, type: 'payment.authorized', sequence: 2, data: { status: 'AUTHORIZED' } });
  });

  it('fails retryably when the endpoint answers 503', async () => {
    agent.get(ORIGIN).intercept({ path: '/hooks', method: 'POST' }).reply(503, 'down');
    const f = await failureOf(run(activity()));
    expect(f).toMatchObject({ type: MERCHANT_WEBHOOK_FAILURE.REJECTED, nonRetryable: false });
    expect(f.message).toBe('merchant webhook endpoint main answered 503 on attempt 3');
  });

  it('fails retryably on a redirect, which it does not follow', async () => {
    agent
      .get(ORIGIN)
      .intercept({ path: '/hooks', method: 'POST' })
      .reply(302, '', { headers: { location: 'https://elsewhere.example/' } });
    const f = await failureOf(run(activity()));
    expect(f).toMatchObject({ type: MERCHANT_WEBHOOK_FAILURE.REJECTED, nonRetryable: false });
  });

  it('fails retryably, naming the network error, when the connection is refused', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    agent.get(ORIGIN).intercept({ path: '/hooks', method: 'POST' }).replyWithError(refused);
    const f = await failureOf(run(activity()));
    expect(f).toMatchObject({ type: MERCHANT_WEBHOOK_FAILURE.UNREACHABLE, nonRetryable: false });
    expect(f.message).toBe('merchant webhook endpoint main unreachable (ECONNREFUSED) on attempt 3');
  });

  it('fails retryably when the endpoint is not in the configuration yet (nothing is sent; an operator can mend it)', async () => {
    const f = await failureOf(run(activity([])));
    expect(f).toMatchObject({ type: MERCHANT_WEBHOOK_FAILURE.UNKNOWN_ENDPOINT, nonRetryable: false });
    expect(f.message).toBe("merchant default has no webhook endpoint main in this worker's configuration");
  });

  it('never puts the endpoint URL or secret in a failure', async () => {
    agent.get(ORIGIN).intercept({ path: '/hooks', method: 'POST' }).reply(500, 'oops');
    const f = await failureOf(run(activity()));
    expect(JSON.stringify({ message: f.message, details: f.details })).not.toMatch(/merchant\.example|whsec_/);
  });
});

describe('WebhookSender against an endpoint that trickles its answer', () => {
  it('ends each attempt at its deadline: the trickled answer, and a send queued behind it for the connection', async () => {
    const trickling = new Set<ReturnType<typeof setInterval>>();
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      // A byte every 50 ms, forever: each one restarts undici's body timeout.
      const tick = setInterval(() => res.write('.'), 50);
      trickling.add(tick);
      res.on('close', () => clearInterval(tick));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const oneConnection = new Agent({ connections: 1 });
    const slow = new WebhookSender({ dispatcher: oneConnection, timeoutMs: 400 });
    const endpoint = { id: 'main', url: `http://127.0.0.1:${port}/hooks`, secret: SECRET };
    try {
      const [first, queued] = await Promise.all([
        slow.send(endpoint, 'msg_1', '{}'),
        slow.send(endpoint, 'msg_2', '{}'),
      ]);
      // The first got its answer's status; its body was cut off at the deadline. The second never got a connection.
      expect(first).toEqual({ kind: 'answered', status: 200 });
      expect(queued).toEqual({ kind: 'unreachable', code: 'TIMEOUT' });
    } finally {
      for (const tick of trickling) clearInterval(tick);
      await oneConnection.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('WebhookSender caps the attempts in flight', () => {
  it('defers at once an attempt beyond the cap in all, or to an address known to fail; the slots come back', async () => {
    const hung = new Set<ServerResponse>();
    const listen = async () => {
      // Never answers: each attempt holds its slot until its deadline.
      const server = createServer((_req, res) => void hung.add(res));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks` };
    };
    const [a, b] = [await listen(), await listen()];
    const capped = new WebhookSender({ timeoutMs: 500, maxInFlightPerAddress: 2, maxInFlight: 3 });
    const to = (url: string) => ({ id: 'main', url, secret: SECRET });
    const directory = staticWebhookDirectory({ default: [to(a.url)] });
    const acts = createActivities({ plural, vault, merchantWebhooks: { directory, sender: capped } });
    try {
      // An address not known to fail shares the cap in all (3) only.
      const held = [1, 2, 3].map((n) => capped.send(to(a.url), `msg_${n}`, '{}'));
      expect(await capped.send(to(b.url), 'msg_4', '{}')).toEqual({
        kind: 'deferred',
        inFlight: 3,
        limit: 3,
        addressHealthy: true,
      });
      // The activity: deferred is a retryable failure of its own type, nothing sent; an address not known to fail is
      // tried again in 1–3 s, not further up the backoff.
      const busy = await failureOf(run((d) => acts.deliverMerchantEvent(d)));
      expect(busy).toMatchObject({ type: MERCHANT_WEBHOOK_FAILURE.DEFERRED, nonRetryable: false });
      expect(busy.nextRetryDelay).toBeGreaterThanOrEqual(1_000);
      expect(busy.nextRetryDelay).toBeLessThan(3_000);
      expect(await Promise.all(held)).toEqual(Array(3).fill({ kind: 'unreachable', code: 'TIMEOUT' }));
      // Their deadlines gave the slots back, and the address is now known to fail: 2 attempts to it at most, another
      // address still goes, and a delivery deferred from the failing one follows the backoff.
      const again = [capped.send(to(a.url), 'msg_5', '{}'), capped.send(to(a.url), 'msg_6', '{}')];
      expect(await capped.send(to(a.url), 'msg_7', '{}')).toEqual({
        kind: 'deferred',
        inFlight: 2,
        limit: 2,
        addressHealthy: false,
      });
      again.push(capped.send(to(b.url), 'msg_8', '{}'));
      const failing = await failureOf(run((d) => acts.deliverMerchantEvent(d)));
      expect(failing).toMatchObject({ type: MERCHANT_WEBHOOK_FAILURE.DEFERRED, nonRetryable: false });
      expect(failing.nextRetryDelay).toBeUndefined();
      expect(await Promise.all(again)).toEqual(Array(3).fill({ kind: 'unreachable', code: 'TIMEOUT' }));
    } finally {
      await capped.close();
      for (const res of hung) res.destroy();
      for (const { server } of [a, b]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    }
  });
});
