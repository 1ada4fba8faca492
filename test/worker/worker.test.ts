/**
 * The payment worker against the official Temporal dev server and the Plural sandbox: built in-process with
 * createPaymentWorker (runtime logs forwarded, Prometheus metrics served), and run as `worker/main.ts` in a child
 * process with a cross-process card vault. Each runs one payment end to end and shuts down cleanly.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, NativeConnection } from '@temporalio/worker';
import type { WorkflowBundle } from '@temporalio/worker';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCardVaultRouter, InMemoryCardVault, listenCardVault } from '../../card-vault';
import type { CardVault, CardVaultRouter, CardVaultServer } from '../../card-vault';
import { CARDS } from '../support/cards';
import { waitForPaymentStatus } from '../support/payment-state';
import { sharedTemporalAddress, startOwnDevServer } from '../support/temporal';
import { waitFor } from '../support/wait';
import { createLogger } from '../../observability';
import { createDataConverter } from '../../payload-codec';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import { createPaymentWorker, defaultWorkflowsPath } from '../../worker/worker';
import { installRuntime } from '../../worker/runtime';
import { ensureSearchAttributes } from '../../worker/search-attributes';
import { paymentWorkflowId, submitOtpUpdate } from '../../workflows/definitions';
import type { PaymentState, PaymentWorkflowInput } from '../../workflows/definitions';
import { pluralClientFor } from '../support/plural';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const CVV = '739';
const CORRECT_OTP = '123456';
const VAULT_TOKEN = 'worker-test-vault-token-0123456789abcdef';
const PAYLOAD_KEY = { id: 'worker-test', key: randomBytes(32) };
const PAYLOAD_KEYS = `${PAYLOAD_KEY.id}:${PAYLOAD_KEY.key.toString('base64')}`;

let sandbox: RunningSandbox;
let connection: Connection;
let client: Client;
let bundle: WorkflowBundle;
let bundleDir: string;
let bundlePath: string;
let metricsPort: number;
const appLines: Record<string, unknown>[] = [];

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  // The runtime is process-wide: install it first, with this test's capturing logger and a metrics port.
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        appLines.push(JSON.parse(line) as Record<string, unknown>);
      }
      cb();
    },
  });
  metricsPort = await freePort();
  installRuntime({
    logger: createLogger({ level: 'info', destination }),
    logLevel: 'info',
    metrics: { host: '127.0.0.1', port: metricsPort },
  });
  sandbox = await startSandbox({ seed: 11 });
  connection = await Connection.connect({ address: sharedTemporalAddress() });
  client = new Client({ connection });
  bundle = {
    code: (await bundleWorkflowCode({ workflowsPath: defaultWorkflowsPath(), logger: new DefaultLogger('WARN') })).code,
  };
  bundleDir = await mkdtemp(path.join(tmpdir(), 'worker-test-'));
  bundlePath = path.join(bundleDir, 'workflow-bundle.js');
  await writeFile(bundlePath, bundle.code);
}, 180_000);

afterAll(async () => {
  await connection?.close();
  await Promise.all([sandbox?.stop()]);
  if (bundleDir) await rm(bundleDir, { recursive: true, force: true });
});

/** Puts a card in `vault`, starts a payment on `taskQueue`, submits the OTP and returns the final state. */
async function payWithOtp(
  vault: CardVault,
  taskQueue: string,
  ref: string,
  via: Client = client,
): Promise<PaymentState> {
  const cardHandle = await vault.put(
    { number: CARDS.nativeOtp, cvv: CVV, name: 'Test Holder', expiryMonth: '12', expiryYear: '2035' },
    15 * 60_000,
  );
  const input: PaymentWorkflowInput = {
    merchantOrderReference: ref,
    amount: { value: 5000, currency: 'INR' },
    preAuth: false,
    method: { kind: 'card', cardHandle, last4: CARDS.nativeOtp.slice(-4) },
    callbackUrl: 'https://merchant.example/callback',
    // A processed payment's workflow completes after its refund window (180 days by default).
    durations: { refundWindowMs: 1_000 },
  };
  const handle = await via.workflow.start('paymentWorkflow', {
    taskQueue,
    workflowId: paymentWorkflowId(ref),
    args: [input],
  });
  await waitForPaymentStatus(handle, 'AWAITING_OTP', { timeoutMs: 60_000 });
  // The OTP travels like the card: through the vault, never in an Update's payload.
  const otpHandle = await vault.put({ otp: CORRECT_OTP }, 10 * 60_000);
  await handle.executeUpdate(submitOtpUpdate, { args: [{ otpHandle }], updateId: 'otp-1' });
  const final = (await handle.result()) as PaymentState;
  const history = JSON.stringify(await handle.fetchHistory());
  expect(history).not.toContain(CARDS.nativeOtp);
  expect(history).not.toContain(Buffer.from(CARDS.nativeOtp).toString('base64'));
  return final;
}

describe('createPaymentWorker (in-process)', () => {
  it('starts, serves metrics, runs a payment with the in-memory vault and shuts down cleanly', async () => {
    const taskQueue = `payments-inproc-${Date.now()}`;
    const logger = createLogger({ level: 'silent' });
    const nativeConnection = await NativeConnection.connect({ address: sharedTemporalAddress() });
    const plural = pluralClientFor(sandbox, 5_000);
    const vault = new InMemoryCardVault();
    try {
      const worker = await createPaymentWorker({
        connection: nativeConnection,
        taskQueue,
        plural,
        vault,
        logger,
        workflowBundle: bundle,
      });
      expect(worker.options.taskQueue).toBe(taskQueue);
      const running = worker.run();
      const final = await payWithOtp(vault, taskQueue, `inproc-${Date.now()}`);
      expect(final.status).toBe('PROCESSED');
      expect(final.amountCaptured).toEqual({ value: 5000, currency: 'INR' });
      expect(vault.store.size).toBe(0); // the activity destroyed the card once the payment was created
      expect(worker.getState()).toBe('RUNNING');
      // The runtime's Prometheus endpoint lives as long as a native connection or worker does.
      const res = await request(`http://127.0.0.1:${metricsPort}/metrics`);
      const text = await res.body.text();
      expect(res.statusCode).toBe(200);
      expect(text).toMatch(/^temporal_\w+/m);
      worker.shutdown();
      await running;
      expect(worker.getState()).toBe('STOPPED');
    } finally {
      vault.close();
      await plural.close();
      await nativeConnection.close();
    }
  }, 120_000);

  it('registers the payment search attributes once, and finds them there the next time', async () => {
    const PAYMENT_ATTRIBUTES = [
      'PaymentStatus',
      'MerchantOrderReference',
      'PluralOrderId',
      'PaymentParkedOperation',
      'MerchantId',
      'PaymentUpdatedAt',
      'PaymentCreatedAt',
    ];
    // A server of its own, started without the payment search attributes (the shared one has them registered).
    const server = await startOwnDevServer({ searchAttributes: [] });
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const logger = createLogger({ level: 'silent' });
    try {
      const first = await ensureSearchAttributes(nativeConnection, 'default', logger);
      expect(first).toEqual({
        added: PAYMENT_ATTRIBUTES,
        mismatched: [],
      });
      const second = await ensureSearchAttributes(nativeConnection, 'default', logger);
      expect(second).toEqual({ added: [], mismatched: [] });
      const listed = await nativeConnection.operatorService.listSearchAttributes({ namespace: 'default' });
      expect(Object.keys(listed.customAttributes ?? {})).toEqual(expect.arrayContaining(PAYMENT_ATTRIBUTES));
      // The time of the last move is a Datetime, so that it sorts and compares as one.
      expect(listed.customAttributes?.PaymentUpdatedAt).toBe(
        temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
      );
      expect(listed.customAttributes?.PaymentCreatedAt).toBe(
        temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
      );
    } finally {
      await nativeConnection.close();
      await server.stop();
    }
  }, 60_000);

  it('forwards Temporal runtime logs to the app logger', () => {
    const temporalLines = appLines.filter((l) => l.component === 'temporal');
    expect(temporalLines.length).toBeGreaterThan(0);
    expect(temporalLines.some((l) => l.sdkComponent === 'worker')).toBe(true);
  });
});

describe('worker/main.ts (child process)', () => {
  let vaultServer: CardVaultServer | undefined;
  let router: CardVaultRouter | undefined;

  afterAll(async () => {
    router?.close();
    await vaultServer?.close();
  });

  function startMain(env: Record<string, string>): {
    child: ChildProcess;
    output: () => string;
    exited: Promise<number | null>;
  } {
    const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, output: () => out, exited };
  }

  function waitForOutput(output: () => string, text: string, timeoutMs = 90_000): Promise<boolean> {
    return waitFor(`"${text}"`, () => output().includes(text), {
      timeoutMs,
      describeLast: () => `output so far:\n${output()}`,
    });
  }

  it('runs a payment with the card handed over through the API-side vault, then exits 0 on SIGTERM', async () => {
    router = createCardVaultRouter({ token: VAULT_TOKEN });
    vaultServer = await listenCardVault(router, '127.0.0.1', 0);
    const vaultUrl = vaultServer.url;
    const childMetricsPort = await freePort();
    const taskQueue = `payments-main-${Date.now()}`;
    const { child, output, exited } = startMain({
      TEMPORAL_ADDRESS: sharedTemporalAddress(),
      TEMPORAL_TASK_QUEUE: taskQueue,
      PLURAL_BASE_URL: sandbox.baseUrl,
      PLURAL_CLIENT_ID: sandbox.credentials.clientId,
      PLURAL_CLIENT_SECRET: sandbox.credentials.clientSecret,
      CARD_VAULT_URL: vaultUrl,
      CARD_VAULT_TOKEN: VAULT_TOKEN,
      WORKER_METRICS_HOST: '127.0.0.1',
      WORKER_METRICS_PORT: String(childMetricsPort),
      WORKFLOW_BUNDLE_PATH: bundlePath,
      PAYLOAD_KEYS,
      LOG_LEVEL: 'info',
    });
    try {
      await waitForOutput(output, 'payment worker started');
      expect(output()).toContain(`on (key ${PAYLOAD_KEY.id})`);
      const metrics = await request(`http://127.0.0.1:${childMetricsPort}/metrics`);
      expect(metrics.statusCode).toBe(200);
      await metrics.body.dump();

      // The API's side of the hand-off: seal in-process, store ciphertext only, pass the cv1 handle to the workflow.
      // The worker encrypts payloads: the client that starts and queries the payment uses the same keys.
      const encrypted = new Client({
        connection,
        dataConverter: createDataConverter({ mode: 'on', keys: [PAYLOAD_KEY] }),
      });
      const final = await payWithOtp(router.localVault, taskQueue, `main-${Date.now()}`, encrypted);
      expect(final.status).toBe('PROCESSED');
      expect(router.store.size).toBe(0); // destroyed by the worker's activity, across processes

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const lines = output().split('\n').filter(Boolean);
      for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
      expect(output()).toContain('payment worker stopped');
      expect(output()).not.toContain(sandbox.credentials.clientSecret);
      expect(output()).not.toContain(VAULT_TOKEN);
      expect(output()).not.toContain(CARDS.nativeOtp);
      expect(output()).not.toContain(PAYLOAD_KEY.key.toString('base64'));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 180_000);

  it('exits 78 with every bad key listed, and no secret echoed, when the configuration is invalid', async () => {
    const secret = 'not-a-real-secret-but-long';
    const { output, exited } = startMain({
      PLURAL_BASE_URL: 'not a url',
      PLURAL_CLIENT_SECRET: secret,
      CARD_VAULT_TOKEN: 'short',
      LOG_LEVEL: 'info',
    });
    expect(await exited).toBe(78);
    const line = JSON.parse(output().trim().split('\n').at(-1)!) as { msg: string; issues: { key: string }[] };
    expect(line.issues.map((i) => i.key).sort()).toEqual([
      'CARD_VAULT_TOKEN',
      'CARD_VAULT_URL',
      'PAYLOAD_KEYS',
      'PLURAL_BASE_URL',
      'PLURAL_CLIENT_ID',
    ]);
    expect(output()).not.toContain(secret);
    expect(output()).not.toContain('short');
  }, 60_000);
});
