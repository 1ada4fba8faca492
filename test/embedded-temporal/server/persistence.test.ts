import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedTemporal } from '../../../embedded-temporal';
import type { EmbeddedTemporal } from '../../../embedded-temporal';
import * as activities from './activities';
import { approveSignal, statusQuery } from './definitions';

const dir = mkdtempSync(path.join(tmpdir(), 'embedded-temporal-'));
const file = path.join(dir, 'state.json');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function withWorker<T>(server: EmbeddedTemporal, fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: server.address });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue: 'persist',
    workflowsPath: path.join(__dirname, 'workflows.ts'),
    activities,
  });
  try {
    return await worker.runUntil(fn(new Client({ connection })));
  } finally {
    await nativeConnection.close();
    await connection.close();
  }
}

describe('persistence file', () => {
  it('keeps a running workflow across a restart: it resumes and completes with its earlier history', async () => {
    const first = await startEmbeddedTemporal({ persistPath: file });
    const eventsBefore = await withWorker(first, async (client) => {
      const handle = await client.workflow.start('payment', { taskQueue: 'persist', workflowId: 'p-1', args: [700] });
      await expect.poll(() => handle.query(statusQuery), { timeout: 10_000 }).toBe('waiting');
      return (await handle.fetchHistory()).events!.length;
    });
    await first.stop();

    const second = await startEmbeddedTemporal({ persistPath: file });
    try {
      await withWorker(second, async (client) => {
        const handle = client.workflow.getHandle('p-1');
        expect((await handle.describe()).status.name).toBe('RUNNING');
        await handle.signal(approveSignal, 'after-restart');
        expect(await handle.result()).toBe('receipt-700 approved by after-restart');
        const events = (await handle.fetchHistory()).events!;
        expect(events.length).toBeGreaterThan(eventsBefore);
        expect(events.map((e) => Number(e.eventId))).toEqual(events.map((_, i) => i + 1));
      });
    } finally {
      await second.stop();
    }
  });

  it('re-offers a workflow task that was scheduled when the server stopped', async () => {
    const first = await startEmbeddedTemporal({ persistPath: file });
    const connection = await Connection.connect({ address: first.address });
    await new Client({ connection }).workflow.start('retries', { taskQueue: 'persist', workflowId: 'p-2' });
    await connection.close();
    await first.stop();

    const second = await startEmbeddedTemporal({ persistPath: file });
    try {
      const result = await withWorker(second, (client) => client.workflow.getHandle('p-2').result());
      expect(result).toBe(3);
    } finally {
      await second.stop();
    }
  });
});
