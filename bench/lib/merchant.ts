/** The merchant side of a benchmark: JSON calls to the API over one keep-alive undici Pool. */
import { Pool } from 'undici';
import { testCardByKey } from '../../plural-sandbox/cards';
import { DEFAULT_OTP } from '../../plural-sandbox/options';

/** A JSON reply. */
export interface MerchantReply {
  status: number;
  body: { status?: unknown; error?: { code?: unknown; message?: unknown } } & Record<string, unknown>;
}

/** A merchant API client; `close()` when done. */
export interface MerchantClient {
  call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<MerchantReply>;
  close(): Promise<void>;
}

/** One Pool to `apiUrl` with `connections` sockets, sending `Authorization: Bearer <apiKey>`. */
export function merchantClient(apiUrl: string, apiKey: string, connections: number): MerchantClient {
  const url = new URL(apiUrl);
  const pool = new Pool(url.origin, { connections, pipelining: 1 });
  const prefix = url.pathname.replace(/\/+$/, '');
  return {
    async call(method, path, body) {
      const res = await pool.request({
        method,
        path: `${prefix}${path}`,
        headers: {
          authorization: `Bearer ${apiKey}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.body.text();
      return { status: res.statusCode, body: text ? (JSON.parse(text) as MerchantReply['body']) : {} };
    },
    close: () => pool.close(),
  };
}

/** A card from the sandbox's own table (`plural-sandbox/cards.ts`), by key. */
function sandboxCardNumber(key: string): string {
  const card = testCardByKey(key);
  if (!card) throw new Error(`the sandbox has no test card '${key}' (plural-sandbox/cards.ts)`);
  return card.number;
}

/** The sandbox's native-OTP test card (approves with the sandbox's OTP). */
export const NATIVE_OTP_CARD = {
  number: sandboxCardNumber('visa-native-otp'),
  name: 'Bench Card',
  expiry_month: '12',
  expiry_year: '2035',
  cvv: '739',
} as const;
export const SANDBOX_OTP = DEFAULT_OTP.correctOtp;
export const BENCH_AMOUNT = { value: 10_000, currency: 'INR' } as const;

/** Why a step of a payment did not end as expected: status and error code only (never a body with card data). */
export function unexpected(step: string, reply: MerchantReply, want: string): string {
  const code = typeof reply.body.error?.code === 'string' ? ` ${reply.body.error.code}` : '';
  const status = typeof reply.body.status === 'string' ? reply.body.status : '?';
  return `${step}: HTTP ${reply.status}${code}, payment ${status} (wanted ${want})`;
}
