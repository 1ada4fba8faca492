/**
 * Starts the dev stack the way `npm start` does (`tsx dev/start.ts`, a child process) on ephemeral ports, waits
 * for its `READY {json}` line, and talks to it over HTTP only.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';
import type { DevStackInfo } from '../../dev/stack';
import { DEPLOYMENT_KEYS } from '../../config/keys';

const ROOT = path.join(__dirname, '..', '..');
const TSX_CLI = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** A stack running in a child process. */
export interface StackProcess {
  readonly info: DevStackInfo;
  readonly child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Sends `signal` and resolves with the exit code once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `tsx dev/start.ts` with every port ephemeral and its state in `dataDir`. */
export async function startStackProcess(dataDir: string, env: Record<string, string> = {}): Promise<StackProcess> {
  const childEnv: Record<string, string | undefined> = { ...process.env };
  // Nothing of a developer's shell points the child elsewhere: every deployment key it gets is given here.
  for (const key of DEPLOYMENT_KEYS) delete childEnv[key];
  Object.assign(childEnv, {
    DEV_TEMPORAL_PORT: '0',
    DEV_TEMPORAL_UI_PORT: '0',
    DEV_SANDBOX_PORT: '0',
    API_PORT: '0',
    WORKER_METRICS_PORT: '0',
    DEV_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ...env,
  });
  // Its own process group: tsx runs the stack in a grandchild, which runs Temporal's dev server in a child of its own;
  // a signal to the group reaches them all (a SIGKILL to tsx alone would orphan the stack and the server).
  const child = spawn(process.execPath, [TSX_CLI, path.join('dev', 'start.ts')], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  const killOnExit = () => signalGroup('SIGKILL');
  process.once('exit', killOnExit);
  let out = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      process.off('exit', killOnExit);
      resolve(code);
    }),
  );
  const info = await new Promise<DevStackInfo>((resolve, reject) => {
    const timer = setTimeout(() => {
      signalGroup('SIGKILL');
      reject(new Error(`the stack did not print READY within 120 s:\n${out}`));
    }, 120_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString('utf8');
      const line = /^READY (\{.*\})$/m.exec(out);
      if (line?.[1]) {
        clearTimeout(timer);
        resolve(JSON.parse(line[1]) as DevStackInfo);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the stack exited with code ${String(code)} before READY:\n${out}`));
    });
  });
  return {
    info,
    child,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) {
        signalGroup('SIGKILL');
        return child.exitCode;
      }
      signalGroup(signal);
      const timer = setTimeout(() => signalGroup('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      // Nothing of the stack may outlive the test, whatever the exit path.
      signalGroup('SIGKILL');
      return code;
    },
  };
}

/** A JSON reply. */
export interface Reply {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; type: string; message: string } };
  headers: Headers;
}

/** Merchant API calls with the stack's dev key. */
/** Calls the stack's API with its development key, or `key` (a merchant account's). */
export function apiClient(info: DevStackInfo, key: string = info.devApiKey ?? '') {
  return async function call(method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${info.api}${urlPath}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      redirect: 'manual',
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text ? (JSON.parse(text) as Reply['body']) : {},
      headers: res.headers,
    } satisfies Reply;
  };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes the HTML entities the pages use in attribute values. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x?[0-9a-fA-F]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? m;
  });
}

/** A form as a browser sees it: absolute action URL, method, hidden fields and submit buttons. */
export interface HtmlForm {
  action: string;
  method: string;
  id: string | undefined;
  fields: Record<string, string>;
  buttons: { name: string; value: string; label: string }[];
}

const attr = (tag: string, name: string): string | undefined => {
  const m = new RegExp(`\\s${name}="([^"]*)"`, 'i').exec(tag);
  return m?.[1] === undefined ? undefined : decodeEntities(m[1]);
};

/** Every `<form>` of a page, with actions resolved against the page URL. */
export function parseForms(html: string, pageUrl: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const open = m[1] ?? '';
    const inner = m[2] ?? '';
    const fields: Record<string, string> = {};
    for (const input of inner.matchAll(/<input\b[^>]*>/gi)) {
      const name = attr(input[0], 'name');
      if (name !== undefined) fields[name] = attr(input[0], 'value') ?? '';
    }
    const buttons = [...inner.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)].map((b) => ({
      name: attr(b[0], 'name') ?? '',
      value: attr(b[0], 'value') ?? '',
      label: decodeEntities((b[2] ?? '').trim()),
    }));
    forms.push({
      action: new URL(attr(open, 'action') ?? pageUrl, pageUrl).toString(),
      method: (attr(open, 'method') ?? 'get').toUpperCase(),
      id: attr(open, 'id'),
      fields,
      buttons,
    });
  }
  return forms;
}

/** Submits `form` like a browser (urlencoded POST, the clicked button's name=value added); no redirect following. */
export async function submitForm(form: HtmlForm, clicked?: { name: string; value: string }): Promise<Response> {
  const fields = { ...form.fields };
  if (clicked && clicked.name !== '') fields[clicked.name] = clicked.value;
  const body = new URLSearchParams(fields).toString();
  if (form.method === 'GET') {
    const url = new URL(form.action);
    url.search = body;
    return fetch(url, { redirect: 'manual' });
  }
  return fetch(form.action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
    redirect: 'manual',
  });
}

/** The customer's browser on the challenge page: load it, click the button, follow the auto-submitting form. */
export async function completeChallenge(challengeUrl: string, button: 'Approve' | 'Decline') {
  const pageRes = await fetch(challengeUrl);
  expect(pageRes.status).toBe(200);
  const form = parseForms(await pageRes.text(), challengeUrl).find((f) => f.buttons.some((b) => b.label === button));
  expect(form, `the challenge page has a form with an ${button} button`).toBeDefined();
  const clicked = form!.buttons.find((b) => b.label === button)!;
  const afterClick = await submitForm(form!, clicked);
  // The sandbox posts the signed fields back to the merchant with an auto-submitting form (Plural's default).
  expect(afterClick.status).toBe(200);
  const callbackPageUrl = afterClick.url;
  const callbackForm = parseForms(await afterClick.text(), callbackPageUrl).find((f) => f.id === 'callback');
  expect(callbackForm, 'the sandbox answered with the auto-submitting callback form').toBeDefined();
  return { callbackForm: callbackForm! };
}
