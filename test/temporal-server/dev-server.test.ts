import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { afterAll, describe, expect, it } from 'vitest';
import { startDevServer } from '../../temporal-server';
import { TEST_SEARCH_ATTRIBUTES } from '../support/search-attributes';

const dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-dev-server-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function namespaces(address: string): Promise<string[]> {
  const connection = await Connection.connect({ address });
  try {
    const listed = await connection.workflowService.listNamespaces({});
    return listed.namespaces.map((n) => n.namespaceInfo?.name ?? '');
  } finally {
    await connection.close();
  }
}

describe('startDevServer: the official dev server in a child process', () => {
  it('serves its namespace with the search attributes registered, and the Web UI, then stops', async () => {
    const server = await startDevServer({
      namespace: 'payments-test',
      ui: {},
      searchAttributes: TEST_SEARCH_ATTRIBUTES,
    });
    try {
      expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(await namespaces(server.address)).toContain('payments-test');
      const connection = await Connection.connect({ address: server.address });
      const listed = await connection.operatorService.listSearchAttributes({ namespace: 'payments-test' });
      await connection.close();
      expect(Object.keys(listed.customAttributes)).toEqual(
        expect.arrayContaining(TEST_SEARCH_ATTRIBUTES.map((sa) => sa.name)),
      );
      expect((await fetch(server.uiUrl!)).status).toBe(200);
    } finally {
      await server.stop();
    }
    await expect(namespaces(server.address)).rejects.toThrow();
  }, 60_000);

  it('keeps what it stored in its SQLite file across a SIGKILL and a restart on the same file and port', async () => {
    const dbFile = path.join(dir, 'kill.db');
    const first = await startDevServer({ dbFile });
    const port = Number(first.address.split(':')[1]);
    const connection = await Connection.connect({ address: first.address });
    await connection.workflowService.registerNamespace({
      namespace: 'kept-after-kill',
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    await connection.close();
    // Its SQLite file runs with a write-ahead log (DEV_SQLITE_PRAGMAS), which a SIGKILL loses nothing of.
    expect(existsSync(`${dbFile}-wal`)).toBe(true);
    await first.kill();
    const second = await startDevServer({ dbFile, port });
    try {
      expect(second.address).toBe(first.address);
      expect(await namespaces(second.address)).toContain('kept-after-kill');
    } finally {
      await second.stop();
    }
  }, 60_000);

  it('raises the transfer queue poll rate of its one history shard, unless told otherwise (DEV_DYNAMIC_CONFIG)', async () => {
    // A stand-in CLI that records its arguments and exits: what the server would have been started with.
    const argsFile = path.join(dir, 'args.txt');
    const recorder = path.join(dir, 'recording-temporal');
    writeFileSync(recorder, `#!/bin/sh\nprintf '%s\\n' "$@" > ${argsFile}\nexit 3\n`);
    chmodSync(recorder, 0o755);
    const startedWith = async (options: Parameters<typeof startDevServer>[0]): Promise<string> => {
      await expect(startDevServer({ cliPath: recorder, startTimeoutMs: 10_000, ...options })).rejects.toThrow();
      return readFileSync(argsFile, 'utf8');
    };
    expect(await startedWith({})).toContain('--dynamic-config-value\nhistory.transferProcessorMaxPollRPS=200\n');
    const told = await startedWith({
      dynamicConfig: { 'history.transferProcessorMaxPollRPS': 20, 'limit.maxIDLength': 255 },
    });
    expect(told).toContain('--dynamic-config-value\nhistory.transferProcessorMaxPollRPS=20\n');
    expect(told).toContain('--dynamic-config-value\nlimit.maxIDLength=255\n');
    expect(told).not.toContain('history.transferProcessorMaxPollRPS=200');
  });

  it('waits for a fixed port to be released, and fails naming it when something keeps it', async () => {
    // Something already listens on the port (a server still stopping, or another one): it would have answered the
    // readiness probe in place of the new server.
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    const notStarted = path.join(dir, 'not-started-temporal');
    writeFileSync(notStarted, '#!/bin/sh\necho "started although the port was taken" >&2\nexit 3\n');
    chmodSync(notStarted, 0o755);
    try {
      await expect(
        startDevServer({ cliPath: notStarted, port, portReleaseWaitMs: 500, startTimeoutMs: 10_000 }),
      ).rejects.toThrow(`Temporal dev server on 127.0.0.1:${port}: the port is in use`);
      // Released while the start waits: the start goes on (here to the stand-in CLI, which exits).
      const starting = startDevServer({ cliPath: notStarted, port, portReleaseWaitMs: 5_000, startTimeoutMs: 10_000 });
      setTimeout(() => holder.close(), 300);
      await expect(starting).rejects.toThrow(/started although the port was taken/);
    } finally {
      holder.close();
    }
  });

  it('fails with the server output when the executable exits before serving', async () => {
    const broken = path.join(dir, 'broken-temporal');
    writeFileSync(broken, '#!/bin/sh\necho "something went wrong at start" >&2\nexit 3\n');
    chmodSync(broken, 0o755);
    await expect(startDevServer({ cliPath: broken, startTimeoutMs: 10_000 })).rejects.toThrow(
      /exited \(3\) before serving; its last output:\nsomething went wrong at start/,
    );
  });
});
