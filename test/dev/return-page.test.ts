/**
 * The dev stack's merchant return page (`/dev/return`), mounted as the stack mounts it, over an engine stub: every
 * answer is a page with helmet's headers and never a stack trace or a file path, also when reads of the engine fail
 * under concurrent requests (the reported bug: an HTML 500 with a stack for 2 of 6 concurrent requests); and it
 * shows a payment only to a signed, unexpired link.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createReturnLinks, EngineUnavailableError } from '../../api';
import type { PaymentEngine, PaymentRecord, ReturnLinks } from '../../api';
import { stateFromSummary } from '../../api/payment-summary';
import { createReturnPageRouter } from '../../dev/return-page';
import type { ReturnPageOptions } from '../../dev/return-page';
import { PAYMENT_STATUS, paymentWorkflowId } from '../../workflows/definitions';
import type { PaymentStatus } from '../../workflows/definitions';

const ROOT = path.join(__dirname, '..', '..');

function record(ref: string, status: PaymentStatus): PaymentRecord {
  const at = new Date().toISOString();
  return {
    requestFingerprint: undefined,
    state: stateFromSummary(paymentWorkflowId(ref), {
      merchantOrderReference: ref,
      method: 'card',
      preAuth: true,
      status,
      pluralOrderId: 'v1-order-1',
      amount: { value: 49_900, currency: 'INR' },
      amountCaptured: undefined,
      amountRefunded: undefined,
      createdAt: at,
      updatedAt: at,
    }),
  };
}

/** An engine that only reads, through `get`. */
const readOnlyEngine = (get: (ref: string) => Promise<PaymentRecord | undefined>): PaymentEngine =>
  ({ get }) as unknown as PaymentEngine;

let servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
  servers = [];
});

/** The links the stack's API would sign, with the stack's lifetime, on a clock tests can move. */
const clock = { now: Date.now() };
const links: ReturnLinks = createReturnLinks({ key: randomBytes(32), now: () => clock.now });
afterEach(() => {
  clock.now = Date.now();
});

/** The link the callback would redirect to (the API signs it the same way). */
function signed(base: string, ref: string, status: string, signer: ReturnLinks = links, merchant?: string): string {
  const url = new URL(`${base}/dev/return`);
  url.searchParams.set('merchant_order_reference', ref);
  url.searchParams.set('status', status);
  if (merchant !== undefined) url.searchParams.set('merchant_id', merchant);
  signer.sign(url);
  return url.toString();
}

/** The return page as `dev/stack/routes.ts` serves it: an Express app with the router under `/dev`. */
async function serve(options: Omit<ReturnPageOptions, 'links'>): Promise<string> {
  const app = express();
  app.disable('x-powered-by');
  app.use('/dev', createReturnPageRouter({ links, ...options }));
  const server = http.createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function get(url: string): Promise<Answer> {
  const res = await fetch(url, { redirect: 'manual' });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** An answer that is a page of ours: HTML, helmet's headers, and nothing of a stack or the file system. */
function expectPage(answer: Answer): void {
  expect(answer.text).not.toMatch(/\bat .+\(|node_modules|\.ts:\d+|Error:/);
  expect(answer.text).not.toContain(ROOT);
  expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
  expect(answer.text).toMatch(/^<!doctype html>/);
  expect(answer.headers.get('x-frame-options')).toBe('DENY');
  expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
  const csp = answer.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-inline');
}

describe('/dev/return', () => {
  it('answers 6 concurrent requests with pages, 503 with no stack or path for the 2 whose engine read fails', async () => {
    let calls = 0;
    const base = await serve({
      engine: readOnlyEngine(async (ref) => {
        calls += 1;
        // Under load, every third read of Temporal fails (as `createTemporalEngine` reports it).
        if (calls % 3 === 0) {
          throw new EngineUnavailableError('Temporal call failed: describe', new Error('DEADLINE_EXCEEDED'));
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
        return record(ref, PAYMENT_STATUS.AUTHORIZED);
      }),
    });
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => get(signed(base, `order-${i}`, 'AUTHORIZED'))),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 503, 503]);
    for (const answer of answers) expectPage(answer);
    for (const answer of answers.filter((a) => a.status === 503)) {
      expect(answer.text).not.toContain('DEADLINE_EXCEEDED');
      expect(answer.text).not.toContain('Temporal call failed');
    }
  });

  it('answers an unexpected failure with a 500 page, no stack or path', async () => {
    const base = await serve({
      engine: readOnlyEngine(() => {
        const broken = record('order-1', PAYMENT_STATUS.FAILED);
        // A record the page cannot render (a failure without its fields): the handler throws a TypeError.
        (broken.state as { failure: unknown }).failure = {};
        return Promise.resolve(broken);
      }),
    });
    const answer = await get(signed(base, 'order-1', 'FAILED'));
    expect(answer.status).toBe(500);
    expectPage(answer);
  });

  it('answers any other path under /dev with a 404 page that does not echo the path', async () => {
    const base = await serve({ engine: readOnlyEngine(() => Promise.resolve(undefined)) });
    for (const p of ['/dev/nothing-here-marker', '/dev/return/%3Cscript%3Emarker', '/dev']) {
      const answer = await get(`${base}${p}`);
      expect(answer.status).toBe(404);
      expectPage(answer);
      expect(answer.text).not.toContain('marker');
    }
  });

  it('shows the payment on a page with the same headers', async () => {
    const base = await serve({ engine: readOnlyEngine((ref) => Promise.resolve(record(ref, 'PROCESSED'))) });
    const answer = await get(signed(base, 'order-9', 'PROCESSED'));
    expect(answer.status).toBe(200);
    expectPage(answer);
    expect(answer.text).toContain('<span id="status">PROCESSED</span>');
  });

  describe('shows a payment only to a signed, unexpired link', () => {
    /** The engine, recording every reference it is asked for. */
    function spyEngine(): { reads: string[]; engine: PaymentEngine } {
      const reads: string[] = [];
      return {
        reads,
        engine: readOnlyEngine((ref) => {
          reads.push(ref);
          return Promise.resolve(record(ref, PAYMENT_STATUS.AUTHORIZED));
        }),
      };
    }

    it('refuses a link without a signature, or with a malformed one, with a 403 page and reads nothing', async () => {
      const { reads, engine } = spyEngine();
      const base = await serve({ engine });
      const good = new URL(signed(base, 'order-1', 'AUTHORIZED'));
      const expires = good.searchParams.get('expires')!;
      for (const query of [
        'merchant_order_reference=order-1&status=AUTHORIZED',
        `merchant_order_reference=order-1&status=AUTHORIZED&expires=${expires}`,
        `merchant_order_reference=order-1&status=AUTHORIZED&expires=${expires}&signature=abc`,
        `${good.search.slice(1)}&signature=${good.searchParams.get('signature')!}`,
        `${good.search.slice(1)}&merchant_order_reference=order-2`,
      ]) {
        const answer = await get(`${base}/dev/return?${query}`);
        expect({ query, status: answer.status }).toEqual({ query, status: 403 });
        expectPage(answer);
        expect(answer.text).not.toContain('AUTHORIZED');
      }
      expect(reads).toEqual([]);
    });

    it('never shows another payment to a link whose reference or status was changed', async () => {
      const { reads, engine } = spyEngine();
      const base = await serve({ engine });
      const mine = new URL(signed(base, 'order-mine', 'FAILED'));
      for (const [key, value] of [
        ['merchant_order_reference', 'order-someone-else'],
        ['status', 'AUTHORIZED'],
        ['expires', String(Number(mine.searchParams.get('expires')) + 3600)],
      ] as const) {
        const forged = new URL(mine);
        forged.searchParams.set(key, value);
        const answer = await get(forged.toString());
        expect({ key, status: answer.status }).toEqual({ key, status: 403 });
        expect(answer.text).not.toContain('order-someone-else');
      }
      expect(reads).toEqual([]);
    });

    it('reads the payment of the merchant the link names, and nothing for an unknown merchant or a moved link', async () => {
      const acme = spyEngine();
      const globex = spyEngine();
      const byDefault = spyEngine();
      const engines: Record<string, PaymentEngine> = { acme: acme.engine, globex: globex.engine };
      const base = await serve({ engine: byDefault.engine, engineFor: (id) => engines[id] });
      expect((await get(signed(base, 'order-1', 'AUTHORIZED', links, 'globex'))).status).toBe(200);
      expect(globex.reads).toEqual(['order-1']);
      expect((await get(signed(base, 'order-1', 'AUTHORIZED', links, 'initech'))).status).toBe(404);
      const moved = new URL(signed(base, 'order-1', 'AUTHORIZED', links, 'globex'));
      moved.searchParams.set('merchant_id', 'acme');
      expect((await get(moved.toString())).status).toBe(403);
      expect([acme.reads, byDefault.reads]).toEqual([[], []]);
    });

    it('refuses a link signed with another key', async () => {
      const { reads, engine } = spyEngine();
      const base = await serve({ engine });
      const other = createReturnLinks({ key: randomBytes(32) });
      const answer = await get(signed(base, 'order-1', 'AUTHORIZED', other));
      expect(answer.status).toBe(403);
      expect(reads).toEqual([]);
    });

    it('refuses an expired link with a 410 page and reads nothing', async () => {
      const { reads, engine } = spyEngine();
      const base = await serve({ engine });
      const url = signed(base, 'order-1', 'AUTHORIZED');
      clock.now += 599_000;
      expect((await get(url)).status).toBe(200);
      clock.now += 2_000;
      const answer = await get(url);
      expect(answer.status).toBe(410);
      expectPage(answer);
      expect(reads).toEqual(['order-1']);
    });
  });
});
