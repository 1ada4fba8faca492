/**
 * Payload encryption in the one-command dev stack: the stack makes a key and keeps it in its data dir (mode 0600),
 * a payment created through the API leaves no customer data in Temporal's stored history, the codec endpoint at
 * `<api>/codec` decrypts that history for an operator, and after a restart the same key still reads it.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CODEC_TOKEN, PAYLOAD_KEYS_FILE, startDevStack } from '../../dev/stack';
import type { DevStack } from '../../dev/stack';
import { createLogger } from '../../observability';
import { paymentWorkflowId } from '../../workflows/definitions';
import { CARDS } from '../support/cards';

const EMAIL = 'meenakshi.sundaram.devstack@example.in';
const LAST_NAME = 'Sundaramoorthy';
const PHONE = '9123405678';

let dataDir: string;
let stack: DevStack | undefined;

const env = (dir: string) => ({
  DEV_DATA_DIR: dir,
  DEV_TEMPORAL_PORT: '0',
  // Every port ephemeral: the tests run beside a developer's `npm start`, which holds the default ones.
  DEV_TEMPORAL_UI_PORT: '0',
  DEV_SANDBOX_PORT: '0',
  API_PORT: '0',
  WORKER_METRICS_PORT: '0',
  LOG_LEVEL: 'silent',
});
const logger = createLogger({ name: 'test', level: 'silent' });

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'codec-dev-stack-'));
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function api(
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${stack!.info.api}${route}`, {
    method,
    headers: { authorization: `Bearer ${stack!.info.devApiKey ?? ''}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The raw history bytes and its payloads in codec-server JSON, straight from the stack's Temporal. */
async function storedHistory(
  workflowId: string,
): Promise<{ bytes: Buffer; payloads: { metadata: Record<string, string>; data: string }[] }> {
  const connection = await Connection.connect({ address: stack!.info.temporal.address });
  try {
    const page = await connection.workflowService.getWorkflowExecutionHistory({
      namespace: stack!.info.temporal.namespace,
      execution: { workflowId },
    });
    const bytes = Buffer.from(
      temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse.encode(page).finish(),
    );
    const payloads: Payload[] = [];
    const walk = (node: unknown): void => {
      if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return;
      if ('metadata' in node && 'data' in node && (node as Payload).data instanceof Uint8Array) {
        payloads.push(node as Payload);
        return;
      }
      for (const value of Object.values(node)) walk(value);
    };
    walk(page.history);
    return {
      bytes,
      payloads: payloads.map((p) => ({
        metadata: Object.fromEntries(
          Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
        ),
        data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
      })),
    };
  } finally {
    await connection.close();
  }
}

async function decodeViaEndpoint(
  payloads: unknown[],
  token = DEV_CODEC_TOKEN,
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${stack!.info.codec!.endpoint}/decode`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-namespace': 'default' },
    body: JSON.stringify({ payloads }),
  });
  const body = (await res.json()) as { payloads?: { data: string }[] };
  return {
    status: res.status,
    text: (body.payloads ?? []).map((p) => Buffer.from(p.data, 'base64').toString('utf8')).join('\n'),
  };
}

describe('dev stack payload encryption', () => {
  const reference = `codec-dev-${Date.now()}`;
  let firstKeyFile: string;

  it('makes a key once, keeps it in the data dir with mode 0600, and prints the codec endpoint', async () => {
    stack = await startDevStack({ env: env(dataDir), logger });
    const codec = stack.info.codec;
    expect(codec).toMatchObject({ endpoint: `${stack.info.api}/codec`, devToken: DEV_CODEC_TOKEN });
    expect(codec?.keyFile).toBe(path.join(dataDir, PAYLOAD_KEYS_FILE));
    expect((await stat(codec!.keyFile!)).mode & 0o777).toBe(0o600);
    firstKeyFile = await readFile(codec!.keyFile!, 'utf8');
    expect(firstKeyFile.trim()).toMatch(/^dev-\d{8}:[A-Za-z0-9+/]{43}=$/);
    expect(codec?.keyIds).toEqual([firstKeyFile.split(':')[0]]);
  }, 120_000);

  it('stores a payment made through the API without the customer data, and the codec endpoint reads it', async () => {
    const created = await api('POST', '/v1/payments', {
      merchant_order_reference: reference,
      amount: { value: 25_000, currency: 'INR' },
      pre_auth: true,
      card: { number: CARDS.nativeOtp, name: 'Test Holder', expiry_month: '12', expiry_year: '2035', cvv: '7391' },
      customer: {
        first_name: 'Meenakshi',
        last_name: LAST_NAME,
        email: EMAIL,
        mobile_number: PHONE,
        country_code: '91',
      },
    });
    expect(created.status).toBe(201);
    const { bytes, payloads } = await storedHistory(paymentWorkflowId(reference));
    expect(bytes.includes(Buffer.from('binary/encrypted'))).toBe(true);
    for (const needle of [EMAIL, LAST_NAME, PHONE, CARDS.nativeOtp]) {
      expect(bytes.includes(Buffer.from(needle))).toBe(false);
    }
    const decoded = await decodeViaEndpoint(payloads);
    expect(decoded.status).toBe(200);
    expect(decoded.text).toContain(EMAIL);
    expect(decoded.text).toContain(LAST_NAME);
    expect((await decodeViaEndpoint(payloads, 'wrong-token-0123456789abcdef0123456789')).status).toBe(403);
  }, 60_000);

  it('after a restart, reuses the kept key: the earlier history still decodes', async () => {
    await stack!.stop();
    stack = await startDevStack({ env: env(dataDir), logger });
    expect(await readFile(path.join(dataDir, PAYLOAD_KEYS_FILE), 'utf8')).toBe(firstKeyFile);
    const { payloads } = await storedHistory(paymentWorkflowId(reference));
    const decoded = await decodeViaEndpoint(payloads);
    expect(decoded.status).toBe(200);
    expect(decoded.text).toContain(EMAIL);
    // The payment itself is readable again through the API (its query answer goes through the codec).
    const got = await api('GET', `/v1/payments/${reference}`);
    expect(got.status).toBe(200);
    expect(got.body.merchant_order_reference).toBe(reference);
  }, 120_000);
});
