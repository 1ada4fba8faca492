/**
 * The dev stack's workflow bundle: built once and cached by the workflow sources' hash, and quiet about it at the
 * default log level (webpack's module list is a debug line, not a kilobyte of info at every first start).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkflowBundle } from '../../dev/workflow-bundle';
import { createLogger } from '../../observability';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** A logger at `level` collecting its lines. */
function collecting(level: 'info' | 'debug') {
  const lines: { level: number; msg: string }[] = [];
  const logger = createLogger({
    level,
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) },
  });
  return { logger, lines };
}

describe('the dev workflow bundle', () => {
  it('builds once, then starts from the cache; webpack speaks only at debug', async () => {
    const cacheDir = await mkdtemp(path.join(tmpdir(), 'bundle-cache-'));
    dirs.push(cacheDir);
    const info = collecting('info');
    const built = await loadWorkflowBundle(cacheDir, info.logger);
    expect(built.source).toBe('built');
    expect(await readdir(cacheDir)).toEqual([expect.stringMatching(/^workflow-bundle-[0-9a-f]+\.js$/)]);
    expect(info.lines).toEqual([]);

    const again = await loadWorkflowBundle(cacheDir, info.logger);
    expect(again).toEqual({ source: 'cache', bundle: built.bundle });

    const debug = collecting('debug');
    await loadWorkflowBundle(undefined, debug.logger);
    expect(debug.lines.some((l) => l.msg.startsWith('asset workflow-bundle'))).toBe(true);
    expect(debug.lines.some((l) => l.msg === 'Workflow bundle created')).toBe(true);
  }, 120_000);
});
