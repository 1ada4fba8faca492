/**
 * Prebuilds the workflow bundle so workers start without bundling: `npm run build:workflows [out-file]`, then run
 * workers with `WORKFLOW_BUNDLE_PATH=<out-file>`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { BundleOptions } from '@temporalio/worker';
import { createLogger, toTemporalLogger } from '../observability';
import { FAILURE_CONVERTER_PATH } from '../payload-codec';
import { defaultWorkflowsPath, workflowInterceptorModules } from './worker';

/**
 * The worker's workflow bundle as code: `workflows/` with the engine's failure converter. `overrides` are for tests
 * (a replay with a deliberately changed workflow adds an interceptor module).
 */
export async function bundleWorkflows(overrides: Partial<BundleOptions> = {}): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: defaultWorkflowsPath(),
    // Failure messages inside workflow code become payloads, so the payload codec encrypts them too.
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: toTemporalLogger(createLogger({ name: 'build-bundle', level: 'warn' })),
    ...overrides,
    workflowInterceptorModules: [...workflowInterceptorModules(), ...(overrides.workflowInterceptorModules ?? [])],
  });
  return code;
}

/** Bundles `workflows/` and writes it to `outFile`; returns the absolute path. */
export async function buildWorkflowBundle(outFile: string): Promise<string> {
  const code = await bundleWorkflows();
  const target = path.resolve(outFile);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, code);
  return target;
}

if (require.main === module) {
  const out = process.argv[2] ?? path.join(__dirname, '..', 'dist', 'workflow-bundle.js');
  buildWorkflowBundle(out).then(
    (file) => process.stdout.write(`workflow bundle written to ${file}\n`),
    (err: unknown) => {
      process.stderr.write(`workflow bundle failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
