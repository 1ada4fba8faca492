/**
 * Debian's Chromium for the browser tests, driven by playwright-core (which downloads no browser of its own).
 *
 * Without `/usr/bin/chromium` a browser test is skipped locally (`apt-get install -y chromium` enables it); under CI
 * (`CI` set) it runs regardless and fails when the browser is missing.
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** What this machine needs: no sandbox (root), no GPU, no QUIC, and nothing that calls home. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Whether the browser tests of `testFile` run: when Chromium is installed, or under CI. Prints one line saying why
 * when they are skipped.
 */
export function shouldRunBrowserTests(testFile: string): boolean {
  const run = existsSync(CHROMIUM_PATH) || Boolean(process.env.CI);
  if (!run) {
    process.stderr.write(
      `${testFile}: SKIPPED: ${CHROMIUM_PATH} is absent (install it with apt-get install -y chromium; under CI this test fails instead)\n`,
    );
  }
  return run;
}

/** Launches headless Chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}
