/**
 * The proof of payload encryption: a real payment workflow (the official Temporal dev server, Plural sandbox, the real
 * worker and activities) runs with customer name, e-mail and phone in its input and card data in the vault; then the
 * history as Temporal stores it — the proto bytes WorkflowService returns, and the server's SQLite database file — is
 * searched for that data. Encrypted: none of it. The same run without the codec: all of it (so the search can fail).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter, Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryCardVault } from '../../card-vault';
import { createLogger } from '../../observability';
import { createDataConverter, EncryptionCodec, FAILURE_CONVERTER_PATH, isEncryptedPayload } from '../../payload-codec';
import type { PluralClient } from '../../plural-client';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import { createPaymentWorker } from '../../worker';
import { CARDS } from '../support/cards';
import { waitForPaymentStatus } from '../support/payment-state';
import { startOwnDevServer } from '../support/temporal';
import { captureUpdate, paymentWorkflowId, submitOtpUpdate } from '../../workflows/definitions';
import type { PaymentState, PaymentWorkflowInput } from '../../workflows/definitions';
import type { paymentWorkflow } from '../../workflows/payment';
import { WORKFLOWS_PATH } from '../workflows/harness';
import { pluralClientFor } from '../support/plural';

const PAN = CARDS.nativeOtp;
const CVV = '7391';
const OTP = '64820573';
/** Customer data distinctive enough that finding it anywhere means it leaked. */
const CUSTOMER = {
  customerId: 'cust-enc-001',
  firstName: 'Zephyrine',
  lastName: 'Okonkwo-Baptiste',
  email: 'zephyrine.okonkwo@example.in',
  mobileNumber: '9876512340',
  countryCode: '91',
};
const NEEDLES = {
  'first name': CUSTOMER.firstName,
  'last name': CUSTOMER.lastName,
  'e-mail': CUSTOMER.email,
  phone: CUSTOMER.mobileNumber,
  PAN,
  'grouped PAN': PAN.replace(/(\d{4})(?=\d)/g, '$1 '),
  CVV: `"${CVV}"`,
  OTP,
};
const CUSTOMER_NEEDLES = ['first name', 'last name', 'e-mail', 'phone'] as const;

const KEYS = [{ id: 'test-2026', key: randomBytes(32) }];
// Reads the whole stored history like the codec endpoint does, search attributes (never encrypted) included.
const codec = new EncryptionCodec({ keys: KEYS, unencrypted: 'pass' });

let bundle: WorkflowBundle;
let dataDir: string;
let sandbox: RunningSandbox;
let plural: PluralClient;
let vault: InMemoryCardVault;

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // installed earlier in this process
  }
  // The failure converter goes into the bundle, as it must for any prebuilt bundle used with the codec.
  const built = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('ERROR'),
  });
  bundle = { code: built.code };
  dataDir = await mkdtemp(path.join(tmpdir(), 'payload-codec-'));
  sandbox = await startSandbox({ seed: 11, otp: { correctOtp: OTP } });
  plural = pluralClientFor(sandbox, 5_000);
  vault = new InMemoryCardVault();
}, 120_000);

afterAll(async () => {
  vault?.close();
  await plural?.close();
  await sandbox?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** What one run left behind. */
interface RunResult {
  workflowId: string;
  /** The last `getPayment` answer, through the client's data converter. */
  lastState: PaymentState;
  /** The history exactly as Temporal serves it: the proto bytes of every page of GetWorkflowExecutionHistory. */
  historyBytes: Buffer;
  /** Where the history holds payloads the codec did not encrypt (search attributes, by design). */
  clearPayloadPaths: string[];
  /** Every payload of the history, run through the test's codec, as text. */
  decryptedText: string;
  /** The server's SQLite database (and write-ahead log, if any) after the server stopped. */
  persistedBytes: Buffer;
}

/**
 * Runs one OTP payment to PROCESSED (order, payment, OTP signal, capture signal, queries) on a dev server of its own,
 * persisted to its own SQLite file, and collects what Temporal stored.
 */
async function runPayment(name: string, dataConverter: DataConverter | undefined): Promise<RunResult> {
  const dbFile = path.join(dataDir, `${name}.db`);
  const server = await startOwnDevServer({ dbFile });
  const connection = await Connection.connect({ address: server.address });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  try {
    const taskQueue = `payments-enc-${randomUUID()}`;
    const worker = await createPaymentWorker({
      connection: nativeConnection,
      taskQueue,
      plural,
      vault,
      logger: createLogger({ name: 'test', level: 'silent' }),
      workflowBundle: bundle,
      shutdownGraceMs: 1_000,
      ...(dataConverter ? { dataConverter } : {}),
    });
    const client = new Client({ connection, ...(dataConverter ? { dataConverter } : {}) });
    const ref = `enc-${name}-${randomUUID().slice(0, 8)}`;
    const workflowId = paymentWorkflowId(ref);
    const cardHandle = await vault.put(
      {
        number: PAN,
        cvv: CVV,
        name: `${CUSTOMER.firstName} ${CUSTOMER.lastName}`,
        expiryMonth: '12',
        expiryYear: '2035',
      },
      15 * 60_000,
    );
    const input: PaymentWorkflowInput = {
      merchantOrderReference: ref,
      amount: { value: 150_000, currency: 'INR' },
      preAuth: true,
      method: { kind: 'card', cardHandle, last4: PAN.slice(-4) },
      customer: CUSTOMER,
      callbackUrl: 'https://merchant.example/callback',
    };
    const lastState = await worker.runUntil(async () => {
      const handle = await client.workflow.start<typeof paymentWorkflow>('paymentWorkflow', {
        taskQueue,
        workflowId,
        args: [input],
      });
      await waitForPaymentStatus(handle, 'AWAITING_OTP');
      const otpHandle = await vault.put({ otp: OTP }, 60_000);
      await handle.executeUpdate(submitOtpUpdate, { args: [{ otpHandle }], updateId: 's1' });
      await waitForPaymentStatus(handle, 'AUTHORIZED');
      await handle.executeUpdate(captureUpdate, { args: [{}], updateId: 'c1' });
      return waitForPaymentStatus(handle, 'PROCESSED');
    });

    const chunks: Buffer[] = [];
    const payloads: (Payload & { path: string })[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await connection.workflowService.getWorkflowExecutionHistory({
        namespace: 'default',
        execution: { workflowId },
        ...(nextPageToken ? { nextPageToken } : {}),
      });
      chunks.push(
        Buffer.from(temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse.encode(page).finish()),
      );
      collectPayloads(page.history, payloads, 'history');
      nextPageToken = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
    } while (nextPageToken);
    const clearPayloadPaths = payloads
      .filter((p) => !isEncryptedPayload(p))
      .map((p) => p.path.replace(/\.\d+\./g, '.N.'));
    const decrypted = await codec.decode(payloads);
    const decryptedText = decrypted.map((p) => Buffer.from(p.data ?? new Uint8Array()).toString('utf8')).join('\n');

    await connection.close();
    await nativeConnection.close();
    await server.stop(); // checkpoints SQLite's write-ahead log into the database file
    const persistedBytes = Buffer.concat([
      await readFile(dbFile),
      await readFile(`${dbFile}-wal`).catch(() => Buffer.alloc(0)),
    ]);
    return {
      workflowId,
      lastState,
      historyBytes: Buffer.concat(chunks),
      clearPayloadPaths: [...new Set(clearPayloadPaths)],
      decryptedText,
      persistedBytes,
    };
  } catch (err) {
    await connection.close().catch(() => undefined);
    await nativeConnection.close().catch(() => undefined);
    await server.stop().catch(() => undefined);
    throw err;
  }
}

/** Every `Payload` (an object with `metadata` and byte `data`) in a decoded proto message, with its path. */
function collectPayloads(node: unknown, out: (Payload & { path: string })[], at: string): void {
  if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return;
  if ('metadata' in node && 'data' in node && (node as Payload).data instanceof Uint8Array) {
    out.push(Object.assign(node as Payload, { path: at }));
    return;
  }
  for (const [key, value] of Object.entries(node)) collectPayloads(value, out, `${at}.${key}`);
}

function found(bytes: Buffer): string[] {
  return Object.entries(NEEDLES)
    .filter(([, needle]) => bytes.includes(Buffer.from(needle, 'utf8')))
    .map(([what]) => what);
}

describe('payload encryption in stored history', () => {
  let encrypted: RunResult;
  let plain: RunResult;

  beforeAll(async () => {
    encrypted = await runPayment('encrypted', createDataConverter({ mode: 'on', keys: KEYS }));
    plain = await runPayment('plain', undefined);
  }, 180_000);

  it('both runs complete, and the encrypted run answers queries in clear through the client codec', () => {
    expect(encrypted.lastState.status).toBe('PROCESSED');
    expect(encrypted.lastState.merchantOrderReference).toMatch(/^enc-encrypted-/);
    expect(plain.lastState.status).toBe('PROCESSED');
  });

  it('the raw history bytes of the encrypted run hold no customer name, e-mail, phone, PAN, CVV or OTP', () => {
    expect(encrypted.historyBytes.includes(Buffer.from('binary/encrypted'))).toBe(true);
    expect(encrypted.clearPayloadPaths.filter((p) => !/searchAttributes/.test(p))).toEqual([]);
    expect(found(encrypted.historyBytes)).toEqual([]);
  });

  it("the server's database file of the encrypted run holds none of it either", () => {
    expect(encrypted.persistedBytes.includes(Buffer.from(encrypted.workflowId))).toBe(true);
    expect(encrypted.persistedBytes.includes(Buffer.from('binary/encrypted'))).toBe(true);
    expect(found(encrypted.persistedBytes)).toEqual([]);
  });

  it('decrypting the same history with the codec finds the customer data (the search can see it)', () => {
    expect(encrypted.decryptedText).toContain(CUSTOMER.email);
    expect(encrypted.decryptedText).toContain(CUSTOMER.lastName);
    expect(encrypted.decryptedText).toContain(CUSTOMER.mobileNumber);
  });

  it('the same run without the codec stores the customer data in clear, in history and file (so the search can fail)', () => {
    expect(found(plain.historyBytes)).toEqual([...CUSTOMER_NEEDLES]);
    expect(found(plain.persistedBytes)).toEqual([...CUSTOMER_NEEDLES]);
    // Card data and OTPs stay out even without encryption: they travel through the vault.
  });
});
