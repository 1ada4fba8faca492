/**
 * What the dev stack runs and how it is configured: which pieces it starts itself (Temporal's dev server unless
 * `TEMPORAL_ADDRESS`, a sandbox unless `PLURAL_BASE_URL`, one per merchant account without a Plural origin, the
 * merchant webhook receiver unless a webhook endpoint is set), and the environment the worker and the API are loaded
 * from: the settings as given, with what a fresh clone lacks filled in (development keys, the addresses and
 * credentials of what the stack started).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import {
  collectIssues,
  CONFIG_KEYS as K,
  ConfigError,
  DEV_API_KEY,
  DEV_FINGERPRINT_KEY,
  DEV_MERCHANT_WEBHOOK_SECRET,
  DEV_RETURN_URL_SIGNING_SECRET,
  fields,
  hasMerchantAccounts,
  loadApiConfig,
  loadMerchantAccounts,
  loadWorkerConfig,
  originList,
  parseEnv,
  payloadKeysField,
  publishedIn,
  publishedValueIssues,
} from '../../config';
import type { ApiConfig, ConfigIssue, ConfigKey, Env, MerchantAccount, WorkerConfig } from '../../config';
import { DEFAULT_CREDENTIALS } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import { DEFAULT_MERCHANT_ID } from '../../workflows/definitions';

/** File in the data dir holding the payload key the stack made (`PAYLOAD_KEYS` format), mode 0600. */
export const PAYLOAD_KEYS_FILE = 'payload-keys';

/** Where the stack's merchant webhook receiver listens, under the API's origin. */
export const RECEIVER_PATH = '/dev/merchant-webhooks';

const ROOT = path.join(__dirname, '..', '..');

const devEnvSchema = z.object({
  [K.DEV_TEMPORAL_PORT]: fields.integer({ min: 0, max: 65_535, default: 7233, unit: '0 = ephemeral' }),
  [K.DEV_TEMPORAL_UI_PORT]: fields.integer({ min: 0, max: 65_535, default: 8233, unit: '0 = ephemeral' }),
  [K.DEV_SANDBOX_PORT]: fields.integer({ min: 0, max: 65_535, default: 8090, unit: '0 = ephemeral' }),
  [K.DEV_DATA_DIR]: z.string().default('.data'),
  [K.CODEC_SERVER_TOKENS]: z
    .string()
    .transform((v) => v.split(',').map((t) => t.trim()))
    .refine((tokens) => tokens.every((t) => t.length >= 32 && !/\s/.test(t)), {
      error: 'must be comma-separated tokens of at least 32 characters each, without spaces',
    })
    .optional(),
  [K.CODEC_CORS_ORIGINS]: originList.optional(),
});

/** The stack's own settings (ports, data dir, codec tokens). */
export type DevSettings = z.output<typeof devEnvSchema>;

/** Every configuration the stack reads. */
export interface StackConfigs {
  dev: DevSettings;
  worker: WorkerConfig;
  api: ApiConfig;
}

/** A Plural stand-in the configuration points at: where it answers and the account it accepts. */
export type SandboxAddress = Pick<RunningSandbox, 'baseUrl' | 'credentials'>;

/** Where the pieces the stack started answer, which the configuration is completed with. */
export interface StackAddresses {
  temporal: string;
  /**
   * The sandboxes in use, by merchant id: with merchant accounts, each account's that names no Plural origin;
   * otherwise the default merchant's one sandbox, or none with `PLURAL_BASE_URL`.
   */
  sandboxes: ReadonlyMap<string, SandboxAddress>;
  receiverUrl: string;
}

/** Placeholders for the addresses the stack fills once its services run, so configuration is checked before. */
const PLACEHOLDERS = {
  temporal: '127.0.0.1:7233',
  pluralBaseUrl: 'http://127.0.0.1:8090',
  receiverUrl: 'http://127.0.0.1:8080/dev/merchant-webhooks',
};

/** The payload key the stack made: its `PAYLOAD_KEYS` value and the file keeping it (none without a data dir). */
export interface DevPayloadKeys {
  value: string;
  file: string | undefined;
}

/** What the stack starts itself, and how the worker's and the API's configuration is made. */
export interface StackPlan {
  /** The settings as given. */
  readonly env: Env;
  /** Temporal's dev server (`TEMPORAL_ADDRESS` unset); false: the cluster there. */
  readonly ownTemporal: boolean;
  /** Merchant accounts (`MERCHANTS_FILE` / `MERCHANTS`); undefined: the single merchant of the `PLURAL_*` keys. */
  readonly accounts: readonly MerchantAccount[] | undefined;
  /** The merchant accounts that get a sandbox of their own (none names a Plural origin, `PLURAL_BASE_URL` unset). */
  readonly sandboxAccounts: readonly MerchantAccount[];
  /** One sandbox for the single merchant (`PLURAL_BASE_URL` unset, no merchant accounts). */
  readonly singleSandbox: boolean;
  /** The stack's own merchant webhook receiver is the default merchant's endpoint (no webhook key set, no real Plural). */
  readonly ownReceiver: boolean;
  /**
   * A real Plural takes the payments (`PLURAL_BASE_URL`, or a merchant account's own origin): the stack fills in none
   * of the keys this repository publishes, and its codec endpoint takes no published token.
   */
  readonly realGateway: boolean;
  /** The payload key the stack made or read from its data dir; undefined for `PAYLOAD_KEYS` or encryption off. */
  readonly devKeys: DevPayloadKeys | undefined;
  /** The development API key is in use (no `API_KEYS`, no merchant accounts). */
  readonly devApiKey: boolean;
  /** The data dir (`DEV_DATA_DIR`, resolved), or undefined for `none`. */
  readonly dataDir: string | undefined;
  /** The configuration checked before anything starts, with placeholder addresses. */
  readonly preliminary: StackConfigs;
  /** The configuration of the running stack. @throws {ConfigError} */
  configure(addresses: StackAddresses): StackConfigs;
}

const newDevKey = (id: string): string => `${id}:${randomBytes(32).toString('base64')}`;

/**
 * The payload key ring the stack uses when `PAYLOAD_KEYS` is unset: kept in `<dataDir>/payload-keys` (made once,
 * mode 0600) so histories persisted in the data dir stay readable across restarts; without a data dir, a random
 * key for this run only.
 */
async function devPayloadKeys(dataDir: string | undefined): Promise<DevPayloadKeys> {
  if (dataDir === undefined) return { value: newDevKey('dev-ephemeral'), file: undefined };
  const file = path.join(dataDir, PAYLOAD_KEYS_FILE);
  try {
    const value = (await readFile(file, 'utf8')).trim();
    if (!payloadKeysField.safeParse(value).success) {
      throw new ConfigError('dev stack', [
        {
          key: K.PAYLOAD_KEYS,
          message: `in ${file} must be keyId:base64 entries of 32-byte keys; fix the file, or delete it (and ${dataDir}, whose histories it encrypted) to start afresh`,
        },
      ]);
    }
    return { value, file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const value = newDevKey(`dev-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`);
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
  return { value, file };
}

/**
 * With a real Plural, whoever reaches the stack's port (the tunnel Plural's callbacks come through, say) reaches an
 * API that moves real money: its keys must be the operator's own, never a value this repository publishes. Reported
 * with every other problem of the configuration (`loadAll`), in place of the loaders' own word on the same keys.
 */
function realGatewayIssues(env: Env, accounts: readonly MerchantAccount[] | undefined): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const required: readonly ConfigKey[] = accounts ? [K.API_FINGERPRINT_KEY] : [K.API_KEYS, K.API_FINGERPRINT_KEY];
  const checked: readonly ConfigKey[] = [...required, K.RETURN_URL_SIGNING_SECRET, K.CODEC_SERVER_TOKENS];
  for (const key of checked) {
    const value = env[key]?.trim() ?? '';
    if (value === '') {
      if (required.includes(key)) {
        issues.push({
          key,
          message:
            'must be set with a real Plural gateway (the dev stack fills in only keys this repository publishes)',
        });
      }
      continue;
    }
    const [published] = publishedIn(key, value);
    if (published) issues.push({ key, message: `holds ${published.what}, published in this repository: set your own` });
  }
  if (accounts) {
    // Every account's own keys face the same port; a real Plural account's Plural credentials too (a sandbox
    // account's are the sandbox's to publish).
    const source = env[K.MERCHANTS_FILE]?.trim() ? K.MERCHANTS_FILE : K.MERCHANTS;
    issues.push(
      ...publishedValueIssues(
        source,
        accounts.filter((m) => m.plural.baseUrl !== undefined),
      ),
      ...publishedValueIssues(
        source,
        accounts.filter((m) => m.plural.baseUrl === undefined),
        true,
      ),
    );
  }
  return issues;
}

function withDefaults(env: Env, filled: Record<string, string>): Env {
  const out: Record<string, string | undefined> = { ...env };
  const unset = (key: string) => out[key] === undefined || out[key]?.trim() === '';
  for (const [key, value] of Object.entries(filled)) if (unset(key)) out[key] = value;
  return out;
}

/**
 * The merchant accounts of `MERCHANTS_FILE` / `MERCHANTS` as their JSON entries (validated before by
 * `loadMerchantAccounts`), which the stack hands on as `MERCHANTS` with the origin of each sandbox it starts.
 */
function merchantEntries(env: Env): Record<string, unknown>[] {
  const file = env[K.MERCHANTS_FILE]?.trim();
  return JSON.parse(file ? readFileSync(file, 'utf8') : (env[K.MERCHANTS] ?? '[]')) as Record<string, unknown>[];
}

/**
 * Every configuration the stack reads, with the problems of all of them in one error (each listed once); `more`
 * (the stack's own refusals) replace a loader's "is required" on the same key.
 */
function loadAll(env: Env, more: readonly ConfigIssue[] = []): StackConfigs {
  const { issues, attempt } = collectIssues();
  const dev = attempt(() => parseEnv(devEnvSchema, env, 'dev stack'));
  const worker = attempt(() => loadWorkerConfig(env));
  const api = attempt(() => loadApiConfig(env));
  if (!dev || !worker || !api || more.length > 0) {
    const own = new Set(more.map((i) => i.key));
    const replaced = (i: ConfigIssue) => own.has(i.key) && i.message.startsWith('is required');
    throw new ConfigError('dev stack', [...issues.filter((i) => !replaced(i)), ...more]);
  }
  return { dev, worker, api };
}

/**
 * Reads the settings, makes (or reads) the development payload key and checks every configuration with placeholder
 * addresses, so a typo stops the stack before anything starts.
 * @throws {ConfigError}
 */
export async function planStack(env: Env): Promise<StackPlan> {
  const has = (key: string) => (env[key] ?? '').trim() !== '';
  const ownTemporal = !has(K.TEMPORAL_ADDRESS);
  const useSandbox = !has(K.PLURAL_BASE_URL);
  // Merchant accounts: checked first against the settings as given (an error names MERCHANTS_FILE or MERCHANTS);
  // each merchant without a Plural origin of its own gets a sandbox of its own, with the account's credentials.
  const accounts = hasMerchantAccounts(env) ? loadMerchantAccounts(env, 'dev stack') : undefined;
  const sandboxAccounts = useSandbox ? (accounts ?? []).filter((m) => m.plural.baseUrl === undefined) : [];
  const realGateway = !useSandbox || (accounts ?? []).some((m) => m.plural.baseUrl !== undefined);
  const gatewayIssues = realGateway ? realGatewayIssues(env, accounts) : [];
  const encryptionOff = (env[K.PAYLOAD_ENCRYPTION] ?? '').trim() === 'off';
  const rawDataDir = (env[K.DEV_DATA_DIR] ?? '').trim() || '.data';
  const devKeys =
    encryptionOff || has(K.PAYLOAD_KEYS)
      ? undefined
      : await devPayloadKeys(rawDataDir === 'none' ? undefined : path.resolve(ROOT, rawDataDir));
  // Neither merchant webhook key set: the default merchant's endpoint is the stack's own receiver (merchant accounts
  // name their own endpoints). Not with a real Plural: the receiver lists what it received to whoever asks.
  const ownReceiver = !accounts && !realGateway && !has(K.MERCHANT_WEBHOOK_URL) && !has(K.MERCHANT_WEBHOOK_SECRET);

  // Keys the stack can fill: development API keys with the sandbox (a real Plural needs the operator's own, checked
  // above); Plural's from the sandbox; Temporal's from its dev server.
  const devDefaults: Record<string, string> = {
    // Merchant accounts carry their own keys and return-URL secrets.
    ...(accounts || realGateway
      ? {}
      : {
          [K.API_KEYS]: DEV_API_KEY,
          // Only signs: a return_url is taken once RETURN_URL_ALLOWED_HOSTS names the merchant's hosts.
          [K.RETURN_URL_SIGNING_SECRET]: DEV_RETURN_URL_SIGNING_SECRET,
        }),
    ...(realGateway ? {} : { [K.API_FINGERPRINT_KEY]: DEV_FINGERPRINT_KEY }),
    [K.WORKER_METRICS_HOST]: '127.0.0.1',
    ...(devKeys ? { [K.PAYLOAD_KEYS]: devKeys.value } : {}),
  };
  // The Plural keys for the sandboxes: each merchant account's origin in MERCHANTS, or the single merchant's PLURAL_*.
  const pluralEnv = (sandboxes: ReadonlyMap<string, SandboxAddress>): Record<string, string | undefined> => {
    if (accounts) {
      return {
        [K.MERCHANTS_FILE]: undefined,
        [K.MERCHANTS]: JSON.stringify(
          merchantEntries(env).map((entry) => {
            const origin = sandboxes.get(String(entry.id))?.baseUrl;
            return origin === undefined
              ? entry
              : { ...entry, plural: { ...(entry.plural as object), baseUrl: origin } };
          }),
        ),
      };
    }
    const sandbox = useSandbox ? sandboxes.get(DEFAULT_MERCHANT_ID) : undefined;
    return sandbox
      ? {
          [K.PLURAL_BASE_URL]: sandbox.baseUrl,
          [K.PLURAL_CLIENT_ID]: sandbox.credentials.clientId,
          [K.PLURAL_CLIENT_SECRET]: sandbox.credentials.clientSecret,
          [K.PLURAL_CALLBACK_SECRET_HEX]: sandbox.credentials.callbackSecretHex,
          [K.PLURAL_WEBHOOK_SECRET]: sandbox.credentials.webhookSecret,
        }
      : {};
  };
  const configure = (addresses: StackAddresses): StackConfigs => {
    const composed = withDefaults(env, {
      ...devDefaults,
      ...(ownTemporal ? { [K.TEMPORAL_ADDRESS]: addresses.temporal } : {}),
      ...(ownReceiver
        ? {
            [K.MERCHANT_WEBHOOK_URL]: addresses.receiverUrl,
            [K.MERCHANT_WEBHOOK_SECRET]: DEV_MERCHANT_WEBHOOK_SECRET,
          }
        : {}),
    });
    // The sandbox's credentials replace any stray PLURAL_* values: they belong to the gateway that is not in use.
    return loadAll(
      {
        ...composed,
        ...pluralEnv(addresses.sandboxes),
        [K.CARD_VAULT_URL]: undefined,
        [K.CARD_VAULT_TOKEN]: undefined,
      },
      gatewayIssues,
    );
  };

  // The sandbox runs with its default credentials, so the logger learns the real secrets to mask here too.
  const placeholder: SandboxAddress = { baseUrl: PLACEHOLDERS.pluralBaseUrl, credentials: DEFAULT_CREDENTIALS };
  const preliminary = configure({
    temporal: PLACEHOLDERS.temporal,
    sandboxes: new Map(
      accounts ? sandboxAccounts.map((m) => [m.id, placeholder]) : [[DEFAULT_MERCHANT_ID, placeholder]],
    ),
    receiverUrl: PLACEHOLDERS.receiverUrl,
  });
  return {
    env,
    ownTemporal,
    accounts,
    sandboxAccounts,
    singleSandbox: useSandbox && !accounts,
    ownReceiver,
    realGateway,
    devKeys,
    devApiKey: !accounts && !realGateway && !has(K.API_KEYS),
    dataDir: preliminary.dev.DEV_DATA_DIR === 'none' ? undefined : path.resolve(ROOT, preliminary.dev.DEV_DATA_DIR),
    preliminary,
    configure,
  };
}
