/** Response bodies adapted from Plural's integration guides (test/fixtures/plural-docs), plus MockAgent helpers. */
import { MockAgent } from 'undici';
import type { Interceptable } from 'undici';
import type { PluralLogger } from '../../plural-client';

export const BASE_URL = 'https://plural.test';
export const CLIENT_ID = 'a17ce30e-f88e-4f81-ada1-c3b4909ed232';
export const CLIENT_SECRET = 'fgwei7egyhuggwp39w8rh-secret';
export const ORDER_ID = 'v1-4405071524-aa-qlAtAf';
export const PAYMENT_ID = 'v1-5307071124-aa-dmkVNf-cc-c';
export const CARD_NUMBER = '4012001037141112';
export const CVV = '065';

export function order(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    order_id: ORDER_ID,
    merchant_order_reference: '112345',
    type: 'CHARGE',
    status: 'CREATED',
    merchant_id: '104359',
    order_amount: { value: 1100, currency: 'INR' },
    pre_auth: true,
    notes: 'order1',
    callback_url: 'https://sample-callback-url',
    purchase_details: { customer: { email_id: 'kevin.bob@example.com' }, merchant_metadata: { key1: 'DD' } },
    payments: [],
    created_at: '2024-07-15T05:44:51.174Z',
    updated_at: '2024-07-15T05:44:51.174Z',
    ...overrides,
  };
}

export function payment(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: PAYMENT_ID,
    merchant_payment_reference: '008cf04b-a770-4777-854e-b1e6c1230609',
    status: 'PENDING',
    payment_amount: { value: 1100, currency: 'INR' },
    payment_method: 'CARD',
    payment_option: {
      card_data: { card_type: 'CREDIT', network_name: 'VISA', issuer_name: 'KOTAK', token_txn_type: 'ALT_TOKEN' },
    },
    created_at: '2024-07-11T07:53:43.358Z',
    updated_at: '2024-07-11T07:56:18.044Z',
    ...overrides,
  };
}

export const envelope = (data: unknown) => ({ data });

/** A request as the MockAgent reply callback sees it. */
export interface SeenRequest {
  path: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

function normalizeHeaders(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i]).toLowerCase()] = String(raw[i + 1]);
  } else if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) out[k.toLowerCase()] = String(v);
  }
  return out;
}

/** Reply callback that records the request and answers with `statusCode` and `data`. */
export function recordingReply(seen: SeenRequest[], statusCode: number, data: unknown) {
  return (opts: { path: string; method: string; headers?: unknown; body?: unknown }) => {
    const text = typeof opts.body === 'string' ? opts.body : undefined;
    seen.push({
      path: opts.path,
      method: opts.method,
      headers: normalizeHeaders(opts.headers),
      body: text === undefined ? undefined : (JSON.parse(text) as unknown),
    });
    return { statusCode, data: typeof data === 'string' ? data : JSON.stringify(data) };
  };
}

export function newMockAgent(): { agent: MockAgent; pool: Interceptable } {
  const agent = new MockAgent();
  agent.disableNetConnect();
  return { agent, pool: agent.get(BASE_URL) };
}

/** Intercept one token request; returns the list its requests are recorded in. */
export function interceptToken(
  pool: Interceptable,
  body: unknown = { access_token: 'access-token-1', expires_in: 3600 },
  statusCode = 200,
): SeenRequest[] {
  const seen: SeenRequest[] = [];
  pool.intercept({ path: '/api/auth/v1/token', method: 'POST' }).reply(recordingReply(seen, statusCode, body));
  return seen;
}

/** A logger that keeps every line, to assert on what was (not) logged. */
export function memoryLogger(): PluralLogger & { lines: unknown[] } {
  const lines: unknown[] = [];
  const push = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj, msg });
  return { lines, debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') };
}
