/**
 * Production mode (`NODE_ENV=production`, as the Dockerfile sets it) refuses what only suits development: a secret
 * this repository publishes (config/dev-values.ts), a secret left unset where development has a fallback, and
 * payloads stored in clear. The refusal is one line naming every setting at fault, never a value.
 */
import { DEV_PAYLOAD_KEY_ID, knownDevValue } from './dev-values';
import type { KnownDevValue } from './dev-values';
import { CONFIG_KEYS as K } from './keys';
import type { ConfigKey } from './keys';
import { ConfigError } from './load';
import type { ConfigIssue, Env } from './load';

/** The environment variable and value that switch production mode on. */
export const PRODUCTION_MODE = { key: K.NODE_ENV, value: 'production' } as const;

/** The values this repository publishes that `value` of `key` holds (each entry of a list key on its own). */
export function publishedIn(key: ConfigKey, value: string): KnownDevValue[] {
  const entries = LIST_KEYS.has(key) ? value.split(',') : [value];
  return entries.map(knownDevValue).filter((known) => known !== undefined);
}

/** `true` when `env` asks for production mode (`NODE_ENV=production`). */
export function isProduction(env: Env): boolean {
  return env[PRODUCTION_MODE.key]?.trim() === PRODUCTION_MODE.value;
}

/** Keys holding comma-separated lists, each entry checked on its own. */
const LIST_KEYS: ReadonlySet<ConfigKey> = new Set([K.API_KEYS, K.CODEC_SERVER_TOKENS]);

/** What production mode checks for one process. */
export interface ProductionRules {
  /** Secret (or identifying) keys the process reads: a published development value in any of them is refused. */
  secrets: readonly ConfigKey[];
  /** Keys optional in development (which then falls back to something only a developer's machine has). */
  required?: readonly { key: ConfigKey; why: string }[];
  /** Whether the process reads `PAYLOAD_ENCRYPTION` (then `off` is refused). */
  payloadEncryption?: boolean;
}

/** Production mode refused the configuration. One line, naming each setting; `issues` lists them too. */
export class ProductionConfigError extends ConfigError {
  constructor(processName: string, issues: readonly ConfigIssue[]) {
    super(processName, issues);
    this.name = 'ProductionConfigError';
    this.message =
      `refusing to start the ${processName} in production mode (NODE_ENV=production): ` +
      `${issues.map((i) => `${i.key} ${i.message}`).join('; ')} (see the README, Production)`;
  }
}

function payloadKeyIssues(value: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const entry of value.split(',')) {
    const id = entry.slice(0, Math.max(0, entry.indexOf(':'))).trim();
    if (DEV_PAYLOAD_KEY_ID.test(id)) {
      issues.push({ key: K.PAYLOAD_KEYS, message: `holds key ${id}, a key the dev stack made` });
    }
  }
  return issues;
}

/** The production-mode problems of `env` (empty when not in production mode, or when there are none). */
export function productionIssues(env: Env, rules: ProductionRules): ConfigIssue[] {
  if (!isProduction(env)) return [];
  const issues: ConfigIssue[] = [];
  const value = (key: ConfigKey): string | undefined => {
    const v = env[key]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  for (const key of rules.secrets) {
    const v = value(key);
    if (v === undefined) continue;
    if (key === K.PAYLOAD_KEYS) {
      issues.push(...payloadKeyIssues(v));
      continue;
    }
    for (const known of publishedIn(key, v)) {
      issues.push({ key, message: `${LIST_KEYS.has(key) ? 'holds' : 'is'} ${known.what}` });
    }
  }
  for (const { key, why } of rules.required ?? []) {
    if (value(key) === undefined) issues.push({ key, message: `is required (${why})` });
  }
  if (rules.payloadEncryption && value(K.PAYLOAD_ENCRYPTION) === 'off') {
    issues.push({ key: K.PAYLOAD_ENCRYPTION, message: 'is off, which stores workflow data in Temporal in clear' });
  }
  return issues;
}

/**
 * Throws when production mode refuses `env`; a no-op outside production mode.
 * @throws {ProductionConfigError} naming every setting at fault in one line.
 */
export function refuseInProduction(
  env: Env,
  processName: string,
  rules: ProductionRules,
  /** Refusals found elsewhere (the merchant entries of config/merchants.ts), reported in the same line. */
  more: readonly ConfigIssue[] = [],
): void {
  const issues = [...productionIssues(env, rules), ...more];
  if (issues.length > 0) throw new ProductionConfigError(processName, issues);
}
