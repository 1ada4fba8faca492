import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { drainMs } from '../../api/main';
import { loadApiConfig, loadWorkerConfig } from '../../config';
import {
  clone,
  commandProblems,
  configProblems,
  dockerIgnored,
  ENV_EXAMPLE_PATH,
  envExampleProblems,
  envKeyProblems,
  interpolate,
  MERCHANTS_OVERRIDE_PATH,
  mergeCompose,
  MissingVariableError,
  parseCompose,
  parseOverride,
  portProblems,
  publishedPortProblems,
  readCompose,
  REQUIRED_SHELL_VARS,
  requiredVariables,
  ROOT,
  schemaProblems,
  searchAttributeProblems,
  secretDefaultProblems,
  serviceEnv,
  startOrderProblems,
  wiringProblems,
} from './deploy-checks';
import type { Compose, Service } from './deploy-checks';

const compose = readCompose();
const NAMESPACE_SCRIPT = readFileSync(path.join(ROOT, 'deploy', 'temporal', 'create-namespace.sh'), 'utf8');
const ENV_EXAMPLE = readFileSync(ENV_EXAMPLE_PATH, 'utf8');

/** A copy of the compose file with one service changed. */
function withService(name: string, change: (service: Service) => void): Compose {
  const doc = clone(compose);
  const service = doc.services[name];
  if (!service) throw new Error(`no service ${name}`);
  change(service);
  return doc;
}

function setEnv(name: string, key: string, value: string | undefined): Compose {
  return withService(name, (s) => {
    const env = s.environment as Record<string, string>;
    if (value === undefined) delete env[key];
    else env[key] = value;
  });
}

describe('compose interpolation', () => {
  it('resolves defaults, set variables, empty values and escaped dollars as Compose does', () => {
    expect(interpolate('${A:-x}')).toBe('x');
    expect(interpolate('${A:-x}', { A: '' })).toBe('x');
    expect(interpolate('${A-x}', { A: '' })).toBe('');
    expect(interpolate('${A:-x}', { A: 'y' })).toBe('y');
    expect(interpolate('a-${A}-$B-$$C', { A: '1', B: '2' })).toBe('a-1-2-$C');
    expect(interpolate('${UNSET}')).toBe('');
  });

  it('refuses ${VAR:?message} when VAR is unset or empty, with the message, as Compose does', () => {
    expect(() => interpolate('${K:?set K}')).toThrow(MissingVariableError);
    expect(() => interpolate('${K:?set K}', { K: '' })).toThrow('required variable K is missing a value: set K');
    expect(interpolate('${K:?set K}', { K: 'v' })).toBe('v');
    expect(interpolate('${K?set K}', { K: '' })).toBe('');
  });

  it('reads list-form environments too', () => {
    expect(serviceEnv({ environment: ['A=${X:-1}', 'B=c=d'] })).toEqual({ A: '1', B: 'c=d' });
  });
});

describe('docker-compose.yml', () => {
  it('is valid against the Compose JSON Schema', () => {
    expect(schemaProblems(compose)).toEqual([]);
  });

  it('fails the schema for an unknown service property', () => {
    const broken = withService('api', (s) => {
      s.restartt = 'always';
    });
    expect(schemaProblems(broken).length).toBeGreaterThan(0);
  });

  it('fails the schema for a malformed depends_on condition', () => {
    const broken = parseCompose(
      'services:\n  a:\n    image: x\n    depends_on:\n      b:\n        condition: when_ready\n  b:\n    image: y\n',
    );
    expect(schemaProblems(broken).length).toBeGreaterThan(0);
  });

  it('runs the compiled worker, API, sandbox and codec server entry files, and the Temporal jobs run scripts that exist', () => {
    expect(commandProblems(compose)).toEqual([]);
  });

  it('reports a command naming a missing npm script, another entry, or TypeScript through tsx', () => {
    expect(
      commandProblems(
        withService('worker', (s) => {
          s.command = ['npm', 'run', 'no-such-script'];
        }),
      ),
    ).toEqual([expect.stringContaining('npm script "no-such-script" does not exist')]);
    expect(
      commandProblems(
        withService('api', (s) => {
          s.command = ['node', 'dist/api/nope.js'];
        }),
      ),
    ).toEqual([expect.stringContaining('runs dist/api/nope.js, not dist/api/server.js')]);
    expect(
      commandProblems(
        withService('sandbox', (s) => {
          s.command = ['node', 'dist/api/server.js'];
        }),
      ),
    ).toEqual([expect.stringContaining('runs dist/api/server.js, not dist/plural-sandbox/main.js')]);
    expect(
      commandProblems(
        withService('api', (s) => {
          s.command = ['node', '--import', 'tsx', 'api/server.ts'];
        }),
      ),
    ).toEqual([
      expect.stringContaining('api: runs TypeScript through tsx'),
      expect.stringContaining('runs api/server.ts, not dist/api/server.js'),
    ]);
    expect(
      commandProblems(
        withService('worker', (s) => {
          s.command = ['npm', 'run', 'worker:dev'];
        }),
      ),
    ).toEqual([
      expect.stringContaining('worker: runs TypeScript through tsx'),
      expect.stringContaining('runs worker/main.ts, not dist/worker/main.js'),
    ]);
  });

  it('accepts npm run <script> when the script exists', () => {
    const doc = withService('worker', (s) => {
      s.command = ['npm', 'run', 'worker'];
    });
    expect(commandProblems(doc)).toEqual([]);
  });

  it('reports a job script that is not mounted or whose file is missing', () => {
    expect(
      commandProblems(
        withService('temporal-create-namespace', (s) => {
          s.volumes = ['./deploy/temporal/missing.sh:/scripts/create-namespace.sh:ro'];
        }),
      ),
    ).toEqual(expect.arrayContaining([expect.stringContaining('mounted path ./deploy/temporal/missing.sh')]));
    expect(
      commandProblems(
        withService('temporal-schema-setup', (s) => {
          s.volumes = [];
        }),
      ),
    ).toEqual([expect.stringContaining('which no volume mounts')]);
  });

  it('sets only configuration keys the worker, API and sandbox read', () => {
    expect(envKeyProblems(compose)).toEqual([]);
  });

  it('reports an environment variable the process does not read', () => {
    expect(envKeyProblems(setEnv('worker', 'PLURAL_BASE_URI', 'http://x'))).toEqual([
      'worker: PLURAL_BASE_URI is not a configuration key the worker reads',
    ]);
    expect(envKeyProblems(setEnv('api', 'API_PORTT', '1'))).toEqual([
      'api: API_PORTT is not a configuration key the api reads',
    ]);
    expect(envKeyProblems(setEnv('sandbox', 'SANDBOX_NOPE', '1'))).toEqual([
      'sandbox: SANDBOX_NOPE is not a configuration key the sandbox reads',
    ]);
  });

  it('gives the worker and the API every required key, in the form their config schemas accept in production mode', () => {
    expect(configProblems(compose)).toEqual([]);
  });

  it('reports a missing required key or a value the config schema rejects, without echoing it', () => {
    const missing = configProblems(setEnv('api', 'API_FINGERPRINT_KEY', undefined));
    expect(missing).toEqual([expect.stringMatching(/^api: API_FINGERPRINT_KEY is required/)]);
    const short = configProblems(setEnv('worker', 'CARD_VAULT_TOKEN', 'short-secret'));
    expect(short).toEqual([expect.stringMatching(/^worker: CARD_VAULT_TOKEN must be at least 32/)]);
    expect(short.join()).not.toContain('short-secret');
    const noDefault = configProblems(setEnv('worker', 'PLURAL_CLIENT_SECRET', '${NOT_SET_ANYWHERE}'));
    expect(noDefault).toEqual([expect.stringContaining('worker: PLURAL_CLIENT_SECRET')]);
  });

  it('publishes or exposes and health-checks the port each process listens on, on all interfaces', () => {
    expect(portProblems(compose)).toEqual([]);
  });

  it('reports a published port, health check or listen address that does not match the process', () => {
    expect(
      portProblems(
        withService('api', (s) => {
          s.ports = ['8080:3000'];
        }),
      ),
    ).toEqual(['api: publishes container port 3000, listens on 8080']);
    expect(portProblems(setEnv('worker', 'WORKER_METRICS_PORT', '9000'))).toEqual(
      expect.arrayContaining(['worker: exposes container port 9464, listens on 9000']),
    );
    // Unset: the code's default (8090) applies, which the file publishes.
    expect(portProblems(setEnv('sandbox', 'SANDBOX_PORT', undefined))).toEqual([]);
    expect(portProblems(setEnv('sandbox', 'SANDBOX_PORT', '9999'))).toEqual(
      expect.arrayContaining(['sandbox: publishes container port 8090, listens on 9999']),
    );
    expect(portProblems(setEnv('api', 'API_HOST', undefined))).toEqual([
      'api: API_HOST must be 0.0.0.0 in a container',
    ]);
  });

  it("keeps the API's card-vault listener inside the network: reachable by the worker, published nowhere", () => {
    expect(portProblems(setEnv('api', 'CARD_VAULT_HOST', undefined))).toEqual([
      'api: CARD_VAULT_HOST must be 0.0.0.0 in a container',
    ]);
    const published = withService('api', (s) => {
      s.ports = ['8080:8080', '127.0.0.1:8082:8082'];
    });
    expect(portProblems(published)).toContain(
      "api: publishes the card vault's port 8082; only workers may reach it, inside the network",
    );
    expect(wiringProblems(setEnv('api', 'CARD_VAULT_PORT', '8083'))).toEqual([
      "worker: CARD_VAULT_URL http://api:8082 is not the API's card-vault listener, http://api:8083",
    ]);
  });

  it('wires the services to each other: Temporal, namespace, card vault, gateway and its secrets', () => {
    expect(wiringProblems(compose)).toEqual([]);
  });

  it('reports services that would not reach each other', () => {
    expect(wiringProblems(setEnv('api', 'TEMPORAL_ADDRESS', 'temporal:7234'))).toEqual([
      "api: TEMPORAL_ADDRESS temporal:7234 is not the temporal service's port",
    ]);
    expect(wiringProblems(setEnv('worker', 'TEMPORAL_NAMESPACE', 'payments'))).toEqual([
      'worker, api and the namespace job use different TEMPORAL_NAMESPACE',
    ]);
    expect(wiringProblems(setEnv('api', 'CARD_VAULT_TOKEN', 'another-token-of-at-least-32-characters!'))).toEqual([
      'worker and api must share CARD_VAULT_TOKEN',
    ]);
    expect(wiringProblems(setEnv('worker', 'CARD_VAULT_URL', 'http://api:8080/card-vault'))).toHaveLength(1);
    expect(wiringProblems(setEnv('sandbox', 'SANDBOX_WEBHOOK_SECRET', 'other'))).toEqual([
      'engine and sandbox disagree on PLURAL_WEBHOOK_SECRET',
    ]);
    expect(wiringProblems(setEnv('api', 'PLURAL_BASE_URL', 'https://api.pluralpay.in'))).toEqual([
      'worker and api must share PLURAL_BASE_URL',
    ]);
  });

  it('starts the sandbox only in the trial profile, and no service waits for it: a stack on Plural never runs it', () => {
    expect(compose.services.sandbox?.profiles).toEqual(['trial']);
    const waiting = Object.entries(compose.services)
      .filter(([, s]) => {
        const deps = s.depends_on ?? [];
        return (Array.isArray(deps) ? deps : Object.keys(deps)).includes('sandbox');
      })
      .map(([name]) => name);
    expect(waiting).toEqual([]);
    // Services without a profile start by default: the engine's and Temporal's, never the sandbox.
    const byDefault = Object.entries(compose.services).filter(([, s]) => s.profiles === undefined);
    expect(byDefault.map(([name]) => name)).not.toContain('sandbox');
    expect(byDefault.map(([name]) => name)).toEqual(expect.arrayContaining(['api', 'worker', 'codec-server']));
  });

  it('takes the gateway from .env with no default: a stack given real credentials never quietly uses the sandbox', () => {
    const unchosen = { ...REQUIRED_SHELL_VARS, PLURAL_BASE_URL: undefined };
    for (const name of ['worker', 'api']) {
      expect(() => serviceEnv(compose.services[name] ?? {}, unchosen)).toThrow(/required variable PLURAL_BASE_URL/);
    }
    const real = { ...REQUIRED_SHELL_VARS, PLURAL_BASE_URL: 'https://pluraluat.v2.pinepg.in' };
    expect(serviceEnv(compose.services.worker ?? {}, real).PLURAL_BASE_URL).toBe('https://pluraluat.v2.pinepg.in');
  });

  it('requires PAYLOAD_KEYS from the shell or .env for the worker, API and codec server: no published default', () => {
    const withoutKeys = { ...REQUIRED_SHELL_VARS, PAYLOAD_KEYS: undefined };
    for (const name of ['worker', 'api', 'codec-server']) {
      expect(() => serviceEnv(compose.services[name] ?? {}, withoutKeys)).toThrow(
        /required variable PAYLOAD_KEYS.*README/,
      );
    }
  });

  it('takes every secret from .env with no default, so Compose refuses to start while one is missing', () => {
    expect(secretDefaultProblems(compose)).toEqual([]);
    expect(requiredVariables(compose).sort()).toEqual(Object.keys(REQUIRED_SHELL_VARS).sort());
    for (const variable of requiredVariables(compose)) {
      const without = { ...REQUIRED_SHELL_VARS, [variable]: '' };
      const refused = Object.values(compose.services).some((service) => {
        try {
          serviceEnv(service, without);
          return false;
        } catch (err) {
          return err instanceof MissingVariableError && err.variable === variable;
        }
      });
      expect(refused, `${variable} empty must stop Compose`).toBe(true);
    }
  });

  it('reports a secret with a default, a literal secret, or an optional one, without quoting the value', () => {
    const message = (service: string, key: string) =>
      `${service}: ${key} must be exactly \${VAR:?message} (from .env, no default, refused when empty)`;
    expect(
      secretDefaultProblems(setEnv('api', 'PLURAL_WEBHOOK_SECRET', '${PLURAL_WEBHOOK_SECRET:-sandbox-webhook-secret}')),
    ).toEqual([message('api', 'PLURAL_WEBHOOK_SECRET')]);
    expect(secretDefaultProblems(setEnv('worker', 'CARD_VAULT_TOKEN', 'a-literal-token-of-at-least-32-chars'))).toEqual(
      [message('worker', 'CARD_VAULT_TOKEN')],
    );
    expect(secretDefaultProblems(setEnv('sandbox', 'SANDBOX_CLIENT_SECRET', '${PLURAL_CLIENT_SECRET}'))).toEqual([
      message('sandbox', 'SANDBOX_CLIENT_SECRET'),
    ]);
    expect(secretDefaultProblems(setEnv('postgresql', 'POSTGRES_PASSWORD', '${POSTGRES_PASSWORD:-temporal}'))).toEqual([
      message('postgresql', 'POSTGRES_PASSWORD'),
    ]);
    expect(secretDefaultProblems(setEnv('api', 'API_KEYS', '${API_KEYS:?}'))).toEqual([message('api', 'API_KEYS')]);
    expect(secretDefaultProblems(setEnv('api', 'API_KEYS', '${API_KEYS:?set it}'))).toEqual([]);
  });

  it('ships .env.example naming every required variable with an empty placeholder', () => {
    expect(envExampleProblems(compose, ENV_EXAMPLE)).toEqual([]);
    expect(
      envExampleProblems(compose, ENV_EXAMPLE.replace(/^API_KEYS=$/m, 'API_KEYS=dev-api-key-change-me-0001')),
    ).toEqual(['.env.example gives API_KEYS a value; leave it empty for the operator to fill']);
    expect(envExampleProblems(compose, ENV_EXAMPLE.replace(/^POSTGRES_PASSWORD=$/m, ''))).toEqual([
      '.env.example does not name POSTGRES_PASSWORD',
    ]);
  });

  it('publishes nothing but the API, and the UI, codec server and sandbox pages on 127.0.0.1 only', () => {
    expect(publishedPortProblems(compose)).toEqual([]);
    const published = Object.fromEntries(
      Object.entries(compose.services)
        .filter(([, s]) => (s.ports ?? []).length > 0)
        .map(([name, s]) => [name, s.ports]),
    );
    expect(published).toEqual({
      api: ['8080:8080'],
      'temporal-ui': ['127.0.0.1:8233:8080'],
      'codec-server': ['127.0.0.1:8081:8081'],
      sandbox: ['127.0.0.1:8090:8090'],
    });
  });

  it("reports Temporal's port, the worker's metrics or the UI published on the network", () => {
    expect(
      publishedPortProblems(
        withService('temporal', (s) => {
          s.ports = ['7233:7233'];
        }),
      ),
    ).toEqual(['temporal: publishes 7233->7233; nothing but the API may face a network']);
    expect(
      publishedPortProblems(
        withService('worker', (s) => {
          s.ports = [{ target: 9464, published: 9464, host_ip: '127.0.0.1' }];
        }),
      ),
    ).toEqual(['worker: publishes 9464->9464; nothing but the API may face a network']);
    expect(
      publishedPortProblems(
        withService('temporal-ui', (s) => {
          s.ports = ['8233:8080'];
        }),
      ),
    ).toEqual(['temporal-ui: publishes 8233->8080 on every interface, not 127.0.0.1 only']);
    expect(
      publishedPortProblems(
        withService('codec-server', (s) => {
          s.ports = ['0.0.0.0:8081:8081'];
        }),
      ),
    ).toEqual(['codec-server: publishes 8081->8081 on 0.0.0.0, not 127.0.0.1 only']);
  });

  it('points the Temporal UI at the codec server, which allows the UI origin and listens on all interfaces', () => {
    const ui = serviceEnv(compose.services['temporal-ui'] ?? {});
    expect(ui.TEMPORAL_CODEC_ENDPOINT).toBe('http://localhost:8081');
    expect(portProblems(setEnv('codec-server', 'CODEC_SERVER_HOST', undefined))).toEqual([
      'codec-server: CODEC_SERVER_HOST must be 0.0.0.0 in a container',
    ]);
    expect(wiringProblems(setEnv('temporal-ui', 'TEMPORAL_CODEC_ENDPOINT', 'http://localhost:9999'))).toEqual([
      'temporal-ui: TEMPORAL_CODEC_ENDPOINT http://localhost:9999 is not http://localhost:8081',
    ]);
    expect(wiringProblems(setEnv('codec-server', 'CODEC_CORS_ORIGINS', 'http://localhost:3000'))).toEqual([
      "codec-server: CODEC_CORS_ORIGINS must allow the UI's http://localhost:8233",
      "codec-server: CODEC_CORS_ORIGINS must allow the UI's http://127.0.0.1:8233",
    ]);
    // The README's address for the UI alone would leave a browser at localhost with ciphertext, and the reverse.
    expect(wiringProblems(setEnv('codec-server', 'CODEC_CORS_ORIGINS', 'http://localhost:8233'))).toEqual([
      "codec-server: CODEC_CORS_ORIGINS must allow the UI's http://127.0.0.1:8233",
    ]);
  });

  it('reports a worker, API or codec server with its own PAYLOAD_KEYS', () => {
    const other = `other:${Buffer.alloc(32, 2).toString('base64')}`;
    expect(wiringProblems(setEnv('api', 'PAYLOAD_KEYS', other))).toEqual(['worker and api must share PAYLOAD_KEYS']);
    expect(wiringProblems(setEnv('codec-server', 'PAYLOAD_KEYS', other))).toEqual([
      'codec-server must have the same PAYLOAD_KEYS as the worker',
    ]);
    expect(configProblems(setEnv('codec-server', 'CODEC_SERVER_AUTH', 'token'))).toEqual([
      expect.stringMatching(/^codec-server: CODEC_SERVER_TOKENS is required/),
    ]);
  });

  it("gives the API longer to stop than it lets in-flight requests finish (Docker's default is 10 s)", () => {
    const seconds = (value: string | undefined): number => {
      const m = /^(\d+)s$/.exec(value ?? '');
      return m ? Number(m[1]) : 10;
    };
    const api = compose.services.api as Service & { stop_grace_period?: string };
    // 20 s with the default waits: an OTP or capture waits up to 15 s for its Update, then answers.
    expect(drainMs({})).toBe(20_000);
    expect(drainMs({ timings: { actionWaitMs: 30_000 } })).toBe(35_000);
    expect(seconds(api.stop_grace_period) * 1000).toBeGreaterThan(drainMs({}));
    expect(seconds(undefined) * 1000).toBeLessThan(drainMs({}));
  });

  it('starts services in order: database, schema, server, namespace, then API and worker', () => {
    expect(startOrderProblems(compose)).toEqual([]);
  });

  it('reports a missing start condition or a wait on a service without a health check', () => {
    expect(
      startOrderProblems(
        withService('worker', (s) => {
          s.depends_on = { api: { condition: 'service_healthy' } };
        }),
      ),
    ).toEqual(['worker must wait for temporal-create-namespace (service_completed_successfully)']);
    expect(
      startOrderProblems(
        withService('api', (s) => {
          delete s.healthcheck;
        }),
      ),
    ).toEqual(['worker: waits for api to be healthy, but api has no health check']);
  });

  it('creates the namespace with every payment search attribute', () => {
    expect(searchAttributeProblems(NAMESPACE_SCRIPT)).toEqual([]);
    expect(searchAttributeProblems(NAMESPACE_SCRIPT.replaceAll('PluralOrderId', 'OrderId'))).toEqual([
      'create-namespace.sh does not create search attribute PluralOrderId as Keyword',
    ]);
    expect(
      searchAttributeProblems(NAMESPACE_SCRIPT.replace('PaymentUpdatedAt:Datetime', 'PaymentUpdatedAt:Keyword')),
    ).toEqual(['create-namespace.sh does not create search attribute PaymentUpdatedAt as Datetime']);
  });

  it('follows the current Temporal pattern: server and admin-tools images, no auto-setup', () => {
    const images = Object.values(compose.services).map((s) => s.image ?? '');
    expect(images.some((i) => i.startsWith('temporalio/auto-setup'))).toBe(false);
    expect(compose.services.temporal?.image).toMatch(/^temporalio\/server:/);
    expect(compose.services['temporal-schema-setup']?.image).toMatch(/^temporalio\/admin-tools:/);
    expect(compose.services['temporal-ui']?.image).toMatch(/^temporalio\/ui:/);
  });
});

describe('docker-compose.merchants.yml (several merchant accounts)', () => {
  const override = parseOverride(readFileSync(MERCHANTS_OVERRIDE_PATH, 'utf8'));
  const merged = mergeCompose(compose, override);
  const SINGLE_MERCHANT_KEYS = [
    'API_KEYS',
    'PLURAL_CLIENT_ID',
    'PLURAL_CLIENT_SECRET',
    'PLURAL_CALLBACK_SECRET_HEX',
    'PLURAL_WEBHOOK_SECRET',
  ];
  /** Two merchant accounts with values of an operator's own (production mode refuses published ones). */
  const accounts = (ids: string[]) =>
    ids.map((id) => ({
      id,
      apiKeys: [`sk_live_${id}_compose_check_0123456789`],
      plural: {
        clientId: `${id}-compose-check-client`,
        clientSecret: `${id}-compose-check-client-secret`,
        callbackSecretHex: Buffer.from(`${id}-compose-check-callback`).toString('hex'),
        webhookSecret: `${id}-compose-check-webhook-secret`,
      },
    }));

  it('gives the API and the worker the merchants file as a secret, without the single merchant keys', () => {
    expect(schemaProblems(merged)).toEqual([]);
    for (const name of ['api', 'worker']) {
      const env = serviceEnv(merged.services[name] ?? {});
      expect(env.MERCHANTS_FILE, name).toBe('/run/secrets/merchants.json');
      for (const key of SINGLE_MERCHANT_KEYS) expect(env, `${name} ${key}`).not.toHaveProperty(key);
      expect(merged.services[name]?.secrets, name).toEqual(['merchants.json']);
    }
    expect(merged.secrets).toEqual({ 'merchants.json': { file: './merchants.json' } });
    // Everything else is the base file's: the sandbox keeps its account, the other services are untouched.
    for (const name of Object.keys(compose.services).filter((n) => n !== 'api' && n !== 'worker')) {
      expect(merged.services[name], name).toEqual(compose.services[name]);
    }
    // Compose interpolates each file before merging: docker-compose.yml still wants every .env value (API_KEYS and the
    // PLURAL_* credentials included, now the bundled sandbox's account only), and the override asks for none.
    expect(requiredVariables(compose).sort()).toEqual(Object.keys(REQUIRED_SHELL_VARS).sort());
    expect(JSON.stringify(override)).not.toContain('$');
  });

  it('starts the API and the worker in production mode on the accounts of the file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'compose-merchants-'));
    try {
      const file = path.join(dir, 'merchants.json');
      writeFileSync(file, JSON.stringify(accounts(['acme', 'globex'])));
      const envOf = (doc: Compose, name: string) => ({
        ...serviceEnv(doc.services[name] ?? {}),
        MERCHANTS_FILE: file,
        NODE_ENV: 'production',
      });
      expect(loadApiConfig(envOf(merged, 'api')).merchants.ids).toEqual(['acme', 'globex']);
      expect(loadWorkerConfig(envOf(merged, 'worker')).merchants.ids).toEqual(['acme', 'globex']);
      // What the `!reset`s are for: the base file's single-merchant keys beside a merchants file are refused.
      expect(() => loadApiConfig(envOf(compose, 'api'))).toThrow(/API_KEYS/);
      expect(() => loadWorkerConfig(envOf(compose, 'worker'))).toThrow(/PLURAL_CLIENT_ID/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps merchants.json out of git and out of the image build context', () => {
    const gitignore = readFileSync(path.join(ROOT, '.gitignore'), 'utf8').split('\n');
    expect(gitignore).toContain('/merchants.json');
    expect(dockerIgnored('merchants.json')).toBe(true);
  });
});
