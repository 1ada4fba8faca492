/** The Plural client the engine's tests use: pointed at a running sandbox, with its credentials. */
import { PluralClient } from '../../plural-client';
import type { RunningSandbox } from '../../plural-sandbox';

/** A Plural client for `sandbox` (`timeoutMs` per call; the client's default when omitted). */
export function pluralClientFor(sandbox: RunningSandbox, timeoutMs?: number): PluralClient {
  return new PluralClient({
    baseUrl: sandbox.baseUrl,
    clientId: sandbox.credentials.clientId,
    clientSecret: sandbox.credentials.clientSecret,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
}
