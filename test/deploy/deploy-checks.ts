/**
 * Static checks of docker-compose.yml and the Dockerfile, for CI machines that have no Docker engine. Each check
 * returns the problems it found (empty: fine), so the tests can run it on the real files and on broken copies.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import type { SearchAttributeType } from '@temporalio/common';
import { parse } from 'yaml';
import {
  API_DEFAULTS,
  CODEC_SERVER_DEFAULTS,
  CONFIG_KEYS,
  ConfigError,
  SECRET_KEYS,
  loadApiConfig,
  loadCodecServerConfig,
  loadWorkerConfig,
  WORKER_DEFAULTS,
} from '../../config';
import { SEARCH_ATTRIBUTE } from '../../workflows/definitions';

/** Repository root. */
export const ROOT = path.join(__dirname, '..', '..');
export const COMPOSE_PATH = path.join(ROOT, 'docker-compose.yml');
export const MERCHANTS_OVERRIDE_PATH = path.join(ROOT, 'docker-compose.merchants.yml');
export const ENV_EXAMPLE_PATH = path.join(ROOT, '.env.example');
export const DOCKERFILE_PATH = path.join(ROOT, 'Dockerfile');
export const COMPOSE_SCHEMA_PATH = path.join(__dirname, '..', 'fixtures', 'schemas', 'compose-spec.json');

/** The engine's services (built from the Dockerfile) and the source of the process each one must run. */
export const ENGINE_SERVICES = {
  worker: 'worker/main.ts',
  api: 'api/server.ts',
  sandbox: 'plural-sandbox/main.ts',
  'codec-server': 'payload-codec/main.ts',
};

/** Where `npm run build` (tsc -p tsconfig.build.json) puts the JavaScript compiled from `source`. */
export function compiledEntry(source: string): string {
  return path.posix.join('dist', source.replace(/\.ts$/, '.js'));
}

/** The Node.js LTS line the image runs (and CI tests on besides the machines' Node 20). */
export const NODE_LTS_MAJOR = 24;
export const TSCONFIG_BUILD_PATH = path.join(ROOT, 'tsconfig.build.json');

/**
 * Variables the operator must set in the shell or `.env` (the compose file has no default for them, on purpose):
 * the checks read the file as if these were set, to values of an operator's own (none of them published).
 */
export const REQUIRED_SHELL_VARS: Readonly<Record<string, string>> = {
  POSTGRES_PASSWORD: 'compose-check-postgres-password',
  API_KEYS: 'compose-check-api-key-0123456789',
  API_FINGERPRINT_KEY: 'compose-check-fingerprint-key-0123456789',
  CARD_VAULT_TOKEN: 'compose-check-card-vault-token-0123456789',
  API_METRICS_TOKEN: 'compose-check-metrics-token-0123456789ab',
  PAYLOAD_KEYS: `compose-check:${Buffer.alloc(32, 1).toString('base64')}`,
  PLURAL_CLIENT_ID: 'compose-check-client',
  PLURAL_CLIENT_SECRET: 'compose-check-client-secret',
  PLURAL_CALLBACK_SECRET_HEX: 'c0ffee'.repeat(8),
  PLURAL_WEBHOOK_SECRET: 'compose-check-webhook-secret',
  // The trial's choice (.env.example): the bundled sandbox.
  PLURAL_BASE_URL: 'http://sandbox:8090',
  // The trial's public address (.env.example); production's is the HTTPS origin Plural reaches.
  API_PUBLIC_URL: 'http://localhost:8080',
};

/**
 * Environment variables whose values are secrets, in any service: the engine's `SECRET_KEYS`, the Plural client id
 * (the sandbox's is published), the sandbox's own names for the same values, and the database password.
 */
export const COMPOSE_SECRET_VARS: ReadonlySet<string> = new Set([
  ...SECRET_KEYS,
  'PLURAL_CLIENT_ID',
  'SANDBOX_CLIENT_ID',
  'SANDBOX_CLIENT_SECRET',
  'SANDBOX_CALLBACK_SECRET_HEX',
  'SANDBOX_WEBHOOK_SECRET',
  'POSTGRES_PASSWORD',
  'POSTGRES_PWD',
  'SQL_PASSWORD',
]);

/**
 * Secrets that may be left empty (`${VAR:-}`: unset), because the process has an explicit mode without them:
 * the codec server's tokens, unused with `CODEC_SERVER_AUTH=none` (the Temporal UI cannot send one).
 */
export const OPTIONAL_EMPTY_SECRETS: ReadonlySet<string> = new Set(['CODEC_SERVER_TOKENS']);

/**
 * Where each service may publish a port on the host: `any` interface (the API: the one door), `loopback` only
 * (`127.0.0.1:…`: the UI, its codec server and the sandbox's pages, for a browser on the host), and no other
 * service at all (Temporal's gRPC port, the worker's metrics, the database).
 */
export const PUBLISHED_PORTS: Readonly<Record<string, 'any' | 'loopback'>> = {
  api: 'any',
  'temporal-ui': 'loopback',
  'codec-server': 'loopback',
  sandbox: 'loopback',
};

export type Compose = { services: Record<string, Service> } & Record<string, unknown>;
export interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { target: number; published?: string | number; host_ip?: string })[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  [key: string]: unknown;
}

/** Parses compose YAML the way Compose does (YAML merge keys resolved). */
export function parseCompose(source: string): Compose {
  return parse(source, { merge: true }) as Compose;
}

export function readCompose(): Compose {
  return parseCompose(readFileSync(COMPOSE_PATH, 'utf8'));
}

/** A value tagged `!reset` in an override file: Compose (2.24+) removes the key the earlier files set. */
export const RESET: unique symbol = Symbol('!reset');

/** Parses a Compose override file, its `!reset` values as {@link RESET}. */
export function parseOverride(source: string): Record<string, unknown> {
  return parse(source, {
    merge: true,
    customTags: [{ tag: '!reset', resolve: () => RESET as unknown as string }],
  }) as Record<string, unknown>;
}

/**
 * `docker compose -f base -f override` for what this repository's overrides use: mappings merge key by key, a
 * `!reset` removes the key, a sequence appends the override's entries it lacks, anything else is replaced.
 * (Compose interpolates each file before merging: {@link serviceEnv} on the result resolves the base's variables.)
 */
export function mergeCompose(base: Compose, override: Record<string, unknown>): Compose {
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const merge = (a: unknown, b: unknown): unknown => {
    if (isMap(a) && isMap(b)) {
      const out: Record<string, unknown> = { ...a };
      for (const [key, value] of Object.entries(b)) {
        if (value === RESET) delete out[key];
        else out[key] = key in out ? merge(out[key], value) : value;
      }
      return out;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      const seen = new Set(a.map((x) => JSON.stringify(x)));
      return [...a, ...b.filter((x) => !seen.has(JSON.stringify(x)))];
    }
    return b;
  };
  return merge(structuredClone(base), override) as Compose;
}

/** A deep copy to break in a test. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Compose

/** Validates against the Compose JSON Schema (draft-07). */
export function schemaProblems(doc: unknown): string[] {
  const schema = JSON.parse(readFileSync(COMPOSE_SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
  // Draft-07 is Ajv's default. The spec names its meta-schema by an https URL Ajv does not register, and uses
  // `format`s and a `deprecated` annotation that Ajv does not check without plugins: validate the file, not the spec.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, validateSchema: false });
  const validate = ajv.compile(schema);
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

/** A `${VAR:?message}` whose variable is unset: Compose refuses to start, printing the message. */
export class MissingVariableError extends Error {
  constructor(
    readonly variable: string,
    readonly hint: string,
  ) {
    super(`required variable ${variable} is missing a value: ${hint}`);
  }
}

/**
 * Resolves Compose interpolation with the given shell variables: `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?message}`, `${VAR?message}`, `$VAR` and `$$` (a literal `$`). Unset variables without a default become
 * empty, as Compose does.
 * @throws {MissingVariableError} for `${VAR:?message}` with VAR unset or empty (`${VAR?message}`: unset).
 */
export function interpolate(value: string, vars: Record<string, string | undefined> = {}): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, braced: string | undefined, op: string | undefined, fallback: string | undefined, bare?: string) => {
      if (match === '$$') return '$';
      const name = braced ?? bare ?? '';
      const current = vars[name];
      if (op === ':-') return current === undefined || current === '' ? (fallback ?? '') : current;
      if (op === '-') return current === undefined ? (fallback ?? '') : current;
      if ((op === ':?' && (current === undefined || current === '')) || (op === '?' && current === undefined)) {
        throw new MissingVariableError(name, fallback ?? '');
      }
      return current ?? '';
    },
  );
}

/** A service's environment with interpolation resolved (as if only {@link REQUIRED_SHELL_VARS} were set). */
export function serviceEnv(
  service: Service,
  vars: Record<string, string | undefined> = REQUIRED_SHELL_VARS,
): Record<string, string> {
  const env: Record<string, string> = {};
  const raw = service.environment ?? {};
  const entries: [string, string][] = Array.isArray(raw)
    ? raw.map((line) => {
        const i = line.indexOf('=');
        return i < 0 ? [line, ''] : [line.slice(0, i), line.slice(i + 1)];
      })
    : Object.entries(raw).map(([k, v]) => [k, v === null ? '' : String(v)]);
  for (const [k, v] of entries) env[k] = interpolate(v, vars);
  return env;
}

const asList = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : value.split(/\s+/).filter(Boolean);

/** Container ports a service publishes. */
export function containerPorts(service: Service): number[] {
  return publishedPorts(service).map((p) => p.target);
}

/** A published port: the host interface (`undefined`: every interface), host port and container port. */
export interface PublishedPort {
  hostIp: string | undefined;
  published: string | undefined;
  target: number;
}

/** The ports a service publishes, short (`[ip:][host:]container[/proto]`) or long form. */
export function publishedPorts(service: Service): PublishedPort[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p === 'object') {
      return {
        hostIp: p.host_ip,
        published: p.published === undefined ? undefined : String(p.published),
        target: Number(p.target),
      };
    }
    const parts = String(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const target = Number(parts.at(-1));
    if (parts.length >= 3) return { hostIp: parts.slice(0, -2).join(':'), published: parts.at(-2), target };
    return { hostIp: undefined, published: parts.length === 2 ? parts[0] : undefined, target };
  });
}

/** Container ports a service exposes to the other services only (`expose:`). */
export function exposedPorts(service: Service): number[] {
  return ((service.expose as (string | number)[] | undefined) ?? []).map((p) =>
    Number(String(p).replace(/\/(tcp|udp)$/, '')),
  );
}

/** Ports other services reach a service at: those it exposes inside the network and those it publishes. */
export function networkPorts(service: Service): number[] {
  return [...exposedPorts(service), ...containerPorts(service)];
}

function packageScripts(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  return pkg.scripts ?? {};
}

/**
 * Every engine service runs its own entry file compiled (`dist/…/*.js`, from an existing source), as
 * `npm run <script>` (an existing script) or `node <file>`, never TypeScript through tsx (the image has neither); every
 * other service's script comes from an existing file mounted into it.
 */
export function commandProblems(doc: Compose): string[] {
  const problems: string[] = [];
  const scripts = packageScripts();
  for (const [name, expected] of Object.entries(ENGINE_SERVICES)) {
    const service = doc.services[name];
    if (!service) {
      problems.push(`service ${name} is missing`);
      continue;
    }
    if (service.build === undefined) problems.push(`${name}: must be built from the Dockerfile (build: .)`);
    const cmd = asList(service.command);
    let run: string[];
    if (cmd[0] === 'npm' && cmd[1] === 'run') {
      const script = scripts[cmd[2] ?? ''];
      if (script === undefined) {
        problems.push(`${name}: npm script "${cmd[2] ?? ''}" does not exist in package.json`);
        continue;
      }
      run = script.split(/\s+/);
    } else if (cmd[0] === 'node') {
      run = cmd;
    } else {
      problems.push(`${name}: command must be "npm run <script>" or "node <file>", got ${JSON.stringify(cmd)}`);
      continue;
    }
    if (run.some((part) => /\btsx\b/.test(part))) {
      problems.push(`${name}: runs TypeScript through tsx; the image holds compiled JavaScript only (node dist/…)`);
    }
    const file = run.slice(1).find((part) => /\.[cm]?[jt]s$/.test(part));
    const compiled = compiledEntry(expected);
    if (file === undefined) problems.push(`${name}: command names no entry file`);
    else if (path.normalize(file) !== path.normalize(compiled)) problems.push(`${name}: runs ${file}, not ${compiled}`);
    else if (!existsSync(path.join(ROOT, expected))) problems.push(`${name}: the source ${expected} does not exist`);
  }
  for (const [name, service] of Object.entries(doc.services)) {
    for (const volume of service.volumes ?? []) {
      const source = typeof volume === 'string' ? volume.split(':')[0] : volume.source;
      if (source !== undefined && source.startsWith('.') && !existsSync(path.join(ROOT, source))) {
        problems.push(`${name}: mounted path ${source} does not exist`);
      }
    }
    if (name in ENGINE_SERVICES) continue;
    const mounted = (service.volumes ?? []).flatMap((v) => {
      if (typeof v !== 'string') return v.source === undefined ? [] : [[v.source, v.target] as const];
      const [source, target] = v.split(':');
      return source !== undefined && target !== undefined ? [[source, target] as const] : [];
    });
    for (const arg of [...asList(service.entrypoint), ...asList(service.command)]) {
      if (!arg.startsWith('/scripts/')) continue;
      const mount = mounted.find(([, target]) => target === arg);
      if (!mount) problems.push(`${name}: runs ${arg}, which no volume mounts`);
      else if (!existsSync(path.join(ROOT, mount[0]))) problems.push(`${name}: ${arg} comes from missing ${mount[0]}`);
    }
  }
  return problems;
}

function configProblem(err: unknown): string {
  return err instanceof ConfigError ? err.issues.map((i) => `${i.key} ${i.message}`).join('; ') : String(err);
}

const SANDBOX_MAIN = path.join(ROOT, 'plural-sandbox', 'main.ts');

/** `SANDBOX_*` keys the sandbox's entry point reads, and its default port, from its source. */
export function sandboxKeys(): { keys: Set<string>; defaultPort: number } {
  const source = readFileSync(SANDBOX_MAIN, 'utf8');
  const keys = new Set(source.match(/\bSANDBOX_[A-Z0-9_]+\b/g) ?? []);
  const port = /SANDBOX_PORT:[^\n]*\.default\((\d+)\)/.exec(source)?.[1];
  if (port === undefined) throw new Error('cannot find the default of SANDBOX_PORT in plural-sandbox/main.ts');
  return { keys, defaultPort: Number(port) };
}

/** Every variable set on the worker/API is a config key (the sandbox: a `SANDBOX_*` key it reads). */
export function envKeyProblems(doc: Compose): string[] {
  const problems: string[] = [];
  const known = new Set<string>(Object.values(CONFIG_KEYS));
  const sandbox = sandboxKeys().keys;
  for (const name of Object.keys(ENGINE_SERVICES)) {
    const env = serviceEnv(doc.services[name] ?? {});
    for (const key of Object.keys(env)) {
      const ok = name === 'sandbox' ? sandbox.has(key) : known.has(key);
      if (!ok) problems.push(`${name}: ${key} is not a configuration key the ${name} reads`);
    }
  }
  return problems;
}

/**
 * The worker's, API's and codec server's environments (defaults applied, the operator's `.env` values set) satisfy
 * their config schemas in production mode, as the image runs them (`NODE_ENV=production`).
 */
export function configProblems(doc: Compose, vars: Record<string, string | undefined> = REQUIRED_SHELL_VARS): string[] {
  const problems: string[] = [];
  const envOf = (name: string) => ({ ...serviceEnv(doc.services[name] ?? {}, vars), NODE_ENV: 'production' });
  try {
    loadWorkerConfig(envOf('worker'));
  } catch (err) {
    problems.push(`worker: ${configProblem(err)}`);
  }
  try {
    loadApiConfig(envOf('api'));
  } catch (err) {
    problems.push(`api: ${configProblem(err)}`);
  }
  try {
    loadCodecServerConfig(envOf('codec-server'));
  } catch (err) {
    problems.push(`codec-server: ${configProblem(err)}`);
  }
  return problems;
}

/** The port each engine process listens on, from its environment or its code's default. */
export function listenPorts(doc: Compose): Record<keyof typeof ENGINE_SERVICES, number | undefined> {
  const safe = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch {
      return undefined;
    }
  };
  const sandboxEnv = serviceEnv(doc.services.sandbox ?? {});
  return {
    worker: safe(() => loadWorkerConfig(serviceEnv(doc.services.worker ?? {})).metrics.port),
    api: safe(() => loadApiConfig(serviceEnv(doc.services.api ?? {})).listen.port),
    sandbox: sandboxEnv.SANDBOX_PORT !== undefined ? Number(sandboxEnv.SANDBOX_PORT) : sandboxKeys().defaultPort,
    'codec-server': safe(() => loadCodecServerConfig(serviceEnv(doc.services['codec-server'] ?? {})).listen.port),
  };
}

/** The port of the API's card-vault listener (`CARD_VAULT_PORT`), where the API's configuration parses. */
function cardVaultPort(doc: Compose): number | undefined {
  try {
    return loadApiConfig(serviceEnv(doc.services.api ?? {})).cardVaultListen.port;
  } catch {
    return undefined;
  }
}

/**
 * Published and exposed ports and health checks hit the port each process listens on, and the process listens on
 * all interfaces (a loopback-only listener cannot be reached from another container).
 */
export function portProblems(doc: Compose): string[] {
  const problems: string[] = [];
  const listen = listenPorts(doc);
  for (const name of Object.keys(ENGINE_SERVICES) as (keyof typeof ENGINE_SERVICES)[]) {
    const service = doc.services[name] ?? {};
    const port = listen[name];
    if (port === undefined) {
      problems.push(`${name}: its configuration does not parse, so its port is unknown`);
      continue;
    }
    const published = containerPorts(service);
    const exposed = exposedPorts(service);
    if (published.length === 0 && exposed.length === 0) problems.push(`${name}: neither publishes nor exposes a port`);
    for (const p of published)
      if (p !== port) problems.push(`${name}: publishes container port ${p}, listens on ${port}`);
    for (const p of exposed) if (p !== port) problems.push(`${name}: exposes container port ${p}, listens on ${port}`);
    const check = asList(service.healthcheck?.test).join(' ');
    if (!check.includes(String(port))) problems.push(`${name}: health check does not probe port ${port}`);
  }
  const api = serviceEnv(doc.services.api ?? {});
  const worker = serviceEnv(doc.services.worker ?? {});
  const sandbox = serviceEnv(doc.services.sandbox ?? {});
  const loopback = (host: string | undefined, fallback: string) => /^(127\.|localhost$|::1$)/.test(host ?? fallback);
  if (loopback(api.API_HOST, '127.0.0.1')) problems.push('api: API_HOST must be 0.0.0.0 in a container');
  // The card vault's listener: reachable by the worker's container, published nowhere (not even on loopback).
  if (loopback(api.CARD_VAULT_HOST, API_DEFAULTS.cardVaultHost)) {
    problems.push('api: CARD_VAULT_HOST must be 0.0.0.0 in a container');
  }
  const vaultPort = cardVaultPort(doc);
  if (vaultPort === listen.api) problems.push("api: CARD_VAULT_PORT must not be the API's public port");
  if (publishedPorts(doc.services.api ?? {}).some((p) => p.target === vaultPort)) {
    problems.push(`api: publishes the card vault's port ${vaultPort}; only workers may reach it, inside the network`);
  }
  if (loopback(worker.WORKER_METRICS_HOST, WORKER_DEFAULTS.metricsHost)) {
    problems.push('worker: WORKER_METRICS_HOST must be 0.0.0.0 in a container');
  }
  if (loopback(sandbox.SANDBOX_HOST, '0.0.0.0')) problems.push('sandbox: SANDBOX_HOST must be 0.0.0.0 in a container');
  const codec = serviceEnv(doc.services['codec-server'] ?? {});
  if (loopback(codec.CODEC_SERVER_HOST, CODEC_SERVER_DEFAULTS.host)) {
    problems.push('codec-server: CODEC_SERVER_HOST must be 0.0.0.0 in a container');
  }
  return problems;
}

/**
 * Only the API is published on every interface; the UI, the codec server and the sandbox only on the host's loopback;
 * nothing else at all (Temporal's 7233 above all: whoever reaches it can signal any payment).
 */
export function publishedPortProblems(doc: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(doc.services)) {
    const allowed = PUBLISHED_PORTS[name];
    for (const p of publishedPorts(service)) {
      const where = `${p.published ?? '(random)'}->${p.target}`;
      if (allowed === undefined) problems.push(`${name}: publishes ${where}; nothing but the API may face a network`);
      else if (allowed === 'loopback' && p.hostIp !== '127.0.0.1') {
        problems.push(`${name}: publishes ${where} on ${p.hostIp ?? 'every interface'}, not 127.0.0.1 only`);
      }
    }
  }
  return problems;
}

/** Each `${VAR…}` reference in a value: its name, operator (`:-`, `-`, `:?`, `?`, none) and default or message. */
function references(value: string): { name: string; op: string; rest: string }[] {
  return [...value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g)].map((m) => ({
    name: m[1] ?? '',
    op: m[2] ?? '',
    rest: m[3] ?? '',
  }));
}

/**
 * Every secret in every service comes from the shell or `.env` with no default: exactly `${VAR:?message}`
 * (Compose refuses to start while VAR is unset or empty). The only exception is {@link OPTIONAL_EMPTY_SECRETS},
 * which may be `${VAR:-}` (empty: unset). Problems never quote a value.
 */
export function secretDefaultProblems(doc: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(doc.services)) {
    const raw = service.environment ?? {};
    const entries: [string, string][] = Array.isArray(raw)
      ? raw.map((line) => [line.split('=')[0] ?? '', line.slice(line.indexOf('=') + 1)])
      : Object.entries(raw).map(([k, v]) => [k, v === null ? '' : String(v)]);
    for (const [key, value] of entries) {
      if (!COMPOSE_SECRET_VARS.has(key)) continue;
      const refs = references(value);
      const only = refs.length === 1 && value.trim() === value.trim().match(/^\$\{[^}]*\}$/)?.[0];
      const ref = refs[0];
      if (only && ref && OPTIONAL_EMPTY_SECRETS.has(key) && ref.op === ':-' && ref.rest === '') continue;
      if (!only || !ref || ref.op !== ':?' || ref.rest.trim() === '') {
        problems.push(`${name}: ${key} must be exactly \${VAR:?message} (from .env, no default, refused when empty)`);
      }
    }
  }
  return problems;
}

/** The variables the compose file requires (`${VAR:?…}`), in order of first use. */
export function requiredVariables(doc: Compose): string[] {
  const names: string[] = [];
  for (const service of Object.values(doc.services)) {
    const raw = service.environment ?? {};
    const values = Array.isArray(raw) ? raw : Object.values(raw).map((v) => (v === null ? '' : String(v)));
    for (const value of values) {
      for (const ref of references(value)) if (ref.op === ':?' && !names.includes(ref.name)) names.push(ref.name);
    }
  }
  return names;
}

/** Parses a dotenv file: `KEY=value` lines, comments and blank lines skipped. */
export function parseDotenv(source: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of source.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m?.[1] !== undefined) vars.set(m[1], (m[2] ?? '').trim());
  }
  return vars;
}

/**
 * `.env.example` names every variable the compose file requires, each with an empty value: a placeholder Compose
 * refuses, never a value someone could deploy.
 */
export function envExampleProblems(doc: Compose, source: string): string[] {
  const problems: string[] = [];
  const vars = parseDotenv(source);
  for (const name of requiredVariables(doc)) {
    const value = vars.get(name);
    if (value === undefined) problems.push(`.env.example does not name ${name}`);
    else if (value !== '') problems.push(`.env.example gives ${name} a value; leave it empty for the operator to fill`);
  }
  return problems;
}

/** Addresses between services point at an existing service and the port it listens on. */
export function wiringProblems(doc: Compose): string[] {
  const problems: string[] = [];
  const listen = listenPorts(doc);
  const api = serviceEnv(doc.services.api ?? {});
  const worker = serviceEnv(doc.services.worker ?? {});
  const sandbox = serviceEnv(doc.services.sandbox ?? {});
  const ns = serviceEnv(doc.services['temporal-create-namespace'] ?? {});

  for (const [name, env] of [
    ['worker', worker],
    ['api', api],
    ['temporal-create-namespace', ns],
  ] as const) {
    const address = env.TEMPORAL_ADDRESS ?? '';
    const [host, port] = address.split(':');
    if (host !== 'temporal' || !networkPorts(doc.services.temporal ?? {}).includes(Number(port))) {
      problems.push(`${name}: TEMPORAL_ADDRESS ${address || '(unset)'} is not the temporal service's port`);
    }
  }
  const namespaces = new Set([worker, api, ns].map((env) => env.TEMPORAL_NAMESPACE ?? 'default'));
  if (namespaces.size !== 1) problems.push('worker, api and the namespace job use different TEMPORAL_NAMESPACE');

  const vault = worker.CARD_VAULT_URL ?? '';
  const vaultPort = cardVaultPort(doc);
  if (vault !== `http://api:${vaultPort}`) {
    problems.push(
      `worker: CARD_VAULT_URL ${vault || '(unset)'} is not the API's card-vault listener, http://api:${vaultPort}`,
    );
  }
  if (worker.CARD_VAULT_TOKEN === undefined || worker.CARD_VAULT_TOKEN !== api.CARD_VAULT_TOKEN) {
    problems.push('worker and api must share CARD_VAULT_TOKEN');
  }
  // The gateway is the operator's choice, never a default; the trial's choice reaches the sandbox's port.
  if (worker.PLURAL_BASE_URL === undefined || worker.PLURAL_BASE_URL !== api.PLURAL_BASE_URL) {
    problems.push('worker and api must share PLURAL_BASE_URL');
  } else if (
    worker.PLURAL_BASE_URL.startsWith('http://sandbox:') &&
    worker.PLURAL_BASE_URL !== `http://sandbox:${listen.sandbox}`
  ) {
    problems.push(
      `PLURAL_BASE_URL ${worker.PLURAL_BASE_URL} is not the sandbox's port (http://sandbox:${listen.sandbox})`,
    );
  }
  const pairs = [
    [worker.PLURAL_CLIENT_ID, sandbox.SANDBOX_CLIENT_ID, 'PLURAL_CLIENT_ID / SANDBOX_CLIENT_ID'],
    [worker.PLURAL_CLIENT_SECRET, sandbox.SANDBOX_CLIENT_SECRET, 'PLURAL_CLIENT_SECRET / SANDBOX_CLIENT_SECRET'],
    [api.PLURAL_CALLBACK_SECRET_HEX, sandbox.SANDBOX_CALLBACK_SECRET_HEX, 'PLURAL_CALLBACK_SECRET_HEX'],
    [api.PLURAL_WEBHOOK_SECRET, sandbox.SANDBOX_WEBHOOK_SECRET, 'PLURAL_WEBHOOK_SECRET'],
  ] as const;
  for (const [engine, gateway, what] of pairs) {
    if (engine === undefined || engine !== gateway) problems.push(`engine and sandbox disagree on ${what}`);
  }
  if (sandbox.SANDBOX_WEBHOOK_URL !== `http://api:${listen.api}/v1/webhooks/plural`) {
    problems.push('sandbox: SANDBOX_WEBHOOK_URL must be the API webhook route');
  }

  // Payload encryption: one key ring everywhere, and the UI's browser reaches the codec server it may call.
  const codec = serviceEnv(doc.services['codec-server'] ?? {});
  const ui = serviceEnv(doc.services['temporal-ui'] ?? {});
  if (worker.PAYLOAD_KEYS === undefined || worker.PAYLOAD_KEYS !== api.PAYLOAD_KEYS) {
    problems.push('worker and api must share PAYLOAD_KEYS');
  }
  if (codec.PAYLOAD_KEYS === undefined || codec.PAYLOAD_KEYS !== worker.PAYLOAD_KEYS) {
    problems.push('codec-server must have the same PAYLOAD_KEYS as the worker');
  }
  const hostPort = (name: string, container: number | undefined): string | undefined => {
    for (const p of doc.services[name]?.ports ?? []) {
      if (typeof p === 'object') {
        if (p.target === container && p.published !== undefined) return String(p.published);
        continue;
      }
      const parts = String(p).split(':');
      if (parts.length >= 2 && Number(parts.at(-1)) === container) return parts.at(-2);
    }
    return undefined;
  };
  const codecUrl = `http://localhost:${hostPort('codec-server', listen['codec-server']) ?? '(unpublished)'}`;
  if (ui.TEMPORAL_CODEC_ENDPOINT !== codecUrl) {
    problems.push(`temporal-ui: TEMPORAL_CODEC_ENDPOINT ${ui.TEMPORAL_CODEC_ENDPOINT ?? '(unset)'} is not ${codecUrl}`);
  }
  // The README gives the UI as 127.0.0.1; a browser may as well be at localhost: the codec compares origins exactly.
  const uiPort = hostPort('temporal-ui', 8080) ?? '(unpublished)';
  const origins = (codec.CODEC_CORS_ORIGINS ?? '').split(',').map((o) => o.trim());
  for (const uiOrigin of [`http://localhost:${uiPort}`, `http://127.0.0.1:${uiPort}`]) {
    if (!origins.includes(uiOrigin)) problems.push(`codec-server: CODEC_CORS_ORIGINS must allow the UI's ${uiOrigin}`);
  }
  return problems;
}

/** `depends_on` names existing services, and a `service_healthy` condition has a health check to wait for. */
export function startOrderProblems(doc: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(doc.services)) {
    const deps = service.depends_on ?? {};
    const entries = Array.isArray(deps) ? deps.map((d) => [d, {}] as const) : Object.entries(deps);
    for (const [dep, opts] of entries) {
      const target = doc.services[dep];
      if (!target) problems.push(`${name}: depends on missing service ${dep}`);
      else if ((opts as { condition?: string }).condition === 'service_healthy' && !target.healthcheck?.test) {
        problems.push(`${name}: waits for ${dep} to be healthy, but ${dep} has no health check`);
      }
    }
  }
  const waits = (from: string, on: string, condition: string): boolean => {
    const deps = doc.services[from]?.depends_on;
    return !!deps && !Array.isArray(deps) && deps[on]?.condition === condition;
  };
  const required: [string, string, string][] = [
    ['temporal-schema-setup', 'postgresql', 'service_healthy'],
    ['temporal', 'temporal-schema-setup', 'service_completed_successfully'],
    ['temporal-create-namespace', 'temporal', 'service_healthy'],
    ['temporal-ui', 'temporal', 'service_healthy'],
    ['api', 'temporal-create-namespace', 'service_completed_successfully'],
    ['worker', 'temporal-create-namespace', 'service_completed_successfully'],
    ['worker', 'api', 'service_healthy'],
  ];
  for (const [from, on, condition] of required) {
    if (!waits(from, on, condition)) problems.push(`${from} must wait for ${on} (${condition})`);
  }
  return problems;
}

/** The namespace job creates every search attribute the workflows upsert, each with its type. */
export function searchAttributeProblems(script: string): string[] {
  return Object.values(SEARCH_ATTRIBUTE)
    .filter((key) => !new RegExp(`\\b${key.name}:${CLI_TYPE[key.type]}\\b`).test(script))
    .map((key) => `create-namespace.sh does not create search attribute ${key.name} as ${CLI_TYPE[key.type]}`);
}

/** The Temporal CLI's `--type` of each search attribute type. */
const CLI_TYPE: Record<SearchAttributeType, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

// ---------------------------------------------------------------------------------------------------------------
// Dockerfile

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Dockerfile instructions, continuation lines joined and comments dropped. */
export function parseDockerfile(source: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let text = lines[i]?.trim() ?? '';
    if (text === '' || text.startsWith('#')) continue;
    while (text.endsWith('\\') && i + 1 < lines.length) {
      i++;
      text = `${text.slice(0, -1)} ${lines[i]?.trim() ?? ''}`;
    }
    const m = /^(\S+)\s*(.*)$/.exec(text);
    if (m) out.push({ op: (m[1] ?? '').toUpperCase(), args: m[2] ?? '', line: start + 1 });
  }
  return out;
}

interface Stage {
  name: string | undefined;
  instructions: Instruction[];
}

function stages(instructions: Instruction[]): Stage[] {
  const result: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      result.push({ name: /\bAS\s+(\S+)\s*$/i.exec(ins.args)?.[1], instructions: [] });
    } else {
      result.at(-1)?.instructions.push(ins);
    }
  }
  return result;
}

/** Parts of a COPY: its flags and its sources (the destination dropped). */
function copyParts(args: string): { from: string | undefined; sources: string[] } {
  const words = args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/).filter((w) => w.length > 0);
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: rest.slice(0, -1) };
}

/** Patterns of .dockerignore (plain names and paths; enough for this repository's file). */
export function dockerIgnored(file: string): boolean {
  const ignore = path.join(ROOT, '.dockerignore');
  if (!existsSync(ignore)) return false;
  const top = file.replace(/^\.\//, '').split('/')[0] ?? '';
  return readFileSync(ignore, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .some((pattern) => pattern === file || pattern === top);
}

/** The top-level folders of a stage's COPYs from the build context (not from other stages). */
function contextFolders(stage: Stage | undefined): Set<string> {
  return new Set(
    (stage?.instructions ?? [])
      .filter((i) => i.op === 'COPY' && copyParts(i.args).from === undefined)
      .flatMap((i) => copyParts(i.args).sources.map((src) => src.replace(/^\.\//, '').split('/')[0] ?? '')),
  );
}

/** Folders `tsconfig.build.json` compiles (its `include`). */
export function buildIncludes(): string[] {
  const config = JSON.parse(readFileSync(TSCONFIG_BUILD_PATH, 'utf8')) as { include?: string[] };
  return (config.include ?? []).map((i) => i.replace(/\/.*$/, ''));
}

/** `tsconfig.build.json` compiles every folder the engine's entry files and the bundler import. */
export function buildConfigProblems(includes: readonly string[] = buildIncludes()): string[] {
  return [...importedFolders([...Object.values(ENGINE_SERVICES), 'worker/build-bundle.ts'])]
    .filter((folder) => !includes.includes(folder))
    .map((folder) => `tsconfig.build.json does not compile ${folder}/, which the engine imports`);
}

/**
 * Multi-stage, every stage on the Node {@link NODE_LTS_MAJOR} image at an exact version; the final stage runs as a
 * non-root user with NODE_ENV=production and runs `node` on compiled JavaScript (`dist/`, built by `npm run build` in
 * an earlier stage that has every folder the build compiles), with production dependencies only and no tsx; every
 * COPY source exists in the build context (and is not excluded by .dockerignore) or names an earlier stage.
 */
export function dockerfileProblems(source: string): string[] {
  const problems: string[] = [];
  const instructions = parseDockerfile(source);
  const list = stages(instructions);
  if (list.length < 2) problems.push(`has ${list.length} FROM stage(s): must be a multi-stage build`);

  // Base images: ARG defaults resolved; an earlier stage's name is not an image.
  const args = new Map<string, string>();
  for (const ins of instructions.filter((i) => i.op === 'ARG')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\S+)$/.exec(ins.args.trim());
    if (m) args.set(m[1] ?? '', m[2] ?? '');
  }
  const named: string[] = [];
  for (const ins of instructions.filter((i) => i.op === 'FROM')) {
    const image = (ins.args.split(/\s+/)[0] ?? '').replace(
      /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
      (_m, v: string) => args.get(v) ?? '',
    );
    if (!named.includes(image) && !new RegExp(`^node:${NODE_LTS_MAJOR}\\.\\d+\\.\\d+-[a-z]+(?:-slim)?$`).test(image)) {
      problems.push(
        `line ${ins.line}: FROM ${image} is not node:${NODE_LTS_MAJOR}.<minor>.<patch>-<debian> (Node ${NODE_LTS_MAJOR} LTS, an exact version)`,
      );
    }
    const alias = /\bAS\s+(\S+)\s*$/i.exec(ins.args)?.[1];
    if (alias) named.push(alias);
  }

  const final = list.at(-1);
  const users = final?.instructions.filter((i) => i.op === 'USER') ?? [];
  const user = users.at(-1)?.args.trim();
  if (user === undefined) problems.push('the final stage sets no USER: it would run as root');
  else if (/^(root|0)(:|$)/.test(user)) problems.push(`the final stage runs as ${user}`);
  const env = final?.instructions.filter((i) => i.op === 'ENV').map((i) => i.args) ?? [];
  if (!env.some((e) => /\bNODE_ENV=production\b/.test(e)))
    problems.push('the final stage does not set NODE_ENV=production');

  const seen: string[] = [];
  for (const stage of list) {
    for (const ins of stage.instructions) {
      if (ins.op !== 'COPY' && ins.op !== 'ADD') continue;
      const { from, sources } = copyParts(ins.args);
      if (from !== undefined) {
        if (!seen.includes(from)) problems.push(`line ${ins.line}: COPY --from=${from} names no earlier stage`);
        continue;
      }
      for (const src of sources) {
        if (!existsSync(path.join(ROOT, src))) problems.push(`line ${ins.line}: COPY source ${src} does not exist`);
        else if (dockerIgnored(src)) problems.push(`line ${ins.line}: COPY source ${src} is excluded by .dockerignore`);
      }
    }
    if (stage.name !== undefined) seen.push(stage.name);
  }

  // The process: `node dist/<entry>.js`, exec form, compiled from one of the engine's entry files.
  const cmdLine = final?.instructions.filter((i) => i.op === 'CMD' || i.op === 'ENTRYPOINT') ?? [];
  const cmd = cmdLine.at(-1);
  let argv: string[];
  try {
    argv = cmd?.args.startsWith('[') ? (JSON.parse(cmd.args) as string[]) : [];
  } catch {
    argv = [];
  }
  const compiled = Object.values(ENGINE_SERVICES).map(compiledEntry);
  if (argv[0] !== 'node' || argv.length !== 2 || !compiled.includes(argv[1] ?? '')) {
    problems.push(`the final stage's CMD must be ["node", "<one of ${compiled.join(', ')}>"] (exec form, no loader)`);
  }
  if (final?.instructions.some((i) => /\btsx\b|esbuild/.test(i.args))) {
    problems.push(
      'the final stage mentions tsx or esbuild: it must run compiled JavaScript without a TypeScript loader',
    );
  }

  // Its files: dist/ from the stage that runs `npm run build`, node_modules from an `npm ci --omit=dev`, no sources.
  const finalCopies = (final?.instructions ?? []).filter((i) => i.op === 'COPY').map((i) => copyParts(i.args));
  const builder = list.find((st) => st.instructions.some((i) => i.op === 'RUN' && /\bnpm run build\b/.test(i.args)));
  const distFrom = finalCopies.find(
    (c) => c.from !== undefined && c.sources.some((src) => /^\/app\/dist\/?$/.test(src)),
  );
  if (!builder?.name || distFrom?.from !== builder.name) {
    problems.push('the final stage does not COPY /app/dist from the stage that runs `npm run build`');
  }
  const modulesFrom = finalCopies.find((c) => c.sources.some((src) => /node_modules\/?$/.test(src)))?.from;
  const modulesStage = list.find((st) => st.name !== undefined && st.name === modulesFrom);
  if (!modulesStage?.instructions.some((i) => i.op === 'RUN' && /npm ci\b.*--omit=dev/.test(i.args))) {
    problems.push('the final stage does not take node_modules from a stage that runs `npm ci --omit=dev`');
  }
  const sources = [...contextFolders(final)].filter((f) => !/^package(-lock)?\.json$/.test(f));
  if (sources.length > 0) problems.push(`the final stage copies sources (${sources.join(', ')}): it runs dist/ only`);

  // The build stage has what the build compiles and bundles, and the workflow bundle is where the image looks.
  if (builder) {
    const index = list.indexOf(builder);
    const inBuild = new Set(list.slice(0, index + 1).flatMap((st) => [...contextFolders(st)]));
    for (const file of ['tsconfig.json', 'tsconfig.build.json']) {
      if (!inBuild.has(file)) problems.push(`the build stage does not COPY ${file}`);
    }
    for (const folder of buildIncludes()) {
      if (!inBuild.has(folder)) problems.push(`the build stage does not COPY ${folder}/, which the build compiles`);
    }
  } else {
    problems.push('no stage runs `npm run build`');
  }
  if (!env.some((e) => /\bWORKFLOW_BUNDLE_PATH=\/app\/dist\/workflow-bundle\.js\b/.test(e))) {
    problems.push(
      'the final stage does not set WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js (built ahead of time)',
    );
  }
  return problems;
}

/** Top-level folders reachable by relative imports from the entry files. */
export function importedFolders(entries: string[]): Set<string> {
  const folders = new Set<string>();
  const visited = new Set<string>();
  const queue = entries.map((e) => path.join(ROOT, e));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (visited.has(file)) continue;
    visited.add(file);
    folders.add(path.relative(ROOT, file).split(path.sep)[0] ?? '');
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/(?:from|import|require\()\s*'(\.\.?\/[^']+)'/g)) {
      const base = path.resolve(path.dirname(file), m[1] ?? '');
      const resolved = [`${base}.ts`, path.join(base, 'index.ts'), base].find(
        (candidate) => existsSync(candidate) && candidate.endsWith('.ts'),
      );
      if (resolved) queue.push(resolved);
    }
  }
  return folders;
}
