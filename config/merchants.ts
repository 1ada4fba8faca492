/**
 * Merchant accounts: one engine serving several merchants, each with its API keys, its own Plural credentials and
 * secrets, its webhook endpoints and the hosts its return URLs may point to. Read once at start-up, by the API and
 * the worker alike, from `MERCHANTS_FILE` (a JSON file) or `MERCHANTS` (the same JSON inline). Neither set: one
 * merchant, `default`, from the single-merchant keys (`API_KEYS`, `PLURAL_*`), exactly as before merchants existed.
 *
 * Errors name the setting, the entry and the field, never a value (most are secrets, and a JSON parser's own message
 * may quote the text around a mistake).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEFAULT_MERCHANT_ID, MERCHANT_ID_PATTERN } from '../workflows/definitions';
import { knownDevValue } from './dev-values';
import { asHttpUrl, asPageUrl, RETURN_SIGNING_SECRET_MIN_LENGTH } from './fields';
import { CONFIG_KEYS as K } from './keys';
import { ConfigError } from './load';
import type { ConfigIssue, Env } from './load';
import { isProduction } from './production';
import { WEBHOOK_SECRET_PATTERN } from '../merchant-webhooks/signing';

export { DEFAULT_MERCHANT_ID, MERCHANT_ID_PATTERN };

/** Shortest accepted API key (`openssl rand -hex 16` gives 32 characters); as `API_KEYS`. */
const API_KEY_MIN_LENGTH = 16;
/** Shortest accepted merchant-webhook signing secret. */
export const WEBHOOK_ENDPOINT_SECRET_MIN_LENGTH = 24;
/** The most merchants one engine takes: each has its own Plural client (and token) in every worker. */
export const MAX_MERCHANTS = 1000;

/** One endpoint of the merchant's backend that receives the engine's signed events (merchant webhooks). */
export interface MerchantWebhookEndpoint {
  /** Stable id of the endpoint (unique within the merchant); given (required with several), or `endpoint-1` for a lone one. */
  readonly id: string;
  readonly url: string;
  /** The endpoint's signing secret (Standard Webhooks). */
  readonly secret: string;
}

/** A merchant's Plural account. */
export interface MerchantPluralAccount {
  /** Plural's origin for this merchant; unset: `PLURAL_BASE_URL`. */
  readonly baseUrl: string | undefined;
  /** Client id and secret; the worker needs them, the API only for customers. */
  readonly credentials: { readonly clientId: string; readonly clientSecret: string } | undefined;
  /** Hex key that verifies Plural's signed browser callbacks for this merchant (API). */
  readonly callbackSecretHex: string | undefined;
  /** Secret that verifies Plural's webhooks for this merchant (API). */
  readonly webhookSecret: string | undefined;
}

/** A merchant account. */
export interface MerchantAccount {
  /** Lowercase slug ({@link MERCHANT_ID_PATTERN}): in workflow ids, the `MerchantId` search attribute and URL paths. */
  readonly id: string;
  /** Bearer keys of this merchant (several during a rotation). Empty in the worker's single-merchant view. */
  readonly apiKeys: readonly string[];
  readonly plural: MerchantPluralAccount;
  readonly webhookEndpoints: readonly MerchantWebhookEndpoint[];
  /** Hosts (`host` or `host:port`, lowercase) a payment's `return_url` may point to. */
  readonly returnUrlHosts: readonly string[];
  /** Signs the status a `return_url` redirect carries (required with `returnUrlHosts`). */
  readonly returnUrlSigningSecret?: string | undefined;
  /**
   * The merchant's own return pages, for a payment started without a `return_url`; unset: the API's
   * `MERCHANT_SUCCESS_URL` / `MERCHANT_FAILURE_URL`, which every such merchant shares.
   */
  readonly returnPages?: { readonly success: string; readonly failure: string } | undefined;
}

/** Where the merchant accounts came from: the file or inline setting, or the single-merchant keys. */
export type MerchantSource = typeof K.MERCHANTS_FILE | typeof K.MERCHANTS | 'single-merchant keys';

/** The merchant accounts of a process, and the accessors other modules use. */
export class MerchantDirectory {
  private readonly byId: ReadonlyMap<string, MerchantAccount>;

  constructor(
    readonly merchants: readonly MerchantAccount[],
    readonly source: MerchantSource = 'single-merchant keys',
  ) {
    if (merchants.length === 0) throw new TypeError('MerchantDirectory: at least one merchant is required');
    this.byId = new Map(merchants.map((m) => [m.id, m]));
    if (this.byId.size !== merchants.length) throw new TypeError('MerchantDirectory: merchant ids must be unique');
  }

  /** The merchant with this id, or undefined. */
  get(merchantId: string): MerchantAccount | undefined {
    return this.byId.get(merchantId);
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }

  /** The merchant's webhook endpoints (empty for an unknown merchant). */
  merchantWebhookEndpoints(merchantId: string): readonly MerchantWebhookEndpoint[] {
    return this.byId.get(merchantId)?.webhookEndpoints ?? [];
  }

  /** The hosts the merchant's return URLs may point to (empty for an unknown merchant: nothing is allowed). */
  returnUrlHostsFor(merchantId: string): readonly string[] {
    return this.byId.get(merchantId)?.returnUrlHosts ?? [];
  }

  /** The secret the merchant's `return_url` redirects are signed with (undefined: its payments take none). */
  returnSigningSecretFor(merchantId: string): string | undefined {
    return this.byId.get(merchantId)?.returnUrlSigningSecret;
  }

  /** Every secret value of every merchant, for the logger's `knownSecrets`. */
  secrets(): string[] {
    const out: string[] = [];
    for (const m of this.merchants) {
      out.push(...m.apiKeys);
      const p = m.plural;
      if (p.credentials) out.push(p.credentials.clientSecret);
      if (p.callbackSecretHex !== undefined) out.push(p.callbackSecretHex);
      if (p.webhookSecret !== undefined) out.push(p.webhookSecret);
      for (const e of m.webhookEndpoints) out.push(e.secret);
      if (m.returnUrlSigningSecret !== undefined) out.push(m.returnUrlSigningSecret);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The JSON format
// ---------------------------------------------------------------------------------------------------------------

const str = (what: string, min = 1, max = 1024) =>
  z
    .string({ error: (i) => (i.input === undefined ? `is required (${what})` : `must be a string (${what})`) })
    .trim()
    .min(min, { error: `must be at least ${min} characters (${what})` })
    .max(max, { error: `must be at most ${max} characters (${what})` });

const httpUrlString = (what: string) => asHttpUrl(str(what, 1, 2048), what);
const pageUrlString = (what: string) => asPageUrl(str(what, 1, 2048), what);

/** A host name or IPv4 address, optionally with a port; IPv6 in brackets. Lowercased. */
const HOST_PATTERN =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;

const merchantSchema = z
  .object({
    id: z.string({ error: 'is required (the merchant id, a lowercase slug)' }).regex(MERCHANT_ID_PATTERN, {
      error: 'must be 1-32 lowercase letters, digits or "-", starting and ending with a letter or digit',
    }),
    apiKeys: z
      .array(
        str(`an API key of ${API_KEY_MIN_LENGTH}-256 characters`, API_KEY_MIN_LENGTH, 256).regex(/^\S+$/, {
          error: 'must not contain spaces',
        }),
        { error: 'is required (the merchant API keys, a list)' },
      )
      .min(1, { error: 'must hold at least one key' })
      .max(20, { error: 'must hold at most 20 keys' }),
    plural: z
      .object(
        {
          baseUrl: httpUrlString('the Plural API origin of this merchant').optional(),
          clientId: str('the merchant client id issued by Plural', 1, 256),
          clientSecret: str('the merchant client secret issued by Plural'),
          callbackSecretHex: str('the callback signing key issued by Plural, hex', 32).regex(/^(?:[0-9a-fA-F]{2})+$/, {
            error: 'must be an even-length hex string of at least 16 bytes',
          }),
          webhookSecret: str('the webhook signing secret issued by Plural'),
        },
        {
          error: 'is required (the merchant Plural account: clientId, clientSecret, callbackSecretHex, webhookSecret)',
        },
      )
      .strict(),
    webhookEndpoints: z
      .array(
        z
          .object(
            {
              id: z
                .string()
                .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be 1-64 letters, digits, "_" or "-"' })
                .optional(),
              url: pageUrlString("the merchant backend's webhook URL"),
              secret: str('the endpoint signing secret', WEBHOOK_ENDPOINT_SECRET_MIN_LENGTH).regex(
                WEBHOOK_SECRET_PATTERN,
                { error: 'must be whsec_ followed by standard base64 of 24 to 64 random bytes (Standard Webhooks)' },
              ),
            },
            { error: 'must be an object { id?, url, secret }' },
          )
          .strict(),
        { error: 'must be a list of { id?, url, secret }' },
      )
      .max(10, { error: 'must hold at most 10 endpoints' })
      .default([]),
    returnUrlHosts: z
      .array(
        z
          .string({ error: 'must be a string (a host name)' })
          .trim()
          .toLowerCase()
          .regex(HOST_PATTERN, { error: 'must be a host name (optionally with :port), without scheme or path' }),
        { error: 'must be a list of host names' },
      )
      .max(100, { error: 'must hold at most 100 hosts' })
      .default([]),
    returnUrlSigningSecret: str(
      'the secret return_url redirects are signed with',
      RETURN_SIGNING_SECRET_MIN_LENGTH,
    ).optional(),
    returnPages: z
      .object(
        {
          success: pageUrlString('the page a successful payment without return_url returns the browser to'),
          failure: pageUrlString('the page a failed payment without return_url returns the browser to'),
        },
        { error: 'must be an object { success, failure } of page URLs' },
      )
      .strict()
      .optional(),
  })
  .strict();

const merchantsSchema = z
  .array(merchantSchema, { error: 'must be a JSON array of merchant accounts' })
  .min(1, { error: 'must hold at least one merchant' })
  .max(MAX_MERCHANTS, { error: `must hold at most ${MAX_MERCHANTS} merchants` });

type ParsedMerchant = z.output<typeof merchantSchema>;

/** `merchant acme (entry 2)`, or `entry 2` when the id is unusable. */
function entryName(raw: unknown, index: number): string {
  const id =
    Array.isArray(raw) && raw[index] !== null && typeof raw[index] === 'object'
      ? (raw[index] as { id?: unknown }).id
      : undefined;
  return typeof id === 'string' && MERCHANT_ID_PATTERN.test(id)
    ? `merchant ${id} (entry ${index + 1})`
    : `entry ${index + 1}`;
}

/** The origin of a Plural base URL, or '' when there is none (or it is not a URL: its own check reports that). */
function accountOrigin(baseUrl: string | undefined): string {
  if (baseUrl === undefined) return '';
  try {
    return new URL(baseUrl).origin;
  } catch {
    return '';
  }
}

/** A zod issue path as `plural.clientSecret`, `webhookEndpoints[0].url`. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out === '' ? '' : '.'}${String(p)}`;
  return out;
}

/**
 * Checks across entries: unique ids, an API key belongs to one merchant only, one merchant per Plural account (a
 * merchant without `plural.baseUrl` is on `defaultBaseUrl`, the process's `PLURAL_BASE_URL`), endpoint ids given
 * and unique.
 */
function crossIssues(key: string, merchants: readonly ParsedMerchant[], defaultBaseUrl?: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const ids = new Map<string, number>();
  const keys = new Map<string, string>();
  const accounts = new Map<string, string>();
  merchants.forEach((m, i) => {
    const where = `merchant ${m.id} (entry ${i + 1})`;
    // One Plural account per merchant: its customers, saved cards and order references are the account's, so a
    // second merchant on the same account could read the first's customers' cards.
    const account = `${accountOrigin(m.plural.baseUrl ?? defaultBaseUrl)} ${m.plural.clientId}`;
    const accountOwner = accounts.get(account);
    if (accountOwner !== undefined) {
      issues.push({
        key,
        message:
          `${where}: plural.clientId is also merchant ${accountOwner}'s at the same Plural origin (each merchant ` +
          'needs a Plural account of its own: customers, saved cards and order references belong to the account; ' +
          'give one merchant several apiKeys instead)',
      });
    } else accounts.set(account, m.id);
    const first = ids.get(m.id);
    if (first !== undefined) issues.push({ key, message: `${where}: id is already used by entry ${first + 1}` });
    else ids.set(m.id, i);
    for (const [k, apiKey] of m.apiKeys.entries()) {
      const owner = keys.get(apiKey);
      if (owner !== undefined) {
        issues.push({
          key,
          message: `${where}: apiKeys[${k}] is also a key of merchant ${owner} (each key identifies one merchant)`,
        });
      } else keys.set(apiKey, m.id);
    }
    if (m.returnUrlHosts.length > 0 && m.returnUrlSigningSecret === undefined) {
      issues.push({ key, message: `${where}: returnUrlSigningSecret is required with returnUrlHosts` });
    }
    const endpointIds = new Set<string>();
    m.webhookEndpoints.forEach((e, j) => {
      // A running payment names its endpoints by id for as long as it lives (a refund window is months): an id from
      // the list's order would name another endpoint once the list is edited.
      if (e.id === undefined && m.webhookEndpoints.length > 1) {
        issues.push({
          key,
          message:
            `${where}: webhookEndpoints[${j}].id is required when a merchant has several endpoints (running ` +
            'payments name their endpoints by id; a position would change when the list is edited; to keep the ids ' +
            `running payments hold, give endpoint-${j + 1})`,
        });
      }
      const id = e.id ?? `endpoint-${j + 1}`;
      if (endpointIds.has(id)) issues.push({ key, message: `${where}: webhookEndpoints[${j}].id repeats ${id}` });
      endpointIds.add(id);
    });
  });
  return issues;
}

/** The raw JSON text of the merchant setting, or undefined when neither key is set. */
function merchantsText(env: Readonly<Record<string, string>>): { key: MerchantSource; text: string } | undefined {
  const file = env[K.MERCHANTS_FILE];
  const inline = env[K.MERCHANTS];
  if (file !== undefined && inline !== undefined) {
    throw new ConfigError('merchants', [
      { key: K.MERCHANTS, message: 'must not be set together with MERCHANTS_FILE (choose one)' },
    ]);
  }
  if (inline !== undefined) return { key: K.MERCHANTS, text: inline };
  if (file === undefined) return undefined;
  try {
    return { key: K.MERCHANTS_FILE, text: readFileSync(file, 'utf8') };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new ConfigError('merchants', [
      {
        key: K.MERCHANTS_FILE,
        message: `cannot be read (${typeof code === 'string' ? code : 'error'}); it must name a readable JSON file`,
      },
    ]);
  }
}

/** Keys of the single-merchant configuration, which a merchant entry replaces. */
export const SINGLE_MERCHANT_KEYS = [
  K.API_KEYS,
  K.PLURAL_CLIENT_ID,
  K.PLURAL_CLIENT_SECRET,
  K.PLURAL_CALLBACK_SECRET_HEX,
  K.PLURAL_WEBHOOK_SECRET,
  K.RETURN_URL_ALLOWED_HOSTS,
  K.RETURN_URL_SIGNING_SECRET,
  K.MERCHANT_WEBHOOK_URL,
  K.MERCHANT_WEBHOOK_SECRET,
] as const;

/** Whether `env` configures merchant accounts (`MERCHANTS_FILE` or `MERCHANTS`, non-empty). */
export function hasMerchantAccounts(env: Env): boolean {
  return [K.MERCHANTS_FILE, K.MERCHANTS].some((k) => (env[k]?.trim() ?? '') !== '');
}

/**
 * Reads the merchant accounts of `MERCHANTS_FILE` / `MERCHANTS`; undefined when neither is set (the single-merchant
 * configuration applies). The single-merchant keys must then be unset: each merchant's entry holds its own.
 * @throws {ConfigError} naming the setting, the entry and the field of every problem, never a value.
 */
export function loadMerchantAccounts(env: Env, processName: string): MerchantAccount[] | undefined {
  const present: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v.trim() !== '') present[k] = v.trim();
  let source: ReturnType<typeof merchantsText>;
  try {
    source = merchantsText(present);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(processName, err.issues);
    throw err;
  }
  if (source === undefined) return undefined;
  const { key } = source;
  const issues: ConfigIssue[] = [];
  for (const single of SINGLE_MERCHANT_KEYS) {
    if (present[single] !== undefined) {
      issues.push({ key: single, message: `must be unset when ${key} is set (each merchant's entry holds its own)` });
    }
  }
  let raw: unknown;
  try {
    raw = JSON.parse(source.text);
  } catch {
    // Never the parser's message: it quotes the text around the mistake, which may be a secret.
    throw new ConfigError(processName, [...issues, { key, message: 'is not valid JSON (a JSON array of merchants)' }]);
  }
  const result = merchantsSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const [index, ...rest] = issue.path;
      const message =
        typeof index === 'number'
          ? `${entryName(raw, index)}: ${rest.length > 0 ? `${fieldPath(rest)} ` : ''}${issue.message}`
          : issue.message;
      issues.push({ key, message });
    }
    throw new ConfigError(processName, issues);
  }
  issues.push(...crossIssues(key, result.data, present[K.PLURAL_BASE_URL]));
  if (issues.length > 0) throw new ConfigError(processName, issues);
  return result.data.map((m) => ({
    id: m.id,
    apiKeys: m.apiKeys,
    plural: {
      baseUrl: m.plural.baseUrl,
      credentials: { clientId: m.plural.clientId, clientSecret: m.plural.clientSecret },
      callbackSecretHex: m.plural.callbackSecretHex,
      webhookSecret: m.plural.webhookSecret,
    },
    webhookEndpoints: m.webhookEndpoints.map((e, j) => ({
      id: e.id ?? `endpoint-${j + 1}`,
      url: e.url,
      secret: e.secret,
    })),
    returnUrlHosts: [...new Set(m.returnUrlHosts)],
    returnUrlSigningSecret: m.returnUrlSigningSecret,
    ...(m.returnPages ? { returnPages: { success: m.returnPages.success, failure: m.returnPages.failure } } : {}),
  }));
}

/** The single merchant of the single-merchant configuration, from the keys a process has already validated. */
export function defaultMerchant(fields: {
  apiKeys?: readonly string[];
  plural: Partial<MerchantPluralAccount>;
  webhookEndpoints?: readonly MerchantWebhookEndpoint[];
  returnUrlHosts?: readonly string[];
  returnUrlSigningSecret?: string | undefined;
}): MerchantAccount {
  return {
    id: DEFAULT_MERCHANT_ID,
    apiKeys: fields.apiKeys ?? [],
    plural: {
      baseUrl: fields.plural.baseUrl,
      credentials: fields.plural.credentials,
      callbackSecretHex: fields.plural.callbackSecretHex,
      webhookSecret: fields.plural.webhookSecret,
    },
    webhookEndpoints: fields.webhookEndpoints ?? [],
    returnUrlHosts: fields.returnUrlHosts ?? [],
    returnUrlSigningSecret: fields.returnUrlSigningSecret,
  };
}

/**
 * Production mode's refusals in merchant entries: a value this repository publishes (the sandbox's credentials, the
 * dev stack's API key…) in any merchant's keys or secrets. Empty outside production mode.
 */
export function merchantProductionIssues(
  env: Env,
  source: MerchantSource,
  merchants: readonly MerchantAccount[],
): ConfigIssue[] {
  if (!isProduction(env)) return [];
  return publishedValueIssues(source, merchants);
}

/**
 * A value this repository publishes in merchant entries, named by merchant and field, never the value: in every key
 * and secret, or (`engineSide`) only in those that guard the engine's own doors (API keys, webhook endpoint
 * secrets, the return-URL secret), for accounts whose Plural credentials are a sandbox's to publish.
 */
export function publishedValueIssues(
  source: MerchantSource,
  merchants: readonly MerchantAccount[],
  engineSide = false,
): ConfigIssue[] {
  if (source === 'single-merchant keys') return [];
  const issues: ConfigIssue[] = [];
  const check = (m: MerchantAccount, field: string, value: string | undefined): void => {
    const known = value === undefined ? undefined : knownDevValue(value);
    if (known) issues.push({ key: source, message: `merchant ${m.id}: ${field} is ${known.what}` });
  };
  for (const m of merchants) {
    m.apiKeys.forEach((k, i) => check(m, `apiKeys[${i}]`, k));
    if (!engineSide) {
      check(m, 'plural.clientId', m.plural.credentials?.clientId);
      check(m, 'plural.clientSecret', m.plural.credentials?.clientSecret);
      check(m, 'plural.callbackSecretHex', m.plural.callbackSecretHex);
      check(m, 'plural.webhookSecret', m.plural.webhookSecret);
    }
    m.webhookEndpoints.forEach((e, i) => check(m, `webhookEndpoints[${i}].secret`, e.secret));
    check(m, 'returnUrlSigningSecret', m.returnUrlSigningSecret);
  }
  return issues;
}
