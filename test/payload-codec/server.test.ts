import { randomBytes } from 'node:crypto';
import { DefaultPayloadConverter } from '@temporalio/common';
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createCodecRouter, EncryptionCodec } from '../../payload-codec';
import type { CodecAuth } from '../../payload-codec';

const KEY = { id: 'ops-1', key: randomBytes(32) };
const TOKEN = 't'.repeat(40);
const UI_ORIGIN = 'http://localhost:8233';
const converter = new DefaultPayloadConverter();
const codec = new EncryptionCodec({ keys: [KEY] });

function app(auth: CodecAuth = { kind: 'token', tokens: ['other-token-0123456789abcdef0123456789', TOKEN] }) {
  const a = express();
  a.use('/codec', createCodecRouter({ codec, auth, corsOrigins: [UI_ORIGIN], bodyLimitBytes: 64 * 1024 }));
  return a;
}

const toJson = (p: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});
const fromJson = (p: { metadata: Record<string, string>; data: string }) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data, 'base64'),
});

const auth = { Authorization: `Bearer ${TOKEN}` };

describe('codec endpoint', () => {
  it('decodes what the workers encrypted, in the codec-server JSON format', async () => {
    const encrypted = await codec.encode([converter.toPayload({ name: 'Asha Rao' }), converter.toPayload(42)]);
    const res = await request(app())
      .post('/codec/decode')
      .set(auth)
      .set('X-Namespace', 'default')
      .send({ payloads: encrypted.map(toJson) });
    expect(res.status).toBe(200);
    const payloads = (res.body as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads;
    expect(payloads.map((p) => converter.fromPayload(fromJson(p)))).toEqual([{ name: 'Asha Rao' }, 42]);
  });

  it('encodes, and the result decodes back (also under /<namespace>/ as the CLI templates it)', async () => {
    const plain = toJson(converter.toPayload({ email: 'asha@example.in' }));
    const enc = await request(app())
      .post('/codec/default/encode')
      .set(auth)
      .send({ payloads: [plain] });
    expect(enc.status).toBe(200);
    const encoded = (enc.body as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads;
    expect(Buffer.from(encoded[0]!.data, 'base64').toString('utf8')).not.toContain('asha@example.in');
    const dec = await request(app()).post('/codec/decode').set(auth).send({ payloads: encoded });
    expect((dec.body as { payloads: unknown[] }).payloads).toEqual([plain]);
  });

  it('answers the Temporal UI preflight for an allowed origin with the headers the UI sends', async () => {
    const res = await request(app())
      .options('/codec/decode')
      .set('Origin', UI_ORIGIN)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type,x-namespace,authorization');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(UI_ORIGIN);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-allow-methods']).toContain('POST');
    const allowed = String(res.headers['access-control-allow-headers']).split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['content-type', 'x-namespace', 'authorization']));
    expect(res.headers.vary).toContain('Origin');
  });

  it('refuses other origins (preflight and request) and sends no CORS headers to them', async () => {
    const pre = await request(app()).options('/codec/decode').set('Origin', 'https://evil.example');
    expect(pre.status).toBe(403);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    const post = await request(app())
      .post('/codec/decode')
      .set('Origin', 'https://evil.example')
      .set(auth)
      .send({ payloads: [] });
    expect(post.status).toBe(403);
    expect((post.body as { error: { code: string } }).error.code).toBe('origin_not_allowed');
  });

  it('sets the CORS headers on the real request from the allowed origin', async () => {
    const res = await request(app()).post('/codec/decode').set('Origin', UI_ORIGIN).set(auth).send({ payloads: [] });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(UI_ORIGIN);
  });

  it('401 without a bearer token, 403 with a wrong one', async () => {
    const none = await request(app()).post('/codec/decode').send({ payloads: [] });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect((none.body as { error: { code: string } }).error.code).toBe('missing_token');
    const basic = await request(app())
      .post('/codec/decode')
      .set('Authorization', `Basic ${TOKEN}`)
      .send({ payloads: [] });
    expect(basic.status).toBe(401);
    const wrong = await request(app())
      .post('/codec/decode')
      .set('Authorization', `Bearer ${'x'.repeat(40)}`)
      .send({ payloads: [] });
    expect(wrong.status).toBe(403);
    expect((wrong.body as { error: { code: string } }).error.code).toBe('invalid_token');
    expect(JSON.stringify(wrong.body)).not.toContain(TOKEN);
  });

  it("takes no token from the trusted UI's page on this machine, but does through a relay (a tunnel, a rebound name)", async () => {
    const trusting = app({ kind: 'token', tokens: [TOKEN], trustedOrigins: [UI_ORIGIN] });
    const from = (host: string) =>
      request(trusting).post('/codec/decode').set('Origin', UI_ORIGIN).set('Host', host).send({ payloads: [] });
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', 'LOCALHOST']) {
      expect((await from(host)).status, host).toBe(200);
    }
    // The same page's request relayed to the port from outside carries the public name; a DNS-rebinding page its own.
    for (const host of ['pay-dev.example.com', 'localhost.example.com:8080', '127.0.0.1.nip.io', '[::2]:8080']) {
      const res = await from(host);
      expect(res.status, host).toBe(401);
      expect((res.body as { error: { code: string } }).error.code).toBe('missing_token');
    }
    // Another origin from this machine is not trusted at all.
    const other = await request(trusting).post('/codec/decode').set('Host', 'localhost:8080').send({ payloads: [] });
    expect(other.status).toBe(401);
  });

  it('with auth none, serves without a token', async () => {
    const res = await request(app({ kind: 'none' }))
      .post('/codec/decode')
      .send({ payloads: [] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ payloads: [] });
  });

  it('reads {} as no payloads, as protobuf JSON leaves an empty list out (the CLI encodes a query without arguments so)', async () => {
    for (const operation of ['encode', 'decode']) {
      const res = await request(app()).post(`/codec/default/${operation}`).set(auth).send({});
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ payloads: [] });
    }
  });

  it.each([
    ['not JSON', '{"payloads": [', 'application/json', 400, 'invalid_json'],
    ['an unknown field', '{"items": []}', 'application/json', 400, 'invalid_payloads'],
    ['payloads not an array', '{"payloads": {}}', 'application/json', 400, 'invalid_payloads'],
    [
      'data not base64',
      '{"payloads": [{"metadata": {}, "data": "not base64!"}]}',
      'application/json',
      400,
      'invalid_payloads',
    ],
    [
      'metadata value not a string',
      '{"payloads": [{"metadata": {"encoding": 5}}]}',
      'application/json',
      400,
      'invalid_payloads',
    ],
    ['a JSON array', '[]', 'application/json', 400, 'invalid_payloads'],
    ['JSON null', 'null', 'application/json', 400, 'invalid_payloads'],
    ['form body', 'payloads=1', 'application/x-www-form-urlencoded', 415, 'unsupported_media_type'],
  ])('rejects %s with a clear 4xx JSON error', async (_what, body, type, status, code) => {
    const res = await request(app()).post('/codec/decode').set(auth).set('Content-Type', type).send(body);
    expect(res.status).toBe(status);
    const error = (res.body as { error: { code: string; message: string } }).error;
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(10);
  });

  it('rejects a body over the limit with 413', async () => {
    const big = { payloads: [{ metadata: {}, data: Buffer.alloc(80 * 1024).toString('base64') }] };
    const res = await request(app()).post('/codec/encode').set(auth).send(big);
    expect(res.status).toBe(413);
    expect((res.body as { error: { code: string } }).error.code).toBe('body_too_large');
  });

  it('a payload under an unknown key id or tampered gets 422 naming the key id, never key material', async () => {
    const [p] = await new EncryptionCodec({ keys: [{ id: 'gone-key', key: randomBytes(32) }] }).encode([
      converter.toPayload('x'),
    ]);
    const unknown = await request(app())
      .post('/codec/decode')
      .set(auth)
      .send({ payloads: [toJson(p!)] });
    expect(unknown.status).toBe(422);
    expect((unknown.body as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'unknown_key_id',
      message: expect.stringContaining('gone-key') as unknown,
    });
    const [q] = await codec.encode([converter.toPayload('y')]);
    const data = Buffer.from(q!.data!);
    data[15] = data[15]! ^ 0xff;
    const tampered = await request(app())
      .post('/codec/decode')
      .set(auth)
      .send({ payloads: [toJson({ ...q, data })] });
    expect(tampered.status).toBe(422);
    expect((tampered.body as { error: { code: string } }).error.code).toBe('decryption_failed');
    const bodies = JSON.stringify([unknown.body, tampered.body]);
    expect(bodies).not.toContain(KEY.key.toString('base64'));
    expect(bodies).not.toContain(KEY.key.toString('hex'));
  });

  it('answers other methods with 405 and unknown paths with 404', async () => {
    const get = await request(app()).get('/codec/decode').set(auth);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST, OPTIONS');
    const other = await request(app()).post('/codec/unknown/path/here').set(auth).send({ payloads: [] });
    expect(other.status).toBe(404);
  });
});
