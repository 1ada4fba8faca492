import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CREDENTIALS } from '../../plural-sandbox';
import { CARDS } from '../support/cards';
import { Api, orderBody, pendingOrder, sleep, uniqueRef } from './helpers';

const MAIN = join(__dirname, '..', '..', 'plural-sandbox', 'main.ts');

function run(env: Record<string, string | undefined>): {
  /** The two start-up lines. */
  banner: Promise<string>;
  exit: Promise<number | null>;
  stderr: () => string;
  kill: () => void;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    // An undefined value unsets the variable (spawn ignores undefined entries).
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const banner = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      // The start-up banner: the listening line and the control token line.
      const lines = out.split('\n');
      if (lines.length > 2) resolve(lines.slice(0, 2).join('\n'));
    });
    child.once('exit', () => reject(new Error(`exited before printing: ${err}`)));
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { banner, exit, stderr: () => err, kill: () => child.kill('SIGTERM') };
}

/** The control token the start-up banner printed. */
const controlTokenOf = (banner: string): string => /control API token \(made at start\): (\S+)/.exec(banner)?.[1] ?? '';

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** This machine's first non-loopback IPv4 address, if it has one. */
const externalIpv4 = Object.values(networkInterfaces())
  .flat()
  .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;

describe('npm run sandbox (plural-sandbox/main.ts)', () => {
  it('binds loopback only when SANDBOX_HOST is unset', async () => {
    const proc = run({ SANDBOX_PORT: '0', SANDBOX_HOST: undefined });
    try {
      const line = await proc.banner;
      const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line)?.[1]);
      expect(await accepts('127.0.0.1', port)).toBe(true);
      // Bound to 127.0.0.1 alone, not to every interface: another loopback address (Linux routes all of 127/8 to lo) and
      // this machine's external address, when it has one, are refused.
      expect(await accepts('127.0.0.2', port)).toBe(false);
      if (externalIpv4 !== undefined) expect(await accepts(externalIpv4, port)).toBe(false);
      expect(line).toContain('bound to 127.0.0.1');
    } finally {
      proc.kill();
    }
    expect(await proc.exit).toBe(0);
  });

  it('starts from environment variables, applies fault settings, and stops cleanly on SIGTERM', async () => {
    const proc = run({
      SANDBOX_PORT: '0',
      SANDBOX_HOST: '127.0.0.1',
      SANDBOX_FAULT_PATHS: '/capture,/cancel',
      SANDBOX_FAULT_ERROR_RATE: '0.5',
    });
    try {
      const line = await proc.banner;
      const url = /listening on (http:\/\/\S+)/.exec(line)?.[1];
      expect(url).toBeDefined();
      expect(line).not.toContain('secret');
      const control = { authorization: `Bearer ${controlTokenOf(line)}` };
      const faults = (await (await fetch(`${url!}/__sandbox/faults`, { headers: control })).json()) as {
        paths: string[];
        errorRate: number;
      };
      expect(faults).toMatchObject({ paths: ['/capture', '/cancel'], errorRate: 0.5 });
    } finally {
      proc.kill();
    }
    expect(await proc.exit).toBe(0);
  });

  it('applies the settlement, expiry, refund, callback and checkout variables', async () => {
    const proc = run({
      SANDBOX_PORT: '0',
      SANDBOX_HOST: '127.0.0.1',
      SANDBOX_SALE_THROUGH_AUTHORIZED: 'true',
      SANDBOX_SALE_SETTLE_DELAY_MS: '600000',
      SANDBOX_ORDER_EXPIRY_SECONDS: '0.2',
      SANDBOX_REFUND_PENDING_MS: '600000',
      SANDBOX_CALLBACK_STATUS_FIELD: 'status',
      SANDBOX_CHECKOUT_PRE_AUTH_OTHER_METHODS: 'reject',
    });
    try {
      const line = await proc.banner;
      const url = /listening on (http:\/\/\S+)/.exec(line)?.[1];
      const api = new Api(url!, undefined, controlTokenOf(line));
      const token = await api.post('/api/auth/v1/token', {
        client_id: DEFAULT_CREDENTIALS.clientId,
        client_secret: DEFAULT_CREDENTIALS.clientSecret,
        grant_type: 'client_credentials',
      });
      api.token = token.body.access_token;

      const sale = await pendingOrder(api, { preAuth: false, card: CARDS.challenge });
      const done = await api.post(`/__sandbox/payments/${sale.paymentId}/authenticate`, { result: 'approve' });
      expect(done.body.status).toBe('AUTHORIZED');
      expect(done.body.callback.fields).toMatchObject({ status: 'AUTHORIZED' });
      expect(done.body.callback.fields.payment_status).toBeUndefined();
      expect((await api.post(`/__sandbox/orders/${sale.orderId}/settle`)).body.status).toBe('PROCESSED');
      const refund = await api.post(`/api/pay/v1/refunds/${sale.orderId}`, {
        merchant_order_reference: uniqueRef('rf'),
        order_amount: { value: 1_000, currency: 'INR' },
      });
      expect(refund.body.data.status).toBe('PENDING');

      const checkout = await api.post(
        '/api/checkout/v1/orders',
        orderBody({ pre_auth: true, allowed_payment_methods: ['CARD', 'UPI'] }),
      );
      expect(checkout.status).toBe(400);

      const unpaid = await api.post('/api/pay/v1/orders', orderBody());
      await sleep(400);
      expect((await api.get(`/api/pay/v1/orders/${unpaid.body.data.order_id as string}`)).body.data.status).toBe(
        'FAILED',
      );
    } finally {
      proc.kill();
    }
    expect(await proc.exit).toBe(0);
  });

  it('refuses a bad environment with exit code 2 naming the variable', async () => {
    const proc = run({ SANDBOX_PORT: 'eighty', SANDBOX_HOST: '127.0.0.1' });
    proc.banner.catch(() => undefined);
    expect(await proc.exit).toBe(2);
    expect(proc.stderr()).toContain('SANDBOX_PORT');
  });

  it('refuses a webhook URL off loopback at start with exit code 2 and one line naming it', async () => {
    const proc = run({ SANDBOX_PORT: '0', SANDBOX_HOST: '127.0.0.1', SANDBOX_WEBHOOK_URL: 'http://10.0.0.7/hook' });
    proc.banner.catch(() => undefined);
    expect(await proc.exit).toBe(2);
    expect(proc.stderr()).toMatch(/^plural-sandbox: option webhookUrl must point at loopback[^\n]*\n$/);
  });

  it('refuses a flag that is not true/false/1/0', async () => {
    const proc = run({ SANDBOX_PORT: '0', SANDBOX_HOST: '127.0.0.1', SANDBOX_SALE_THROUGH_AUTHORIZED: 'yes' });
    proc.banner.catch(() => undefined);
    expect(await proc.exit).toBe(2);
    expect(proc.stderr()).toContain('SANDBOX_SALE_THROUGH_AUTHORIZED');
  });
});
