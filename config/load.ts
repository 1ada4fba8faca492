/** Reading the environment through a zod schema once, at start-up, with one error that lists every problem. */
import type { z } from 'zod';

/** Environment as a plain map (`process.env` or a test's object). */
export type Env = Readonly<Record<string, string | undefined>>;

/** One bad or missing key. The message never contains the key's value. */
export interface ConfigIssue {
  readonly key: string;
  readonly message: string;
}

/** The configuration of a process is invalid; `issues` lists every bad or missing key. */
export class ConfigError extends Error {
  readonly type = 'ConfigError';

  constructor(
    readonly processName: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(
      `invalid ${processName} configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}; ` +
        `see config/README.md):\n${issues.map((i) => `  - ${i.key} ${i.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/**
 * Runs several loaders and keeps going past a bad one, so one error can list every problem: `attempt(load)` returns
 * what `load` returns, or `undefined` when it throws a {@link ConfigError}, whose issues join `issues` (each once).
 * Any other error is rethrown.
 */
export function collectIssues(): { issues: ConfigIssue[]; attempt: <T>(load: () => T) => T | undefined } {
  const issues: ConfigIssue[] = [];
  const attempt = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const issue of err.issues) {
        if (!issues.some((i) => i.key === issue.key && i.message === issue.message)) issues.push(issue);
      }
      return undefined;
    }
  };
  return { issues, attempt };
}

/** Empty strings count as unset, so `FOO=` in a `.env` file falls back to the default. */
function withoutEmpty(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') out[key] = value.trim();
  }
  return out;
}

/** A check across keys on the raw (non-empty) environment, run even when single keys are bad. */
export type CrossCheck = (env: Readonly<Record<string, string>>) => ConfigIssue[];

/**
 * Parses `env` with `schema`, then runs `crossChecks`.
 * @throws {ConfigError} listing every bad or missing key (messages come from the schema and never echo values).
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Env,
  processName: string,
  crossChecks: readonly CrossCheck[] = [],
): z.output<S> {
  const present = withoutEmpty(env);
  const result = schema.safeParse(present);
  const issues: ConfigIssue[] = result.success
    ? []
    : result.error.issues.map((issue) => ({
        key: issue.path.length > 0 ? issue.path.map(String).join('.') : '(environment)',
        message: issue.message,
      }));
  for (const check of crossChecks) issues.push(...check(present));
  if (issues.length > 0 || !result.success) throw new ConfigError(processName, issues);
  return result.data;
}

/** Cross-check: `a` and `b` must be set together. */
export function bothOrNeither(a: string, b: string): CrossCheck {
  return (env) => {
    if (env[a] !== undefined && env[b] === undefined) return [{ key: b, message: `is required when ${a} is set` }];
    if (env[b] !== undefined && env[a] === undefined) return [{ key: a, message: `is required when ${b} is set` }];
    return [];
  };
}
