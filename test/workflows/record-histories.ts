/**
 * Regenerates the committed replay histories: `npx tsx test/workflows/record-histories.ts`.
 * Runs each scenario of `scenarios.ts` against the sandbox and the time-skipping environment and writes its history
 * as JSON (see history-json.ts) to `test/fixtures/histories/<scenario>.json`. Review the diff before committing: a changed history means
 * the workflow's commands changed, and running workflows recorded with the old code may no longer replay.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { format, resolveConfig } from 'prettier';
import { bundle, createFixture, REPO_ROOT } from './harness';
import { historyToFixtureJSON } from './history-json';
import { SCENARIOS } from './scenarios';

export const HISTORIES_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'histories');

async function main(): Promise<void> {
  mkdirSync(HISTORIES_DIR, { recursive: true });
  const fx = await createFixture(await bundle());
  try {
    for (const [name, scenario] of Object.entries(SCENARIOS)) {
      const handle = await fx.withWorker(() => scenario(fx));
      const file = path.join(HISTORIES_DIR, `${name}.json`);
      // Formatted like the rest of the repository so `prettier --check .` stays green after a re-record.
      const json = historyToFixtureJSON(await handle.fetchHistory());
      writeFileSync(file, await format(json, { ...(await resolveConfig(file)), parser: 'json' }));
      process.stdout.write(`recorded ${path.relative(REPO_ROOT, file)}\n`);
    }
  } finally {
    await fx.teardown();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
