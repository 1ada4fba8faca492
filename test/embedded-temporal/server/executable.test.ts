import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';

const EXE = path.resolve(__dirname, '..', '..', '..', 'embedded-temporal', 'bin', 'embedded-temporal');

/** Spawns the executable from another working directory and resolves with the address it prints. */
async function spawnServer(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcessWithoutNullStreams; address: string; stderr: () => string }> {
  const child = spawn(EXE, args, { cwd: '/', env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const address = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
  });
  return { child, address, stderr: () => stderr };
}

function exitCode(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('embedded-temporal executable', () => {
  it('serves on the port given as first argument, ignores extra arguments and exits 0 on SIGTERM', async () => {
    const { child, address, stderr } = await spawnServer(['0', '--some-sdk-flag', 'x']);
    const connection = await Connection.connect({ address });
    const info = await connection.workflowService.getSystemInfo({});
    expect(info.capabilities?.sdkMetadata).toBe(true);
    await connection.close();
    expect(stderr()).toContain('ignoring arguments: --some-sdk-flag x');
    const exited = exitCode(child);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('runs as the dev server from TEMPORAL_PORT / TEMPORAL_HOST with no arguments', async () => {
    const { child, address } = await spawnServer([], { TEMPORAL_PORT: '0', TEMPORAL_HOST: '127.0.0.1' });
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    const connection = await Connection.connect({ address });
    const ns = await connection.workflowService.describeNamespace({ namespace: 'default' });
    expect(ns.namespaceInfo?.name).toBe('default');
    await connection.close();
    const exited = exitCode(child);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('answers UNIMPLEMENTED with the method name for a method it does not implement', async () => {
    const { child, address } = await spawnServer(['0']);
    const connection = await Connection.connect({ address });
    try {
      await expect(connection.workflowService.listSchedules({ namespace: 'default' })).rejects.toMatchObject({
        code: 12,
        details: expect.stringContaining('WorkflowService.ListSchedules is not implemented'),
      });
    } finally {
      await connection.close();
      child.kill('SIGTERM');
      await exitCode(child);
    }
  });

  it('works as the existing-path server of TestWorkflowEnvironment.createTimeSkipping', async () => {
    const env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: EXE } },
    });
    try {
      const before = await env.currentTimeMs();
      await env.sleep('2 days');
      expect(await env.currentTimeMs()).toBeGreaterThanOrEqual(before + 2 * 24 * 3600 * 1000);
    } finally {
      await env.teardown();
    }
  });

  it('works as the existing-path dev server of TestWorkflowEnvironment.createLocal', async () => {
    const env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: EXE } },
    });
    try {
      const handle = await env.client.workflow.start('neverPolled', { taskQueue: 'nobody', workflowId: 'local-1' });
      expect((await handle.describe()).status.name).toBe('RUNNING');
    } finally {
      await env.teardown();
    }
  });

  it('as the dev server, keeps workflows in TEMPORAL_PERSIST_FILE across a SIGTERM and restart', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'embedded-temporal-dev-'));
    const env = { TEMPORAL_PORT: '0', TEMPORAL_PERSIST_FILE: path.join(dir, 'state.json') };
    try {
      const first = await spawnServer([], env);
      const c1 = await Connection.connect({ address: first.address });
      const { runId } = await c1.workflowService.startWorkflowExecution({
        namespace: 'default',
        workflowId: 'dev-persist-1',
        workflowType: { name: 'payment' },
        taskQueue: { name: 'nobody-polls' },
        requestId: 'req-1',
      });
      await c1.close();
      const exited = exitCode(first.child);
      first.child.kill('SIGTERM');
      expect(await exited).toBe(0);

      const second = await spawnServer([], env);
      const c2 = await Connection.connect({ address: second.address });
      const described = await c2.workflowService.describeWorkflowExecution({
        namespace: 'default',
        execution: { workflowId: 'dev-persist-1' },
      });
      expect(described.workflowExecutionInfo?.execution?.runId).toBe(runId);
      expect(described.pendingWorkflowTask?.state).toBe(1);
      await c2.close();
      const exited2 = exitCode(second.child);
      second.child.kill('SIGTERM');
      await exited2;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
