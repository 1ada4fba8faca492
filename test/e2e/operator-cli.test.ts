/**
 * The operator guide's Temporal CLI commands (docs/operator-guide.md), run with the official `temporal` binary against
 * the dev stack as `npm start` runs it: find a payment by its search attributes, read it with the `getPayment` query
 * through the codec endpoint, and give it up with the `cancel` Update, whose input the CLI encrypts through
 * the same endpoint.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTemporalBinary } from '../../temporal-server';
import { paymentWorkflowId } from '../../workflows/definitions';
import type { PaymentState } from '../../workflows/definitions';
import { CARDS } from '../support/cards';
import { waitFor } from '../support/wait';
import { apiClient, startStackProcess } from './stack-process';
import type { StackProcess } from './stack-process';

const OTP = '123456';

let dataDir: string;
let stack: StackProcess;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'plural-operator-cli-'));
  stack = await startStackProcess(dataDir);
}, 180_000);

afterAll(async () => {
  await stack?.stop('SIGKILL');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/**
 * Runs `temporal <args>` against the stack, with the codec when `codec` is set; nothing from the environment. With
 * `allowFailure`, a non-zero exit returns its output (stdout and stderr) instead of throwing.
 */
async function temporalCli(args: string[], { codec = false, allowFailure = false } = {}): Promise<string> {
  const cli = findTemporalBinary('cli');
  if (!cli) throw new Error('no Temporal CLI found: run node temporal-server/install.cjs');
  const { info } = stack;
  const connection = ['--address', info.temporal.address, '--namespace', info.temporal.namespace];
  const codecArgs = codec
    ? ['--codec-endpoint', info.codec!.endpoint, '--codec-auth', `Bearer ${info.codec!.devToken ?? ''}`]
    : [];
  try {
    const { stdout } = await promisify(execFile)(
      cli.path,
      [...args, ...connection, ...codecArgs, '--disable-config-file', '--disable-config-env'],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    return stdout;
  } catch (err) {
    if (!allowFailure) throw err;
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    return `${stdout ?? ''}${stderr ?? ''}`;
  }
}

async function getPayment(workflowId: string): Promise<PaymentState> {
  const out = await temporalCli(
    ['workflow', 'query', '--workflow-id', workflowId, '--name', 'getPayment', '-o', 'json'],
    {
      codec: true,
    },
  );
  return (JSON.parse(out) as { queryResult: [PaymentState] }).queryResult[0];
}

describe('the operator guide, with the Temporal CLI against the dev stack', () => {
  it('finds a payment by reference, reads it through the codec, and cancels it with the cancel Update', async () => {
    const call = apiClient(stack.info);
    const reference = `ops-${Date.now()}`;
    const workflowId = paymentWorkflowId(reference);
    const created = await call('POST', '/v1/payments', {
      merchant_order_reference: reference,
      amount: { value: 150_000, currency: 'INR' },
      pre_auth: true,
      card: { number: CARDS.nativeOtp, name: 'Test Holder', expiry_month: '12', expiry_year: '2035', cvv: '739' },
    });
    expect(created.status).toBe(201);
    expect((await call('POST', `/v1/payments/${reference}/otp`, { otp: OTP })).body.status).toBe('AUTHORIZED');

    const listed = await waitFor('the list to show the payment', async () => {
      const out = await temporalCli([
        'workflow',
        'list',
        '--query',
        `MerchantOrderReference = '${reference}' AND PaymentStatus = 'AUTHORIZED'`,
        '-o',
        'json',
      ]);
      const rows = JSON.parse(out) as { execution: { workflowId: string }; status: string }[];
      return rows.length > 0 ? rows : undefined;
    });
    expect(listed.map((r) => [r.execution.workflowId, r.status])).toEqual([
      [workflowId, 'WORKFLOW_EXECUTION_STATUS_RUNNING'],
    ]);

    // The query's answer is encrypted in transit; through the codec it reads as the payment.
    const before = await getPayment(workflowId);
    expect(before).toMatchObject({ merchantOrderReference: reference, status: 'AUTHORIZED' });
    expect(before.nextActions).toEqual(['CAPTURE', 'CANCEL']);
    const raw = await temporalCli(['workflow', 'query', '--workflow-id', workflowId, '--name', 'getPayment']);
    expect(raw).not.toContain(reference);

    // An Update the payment's validator refuses answers at once with its reason, and writes nothing to history.
    const refused = await temporalCli(
      ['workflow', 'update', 'execute', '--workflow-id', workflowId, '--name', 'operatorRetry', '--input', '{}'],
      { codec: true, allowFailure: true },
    );
    expect(refused).toMatch(/has no parked step/);

    const updated = await temporalCli(
      [
        'workflow',
        'update',
        'execute',
        '--workflow-id',
        workflowId,
        '--name',
        'cancel',
        '--input',
        JSON.stringify({ reason: 'operator: test' }),
      ],
      { codec: true },
    );
    // The Update answers with the payment after the cancel, decrypted through the codec.
    expect(updated).toContain('CANCELLED');
    const after = await waitFor('the payment to be CANCELLED', async () => {
      const state = await getPayment(workflowId);
      return state.status === 'CANCELLED' ? state : undefined;
    });
    expect(after.audit.map((e) => e.cause)).toContain('cancelled: operator: test: cancelling at Plural');
    const order = (await (
      await fetch(`${stack.info.plural.baseUrl}/__sandbox/orders/${before.pluralOrderId}`, {
        headers: { authorization: `Bearer ${stack.info.plural.controlToken ?? ''}` },
      })
    ).json()) as {
      status: string;
    };
    expect(order.status).toBe('CANCELLED');
  }, 90_000);
});
