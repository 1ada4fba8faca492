import { randomBytes } from 'node:crypto';
import { DefaultPayloadConverter } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCodecServerConfig } from '../../config';
import { createLogger } from '../../observability';
import { EncryptionCodec } from '../../payload-codec';
import { main, startCodecServer } from '../../payload-codec/main';
import type { RunningCodecServer } from '../../payload-codec/main';

const KEY = randomBytes(32);
const TOKEN = randomBytes(24).toString('hex');
const converter = new DefaultPayloadConverter();
let server: RunningCodecServer | undefined;

afterAll(async () => {
  await server?.stop();
});

describe('codec server entry point', () => {
  it('exits 78 when PAYLOAD_KEYS or the tokens are missing', async () => {
    expect(await main({ LOG_LEVEL: 'silent' })).toBe(78);
    expect(await main({ LOG_LEVEL: 'silent', PAYLOAD_KEYS: `k:${KEY.toString('base64')}` })).toBe(78);
  });

  it('serves /healthz and decodes with a configured token', async () => {
    const config = loadCodecServerConfig({
      PAYLOAD_KEYS: `ops-1:${KEY.toString('base64')}`,
      CODEC_SERVER_TOKENS: TOKEN,
      CODEC_SERVER_PORT: '0',
    });
    server = await startCodecServer(config, createLogger({ name: 'test', level: 'silent' }));
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const [p] = await new EncryptionCodec({ keys: [{ id: 'ops-1', key: KEY }] }).encode([
      converter.toPayload({ email: 'ops@example.in' }),
    ]);
    const body = {
      payloads: [
        {
          metadata: Object.fromEntries(
            Object.entries(p!.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          ),
          data: Buffer.from(p!.data!).toString('base64'),
        },
      ],
    };
    const res = await fetch(`${server.url}/decode`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { payloads: { data: string }[] };
    expect(Buffer.from(out.payloads[0]!.data, 'base64').toString('utf8')).toContain('ops@example.in');
    const denied = await fetch(`${server.url}/decode`, { method: 'POST', body: JSON.stringify(body) });
    expect(denied.status).toBe(401);
  });

  it('shows a plain-text payload as it is (what the workers refuse, the operator must be able to read)', async () => {
    const plain = converter.toPayload({ orderId: 'v1-from-the-cli', status: 'PROCESSED' });
    const res = await fetch(`${server!.url}/decode`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        payloads: [
          {
            metadata: { encoding: Buffer.from('json/plain').toString('base64') },
            data: Buffer.from(plain.data!).toString('base64'),
          },
        ],
      }),
    });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { payloads: { data: string }[] };
    expect(Buffer.from(out.payloads[0]!.data, 'base64').toString('utf8')).toContain('v1-from-the-cli');
  });
});
