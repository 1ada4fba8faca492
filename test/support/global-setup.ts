/**
 * Vitest global setup: one official Temporal dev server (`temporal server start-dev`, in memory, headless, with the
 * payment search attributes) for the whole run, shared by every test file that needs a full server; each file keeps
 * to its own task queues and workflow ids. Files that need a server of their own (killing or restarting it, a
 * database file to inspect) start one with `startDevServer`; files that need virtual time start the official
 * time-skipping test server (`createTimeSkippingEnv`).
 */
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../temporal-server';
import type { RunningDevServer } from '../../temporal-server';
import { TEST_SEARCH_ATTRIBUTES } from './search-attributes';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `host:port` of the run's shared Temporal dev server. */
    temporalAddress: string;
  }
}

let server: RunningDevServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = await startDevServer({ searchAttributes: TEST_SEARCH_ATTRIBUTES });
  project.provide('temporalAddress', server.address);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
