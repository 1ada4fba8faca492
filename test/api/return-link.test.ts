/**
 * Return links: the callback's redirect to the merchant return page is signed and short-lived when the API has a
 * signer (the dev stack's), and a link verifies only as signed, within its lifetime.
 */
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createReturnLinks } from '../../api';
import { signCallback } from '../../plural-client';
import { CARDS } from '../support/cards';
import { auth, CALLBACK_SECRET_HEX, cardPayment, makeApi, SUCCESS_URL } from './helpers';

const queryOf = (url: URL): Record<string, string> => Object.fromEntries(url.searchParams);

describe('return links', () => {
  it("the callback's redirect carries expires and a signature that verifies for that reference and status", async () => {
    const links = createReturnLinks({ key: randomBytes(32) });
    const api = makeApi({}, { returnLinks: links });
    const created = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(
        cardPayment('rl-1', {
          card: { number: CARDS.challenge, name: 'A', expiry_month: '01', expiry_year: '2031', cvv: '999' },
        }),
      );
    const fields = { order_id: String(created.body.order_id), status: 'AUTHORIZED' };
    const res = await request(api.app)
      .post('/v1/callbacks/plural')
      .type('form')
      .send({ ...fields, signature: signCallback(fields, CALLBACK_SECRET_HEX) });
    expect(res.status).toBe(303);
    const location = new URL(String(res.headers.location));
    expect(`${location.origin}${location.pathname}`).toBe(SUCCESS_URL);
    expect([...location.searchParams.keys()]).toEqual(['merchant_order_reference', 'status', 'expires', 'signature']);
    expect(links.verify(queryOf(location))).toEqual({
      ok: true,
      reference: 'rl-1',
      status: 'AUTHORIZED',
      merchantId: undefined,
    });
  });

  it('verifies only what it signed, and only until it expires', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const links = createReturnLinks({ key: randomBytes(32), ttlSeconds: 600, now: () => now });
    const url = new URL('https://shop.example/return?merchant_order_reference=order-1&status=PROCESSED');
    links.sign(url);
    const query = queryOf(url);
    expect(links.verify(query)).toMatchObject({ ok: true });
    expect(links.verify({ ...query, merchant_order_reference: 'order-2' })).toEqual({ ok: false, reason: 'invalid' });
    expect(links.verify({ ...query, status: 'FAILED' })).toEqual({ ok: false, reason: 'invalid' });
    expect(links.verify({ ...query, signature: undefined })).toEqual({ ok: false, reason: 'unsigned' });
    expect(links.verify({ ...query, signature: [query.signature, query.signature] })).toEqual({
      ok: false,
      reason: 'unsigned',
    });
    // A link that names its merchant signs it: it cannot be moved to another merchant's payment, nor dropped.
    const named = new URL(
      'https://shop.example/return?merchant_order_reference=order-1&status=PROCESSED&merchant_id=acme',
    );
    links.sign(named);
    const namedQuery = queryOf(named);
    expect(links.verify(namedQuery)).toEqual({
      ok: true,
      reference: 'order-1',
      status: 'PROCESSED',
      merchantId: 'acme',
    });
    expect(links.verify({ ...namedQuery, merchant_id: 'globex' })).toEqual({ ok: false, reason: 'invalid' });
    expect(links.verify({ ...namedQuery, merchant_id: undefined })).toEqual({ ok: false, reason: 'invalid' });
    expect(links.verify({ ...query, merchant_id: 'acme' })).toEqual({ ok: false, reason: 'invalid' });
    expect(links.verify({ ...namedQuery, merchant_id: ['acme', 'acme'] })).toEqual({ ok: false, reason: 'unsigned' });
    now += 600_000;
    expect(links.verify(query)).toEqual({ ok: false, reason: 'expired' });
    expect(() => createReturnLinks({ key: randomBytes(16) })).toThrow(/32 bytes/);
  });
});
