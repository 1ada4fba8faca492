/**
 * `GET /v1/payments` over the in-memory engine: filters, newest first, paging with the signed cursor, and a clear 400
 * for every filter the search cannot take (nothing of which reaches the engine). The same search over the real dev
 * server's visibility store is in `payment-search.test.ts`.
 */
import Ajv2020 from 'ajv/dist/2020';
import fc from 'fast-check';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { EngineUnavailableError } from '../../api/engine';
import type { PaymentListRequest } from '../../api/engine';
import { buildOpenApiDocument } from '../../api/openapi';
import { REFERENCE_PATTERN } from '../../api/schemas';
import { PAYMENT_STATUS } from '../../workflows/definitions';
import type { PaymentStatus } from '../../workflows/definitions';
import { auth, makeApi, seededInput } from './helpers';
import type { TestApi } from './helpers';

interface ListBody {
  object: string;
  data: { merchant_order_reference: string; status: string; created_at: string }[];
  next_cursor: string | null;
}

/** A payment started at `createdAt` (ISO 8601), in `status`: what visibility would list. */
function seed(api: TestApi, ref: string, createdAt: string, status: PaymentStatus = 'AWAITING_OTP'): void {
  api.engine.seed(seededInput(ref), 'fp', status);
  const state = api.engine.payments.get(ref)!.state;
  state.pluralOrderId = `v1-ord-${ref}`;
  state.createdAt = createdAt;
  state.updatedAt = createdAt;
}

/** Five payments a minute apart, `s-1` oldest; two of them AUTHORIZED, one of another merchant prefix. */
function seeded(): TestApi {
  const api = makeApi();
  seed(api, 's-1', '2026-03-01T10:01:00.000Z', 'PROCESSED');
  seed(api, 's-2', '2026-03-01T10:02:00.000Z', 'AUTHORIZED');
  seed(api, 'other-3', '2026-03-01T10:03:00.000Z', 'AUTHORIZED');
  seed(api, 's-4', '2026-03-01T10:04:00.000Z', 'AUTHORIZED');
  seed(api, 's-5', '2026-03-01T10:05:00.000Z', 'CANCELLED');
  return api;
}

const list = (api: TestApi, query: string) => request(api.app).get(`/v1/payments${query}`).set(auth);
const refs = (body: ListBody) => body.data.map((p) => p.merchant_order_reference);
const listCalls = (api: TestApi) =>
  api.engine.calls.filter((c) => c.method === 'list').map((c) => c.args[0] as PaymentListRequest);

describe('GET /v1/payments', () => {
  it('lists every payment newest first as payment summaries, with no next_cursor when all fit', async () => {
    const api = seeded();
    const res = await list(api, '');
    expect(res.status).toBe(200);
    expect(refs(res.body as ListBody)).toEqual(['s-5', 's-4', 'other-3', 's-2', 's-1']);
    expect(res.body).toMatchObject({ object: 'list', next_cursor: null });
    expect((res.body as ListBody).data[0]).toEqual({
      object: 'payment_summary',
      merchant_order_reference: 's-5',
      status: 'CANCELLED',
      amount: { value: 10_000, currency: 'INR' },
      pre_auth: true,
      payment_method: 'hosted_checkout',
      order_id: 'v1-ord-s-5',
      captured_amount: null,
      refunded_amount: null,
      created_at: '2026-03-01T10:05:00.000Z',
      updated_at: '2026-03-01T10:05:00.000Z',
    });
    expect(listCalls(api)).toEqual([{ limit: 20 }]);
  });

  it('filters by one status, or several separated by commas', async () => {
    const api = seeded();
    expect(refs((await list(api, '?status=AUTHORIZED')).body as ListBody)).toEqual(['s-4', 'other-3', 's-2']);
    expect(refs((await list(api, '?status=CANCELLED,PROCESSED')).body as ListBody)).toEqual(['s-5', 's-1']);
    // The engine gets the set once each, in PAYMENT_STATUS order, whatever order the request named them in.
    await list(api, '?status=PROCESSED,CANCELLED,PROCESSED');
    expect(listCalls(api).at(-1)).toEqual({ statuses: ['PROCESSED', 'CANCELLED'], limit: 20 });
  });

  it('filters by creation time: created_from included, created_to excluded, any time zone', async () => {
    const api = seeded();
    const from = await list(api, `?created_from=${encodeURIComponent('2026-03-01T15:34:00+05:30')}`);
    expect(refs(from.body as ListBody)).toEqual(['s-5', 's-4']);
    const to = await list(api, '?created_to=2026-03-01T10:02:00Z');
    expect(refs(to.body as ListBody)).toEqual(['s-1']);
    const both = await list(api, '?created_from=2026-03-01T10:02:00.000Z&created_to=2026-03-01T10:04:00.000Z');
    expect(refs(both.body as ListBody)).toEqual(['other-3', 's-2']);
    expect(listCalls(api).at(-1)).toEqual({
      createdFrom: new Date('2026-03-01T10:02:00Z'),
      createdTo: new Date('2026-03-01T10:04:00Z'),
      limit: 20,
    });
  });

  it('filters by reference prefix, combined with the other filters', async () => {
    const api = seeded();
    expect(refs((await list(api, '?reference_prefix=s-')).body as ListBody)).toEqual(['s-5', 's-4', 's-2', 's-1']);
    expect(refs((await list(api, '?reference_prefix=s-&status=AUTHORIZED')).body as ListBody)).toEqual(['s-4', 's-2']);
    expect(refs((await list(api, '?reference_prefix=S-')).body as ListBody)).toEqual([]);
  });

  it('pages with limit and next_cursor to the end, newest first, each page token reaching the engine unchanged', async () => {
    const api = seeded();
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?reference_prefix=s-&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await list(api, query);
      expect(res.status).toBe(200);
      const body = res.body as ListBody;
      pages.push(refs(body));
      cursor = body.next_cursor;
      if (cursor !== null) expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    } while (cursor !== null);
    expect(pages).toEqual([
      ['s-5', 's-4'],
      ['s-2', 's-1'],
    ]);
    // The fake's token is an offset ("2"): the cursor carries it signed, never in the clear.
    const tokens = listCalls(api).map((c) => (c.pageToken ? Buffer.from(c.pageToken).toString() : undefined));
    expect(tokens).toEqual([undefined, '2']);
  });

  it('lets limit change between pages but not the filters', async () => {
    const api = seeded();
    const first = (await list(api, '?status=AUTHORIZED&limit=1')).body as ListBody;
    expect(refs(first)).toEqual(['s-4']);
    const rest = await list(api, `?status=AUTHORIZED&limit=50&cursor=${first.next_cursor}`);
    expect(refs(rest.body as ListBody)).toEqual(['other-3', 's-2']);
    for (const other of ['', '&status=PROCESSED', '&status=AUTHORIZED,PROCESSED', '&reference_prefix=s-']) {
      const query = other === '' ? '' : other.replace('&', '?');
      const sep = query === '' ? '?' : '&';
      const res = await list(api, `${query}${sep}cursor=${first.next_cursor}`);
      expect(res.status, other).toBe(400);
      expect(res.body.error.code).toBe('invalid_cursor');
    }
  });

  it('answers 400 invalid_cursor to a forged, altered or foreign cursor, and asks the engine nothing', async () => {
    const api = seeded();
    const cursor = ((await list(api, '?limit=1')).body as ListBody).next_cursor!;
    const flipped = `${cursor.slice(0, 10)}${cursor[10] === 'A' ? 'B' : 'A'}${cursor.slice(11)}`;
    // A cursor of another API (another fingerprint key) for the same filters.
    const other = makeApi({}, { fingerprintKey: 'another-fingerprint-key' });
    seed(other, 'x-1', '2026-03-01T10:01:00.000Z');
    seed(other, 'x-2', '2026-03-01T10:02:00.000Z');
    const foreign = ((await list(other, '?limit=1')).body as ListBody).next_cursor!;
    const forged = [
      flipped,
      foreign,
      Buffer.from('2').toString('base64url'),
      Buffer.concat([Buffer.of(1), Buffer.alloc(16), Buffer.from('2')]).toString('base64url'),
      `${cursor}A`,
      cursor.slice(0, -1),
    ];
    const before = listCalls(api).length;
    for (const c of forged) {
      const res = await list(api, `?limit=1&cursor=${c}`);
      expect(res.status, c).toBe(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_cursor' });
    }
    expect(listCalls(api).length).toBe(before);
  });

  it.each([
    ['?status=authorized', 'invalid_status'],
    ['?status=REFUNDED', 'invalid_status'],
    ['?status=', 'invalid_status'],
    ['?status=AUTHORIZED,', 'invalid_status'],
    ["?status=AUTHORIZED'%20OR%20'1'%3D'1", 'invalid_status'],
    ['?created_from=2026-03-01', 'invalid_date'],
    ['?created_from=2026-03-01T10:00:00', 'invalid_date'],
    ['?created_to=2026-02-30T10:00:00Z', 'invalid_date'],
    ['?created_to=2026-03-01T10:00:00.123456Z', 'invalid_date'],
    ['?created_to=yesterday', 'invalid_date'],
    // Year 0000 or 9999 shifted out of 0001-9999 by its offset: Temporal's query takes no such year.
    ['?created_from=0000-01-01T00:00:00%2B01:00', 'invalid_date'],
    ['?created_to=9999-12-31T23:00:00-14:00', 'invalid_date'],
    ['?created_from=1772359200000', 'invalid_date'],
    ['?created_from=2026-03-02T00:00:00Z&created_to=2026-03-01T00:00:00Z', 'invalid_date_range'],
    ['?created_from=2026-03-01T00:00:00Z&created_to=2026-03-01T05:30:00%2B05:30', 'invalid_date_range'],
    ["?reference_prefix=a'%20OR%20WorkflowType%20!%3D%20'", 'invalid_reference_prefix'],
    ['?reference_prefix=a%25', 'invalid_reference_prefix'],
    ['?reference_prefix=a%20b', 'invalid_reference_prefix'],
    ['?reference_prefix=', 'invalid_reference_prefix'],
    [`?reference_prefix=${'x'.repeat(51)}`, 'invalid_reference_prefix'],
    ['?limit=0', 'invalid_limit'],
    ['?limit=101', 'invalid_limit'],
    ['?limit=-1', 'invalid_limit'],
    ['?limit=1.5', 'invalid_limit'],
    ['?limit=ten', 'invalid_limit'],
    ['?limit=', 'invalid_limit'],
    ['?limit=007', 'invalid_limit'],
    ['?cursor=', 'invalid_cursor'],
    ['?cursor=not%20base64', 'invalid_cursor'],
    [`?cursor=${'A'.repeat(4097)}`, 'invalid_cursor'],
    ['?state=AUTHORIZED', 'unknown_parameter'],
    ['?status=AUTHORIZED&page=2', 'unknown_parameter'],
    ['?status=AUTHORIZED&status=CANCELLED', 'repeated_parameter'],
    ['?status[]=AUTHORIZED', 'unknown_parameter'],
  ])('answers %s with 400 %s and asks the engine nothing', async (query, code) => {
    const api = seeded();
    const res = await list(api, query);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code });
    expect(typeof res.body.error.message).toBe('string');
    expect(listCalls(api)).toEqual([]);
  });

  it('says which parameters it takes when given an unknown one, and names it only when safe to echo', async () => {
    const api = seeded();
    const named = await list(api, '?state=AUTHORIZED');
    expect(named.body.error.message).toBe(
      'unknown query parameter(s): state; the list takes status, created_from, created_to, reference_prefix, limit, cursor',
    );
    const card = await list(api, '?4012001037141112=1');
    expect(card.status).toBe(400);
    expect(card.text).not.toContain('4012001037141112');
  });

  it('needs the API key', async () => {
    const api = seeded();
    const res = await request(api.app).get('/v1/payments');
    expect(res.status).toBe(401);
    expect(listCalls(api)).toEqual([]);
  });

  it('answers 503 when the engine is unavailable', async () => {
    const api = seeded();
    api.engine.list = () => Promise.reject(new EngineUnavailableError('Temporal call failed: list'));
    const res = await list(api, '');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('engine_unavailable');
  });

  it('answers with the documented PaymentList schema', async () => {
    const api = seeded();
    api.engine.payments.get('s-1')!.state.amountCaptured = { value: 10_000, currency: 'INR' };
    api.engine.payments.get('s-1')!.state.pluralOrderId = 'v1-ord-s-1';
    const doc = buildOpenApiDocument({ serverUrl: 'x' });
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const validate = ajv.compile({ $ref: 'doc#/components/schemas/PaymentList' });
    for (const query of ['', '?limit=1', '?status=FAILED']) {
      const res = await list(api, query);
      expect(validate(res.body), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  it('hands the engine only typed filters, whatever the query parameters hold (property)', async () => {
    const api = seeded();
    const value = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom(...Object.values(PAYMENT_STATUS), 'AUTHORIZED,CANCELLED', '2026-03-01T10:00:00Z', '5', "'", '%'),
    );
    const params = fc.dictionary(
      fc.constantFrom('status', 'created_from', 'created_to', 'reference_prefix', 'limit', 'cursor', 'x'),
      value,
      { maxKeys: 4 },
    );
    await fc.assert(
      fc.asyncProperty(params, async (p) => {
        const before = listCalls(api).length;
        const res = await list(api, `?${new URLSearchParams(p).toString()}`);
        expect([200, 400]).toContain(res.status);
        const calls = listCalls(api).slice(before);
        expect(calls).toHaveLength(res.status === 200 ? 1 : 0);
        for (const c of calls) {
          for (const s of c.statuses ?? []) expect(Object.values(PAYMENT_STATUS)).toContain(s);
          if (c.referencePrefix !== undefined) expect(c.referencePrefix).toMatch(REFERENCE_PATTERN);
          expect(c.limit).toBeGreaterThanOrEqual(1);
          expect(c.limit).toBeLessThanOrEqual(100);
        }
      }),
      { numRuns: 300 },
    );
  });
});
