/**
 * The dev stack's workflow bundle, cached on disk by content: webpack takes seconds, and `npm start` should reach a
 * first payment quickly. The cache key hashes the workflow sources and the SDK version, so an edit rebuilds it. The
 * cache lives in `node_modules/.cache/` (the usual place for tool caches: ignored by git and linters, gone after a
 * clean install).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../payload-codec';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { toTemporalLogger } from '../observability';
import type { AppLogger } from '../observability';
import { defaultWorkflowsPath, workflowInterceptorModules } from '../worker';

const ROOT = path.join(__dirname, '..');
/** Folders whose sources can end up in the bundle (activities only for types, but cheap to include). */
const SOURCE_DIRS = ['workflows', 'activities'];
const BUNDLE_PREFIX = 'workflow-bundle-';
/** Where {@link loadWorkflowBundle} caches bundles by default. */
export const DEFAULT_BUNDLE_CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'plural-engine');
/** Bundles of other source versions are removed once this old (another stack may still be starting from one). */
const STALE_AFTER_MS = 60 * 60_000;

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(full)));
    else if (/\.(ts|js|json)$/.test(entry.name)) out.push(full);
  }
  return out;
}

/** Hash of everything the bundle is built from. */
export async function workflowSourceHash(): Promise<string> {
  const hash = createHash('sha256');
  const sdk = JSON.parse(
    await readFile(require.resolve('@temporalio/workflow/package.json', { paths: [ROOT] }), 'utf8'),
  ) as { version: string };
  hash.update(`sdk ${sdk.version}\n`);
  for (const dir of SOURCE_DIRS) {
    const files = existsSync(path.join(ROOT, dir)) ? await sourceFiles(path.join(ROOT, dir)) : [];
    for (const file of files.sort()) {
      hash.update(`${path.relative(ROOT, file)}\n`);
      hash.update(await readFile(file));
    }
  }
  hash.update(await readFile(FAILURE_CONVERTER_PATH));
  return hash.digest('hex').slice(0, 16);
}

/** Outcome of {@link loadWorkflowBundle}. */
export interface DevWorkflowBundle {
  bundle: WorkflowBundleOption;
  /** `cache`: read from the cache folder; `built`: bundled now (and cached when a folder is given). */
  source: 'cache' | 'built';
}

/**
 * The bundle from `<cacheDir>/workflow-bundle-<hash>.js` when present, else a fresh bundle (written there for the
 * next start; bundles of older sources removed). With no `cacheDir` it bundles in memory.
 */
export async function loadWorkflowBundle(cacheDir: string | undefined, logger: AppLogger): Promise<DevWorkflowBundle> {
  const bundlerLogger = toTemporalLogger(logger.child({ component: 'workflow-bundle' }));
  const quietLogger: typeof bundlerLogger = {
    ...bundlerLogger,
    info: (message, meta) => {
      bundlerLogger.debug(message, meta);
    },
  };
  const build = async (): Promise<string> => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: defaultWorkflowsPath(),
      workflowInterceptorModules: workflowInterceptorModules(),
      // Failure messages inside workflow code become payloads, so the payload codec encrypts them too.
      failureConverterPath: FAILURE_CONVERTER_PATH,
      // webpack's module list arrives as one info line of a kilobyte or more: kept for LOG_LEVEL=debug (the banner
      // says whether the bundle was built); webpack's errors stay errors.
      logger: quietLogger,
    });
    return code;
  };
  if (cacheDir === undefined) return { bundle: { code: await build() }, source: 'built' };

  const file = path.join(cacheDir, `${BUNDLE_PREFIX}${await workflowSourceHash()}.js`);
  if (existsSync(file)) return { bundle: { codePath: file }, source: 'cache' };
  const code = await build();
  try {
    await mkdir(cacheDir, { recursive: true });
  } catch (err) {
    logger.warn({ err }, 'cannot create the workflow bundle cache; bundling in memory');
    return { bundle: { code }, source: 'built' };
  }
  // Write then rename, so a stack killed mid-write never leaves a truncated bundle under the final name.
  const partial = `${file}.${process.pid}.tmp`;
  await writeFile(partial, code);
  await rename(partial, file);
  for (const name of await readdir(cacheDir)) {
    const other = path.join(cacheDir, name);
    if (!name.startsWith(BUNDLE_PREFIX) || other === file) continue;
    const age = Date.now() - (await stat(other).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
    if (age > STALE_AFTER_MS) await unlink(other).catch(() => undefined);
  }
  return { bundle: { codePath: file }, source: 'built' };
}
