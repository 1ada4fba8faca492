import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const MAIN = join(__dirname, '..', '..', 'plural-sandbox', 'main.ts');

function run(env: Record<string, string>): {
  firstLine: Promise<string>;
  exit: Promise<number | null>;
  stderr: () => string;
  kill: () => void;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const firstLine = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once('exit', () => reject(new Error(`exited before printing: ${err}`)));
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { firstLine, exit, stderr: () => err, kill: () => child.kill('SIGTERM') };
}

describe('npm run sandbox (plural-sandbox/main.ts)', () => {
  it('starts from environment variables, applies fault settings, and stops cleanly on SIGTERM', async () => {
    const proc = run({
      SANDBOX_PORT: '0',
      SANDBOX_HOST: '127.0.0.1',
      SANDBOX_FAULT_PATHS: '/capture,/cancel',
      SANDBOX_FAULT_ERROR_RATE: '0.5',
    });
    try {
      const line = await proc.firstLine;
      const url = /listening on (http:\/\/\S+)/.exec(line)?.[1];
      expect(url).toBeDefined();
      expect(line).not.toContain('secret');
      const faults = (await (await fetch(`${url!}/__sandbox/faults`)).json()) as { paths: string[]; errorRate: number };
      expect(faults).toMatchObject({ paths: ['/capture', '/cancel'], errorRate: 0.5 });
    } finally {
      proc.kill();
    }
    expect(await proc.exit).toBe(0);
  });

  it('refuses a bad environment with exit code 2 naming the variable', async () => {
    const proc = run({ SANDBOX_PORT: 'eighty', SANDBOX_HOST: '127.0.0.1' });
    proc.firstLine.catch(() => undefined);
    expect(await proc.exit).toBe(2);
    expect(proc.stderr()).toContain('SANDBOX_PORT');
  });
});
