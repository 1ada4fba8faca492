import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import type { WorkflowBundle } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundle, secretsFound, historyText, REPO_ROOT } from './harness';
import { historyFromFixtureJSON } from './history-json';
import { SCENARIOS } from './scenarios';

const DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

let workflowBundle: WorkflowBundle;
beforeAll(async () => {
  workflowBundle = await bundle();
});

describe('committed histories of the main paths', () => {
  it('cover every recorded scenario', () => {
    expect(files.map((f) => f.replace(/\.json$/, '')).sort()).toEqual(Object.keys(SCENARIOS).sort());
  });

  it.each(files)('%s replays without non-determinism', async (file) => {
    const history = historyFromFixtureJSON(readFileSync(path.join(DIR, file), 'utf8'));
    expect(history.events.length).toBeGreaterThan(10);
    await Worker.runReplayHistory({ workflowBundle, replayName: file }, history);
  });

  it.each(files)('%s holds no PAN, CVV or OTP', (file) => {
    const text = historyText(historyFromFixtureJSON(readFileSync(path.join(DIR, file), 'utf8')));
    expect(text).toContain('merchantOrderReference');
    expect(secretsFound(text)).toEqual([]);
  });

  it('detects a non-deterministic change (a history replayed against a different command sequence)', async () => {
    const history = historyFromFixtureJSON(readFileSync(path.join(DIR, 'otp-preauth-capture.json'), 'utf8'));
    // Swap the first activity's type: the workflow code schedules createOrder, the history says lookupCard.
    const scheduled = history.events.find((e) => e.activityTaskScheduledEventAttributes)!;
    scheduled.activityTaskScheduledEventAttributes!.activityType!.name = 'lookupCard';
    await expect(Worker.runReplayHistory({ workflowBundle, replayName: 'tampered' }, history)).rejects.toThrow(
      /[Nn]ondeterminis/,
    );
  });
});
