/**
 * Records the committed replay histories: `npm run record:histories [scenario…]` (every scenario when none is named).
 *
 * Starts an official Temporal dev server of its own, runs each scenario of `scenarios.ts` on it with the worker's
 * workflow bundle and the real activities against the Plural sandbox, and writes the history with the SDK's
 * `historyToJSON` (the standard history JSON, as `temporal workflow show --output json` prints it) to
 * `test/fixtures/histories/<scenario>.json`. A history holding card data or an OTP is not written.
 *
 * Review the diff before committing: a changed history means the workflow's commands changed, and workflows started
 * with the old code may no longer replay (guard such a change with `patched()`, and keep the old fixture).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflows } from '../../worker';
import { installQuietRuntime, startOwnDevServer } from '../support/temporal-servers';
import { createFixture, historyText, REPO_ROOT, secretsFound } from './harness';
import { SCENARIOS } from './scenarios';

export const HISTORIES_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'histories');

function selectedScenarios(names: readonly string[]): string[] {
  const known = Object.keys(SCENARIOS);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario ${unknown.join(', ')}; the scenarios are: ${known.join(', ')}`);
  }
  return names.length > 0 ? [...names] : known;
}

async function main(names: readonly string[]): Promise<void> {
  const selected = selectedScenarios(names);
  installQuietRuntime();
  const [code, server] = await Promise.all([bundleWorkflows(), startOwnDevServer()]);
  process.stdout.write(`Temporal dev server on ${server.address} (${server.source})\n`);
  try {
    const env = await TestWorkflowEnvironment.createFromExistingServer({ address: server.address });
    // Plural times a pending payment out after 8 s here, so a closing payment's order becomes final in the recording.
    const fx = await createFixture({ code }, { paymentTimeoutSeconds: 8 }, { env });
    try {
      for (const name of selected) {
        const scenario = SCENARIOS[name]!;
        // A scenario that needs other sandbox settings runs on a sandbox (and fixture, and client) of its own.
        const own = scenario.sandbox
          ? await createFixture(
              { code },
              { paymentTimeoutSeconds: 8, ...scenario.sandbox },
              { env: await TestWorkflowEnvironment.createFromExistingServer({ address: server.address }) },
            )
          : undefined;
        const on = own ?? fx;
        let handle;
        let history;
        try {
          handle = await on.withWorker(() => scenario.run(on), scenario.activities?.(on));
          history = await handle.fetchHistory();
        } finally {
          await own?.teardown();
        }
        const found = secretsFound(historyText(history));
        if (found.length > 0) throw new Error(`the history of scenario ${name} holds ${found.join(', ')}; not written`);
        const file = path.join(HISTORIES_DIR, `${name}.json`);
        writeFileSync(file, `${historyToJSON(history)}\n`);
        process.stdout.write(
          `recorded ${path.relative(REPO_ROOT, file)}: ${history.events?.length ?? 0} events (${handle.workflowId})\n`,
        );
      }
    } finally {
      await fx.teardown();
    }
  } finally {
    await server.stop();
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
