/**
 * `npm start`: the whole engine on one machine (see dev/stack/). Prints where everything is, then a
 * machine-readable `READY {json}` line (tests and scripts wait for it); stops cleanly on SIGINT/SIGTERM.
 */
import { ConfigError } from '../config';
import { startDevStack } from './stack';
import type { DevStack, DevStackInfo } from './stack';

/** Exit code for a configuration error (sysexits EX_CONFIG), as `npm run worker` uses. */
const EXIT_CONFIG_ERROR = 78;

function banner(info: DevStackInfo): string {
  const sandboxControl: [string, string][] =
    info.plural.controlToken !== undefined
      ? [['Plural control', `${info.plural.baseUrl}/__sandbox (Bearer ${info.plural.controlToken})`]]
      : [];
  // With merchant accounts: each merchant's Plural (its own sandbox, or its origin) instead of the one Plural.
  const plural: [string, string][] = info.merchants
    ? info.merchants.map((m): [string, string] => [
        `Merchant ${m.id}`,
        `Plural ${m.pluralBaseUrl}${
          m.sandbox ? ` (sandbox: OTP 123456; control Bearer ${m.controlToken ?? ''})` : ''
        }; webhooks ${m.webhookPath}`,
      ])
    : [
        ['Plural', `${info.plural.baseUrl}${info.plural.sandbox ? ' (sandbox: OTP 123456)' : ' (PLURAL_BASE_URL)'}`],
        ...sandboxControl,
      ];
  const rows: [string, string][] = [
    ['API', info.api],
    ['API docs', info.docs],
    ['OpenAPI', info.openapi],
    ['API metrics', info.apiMetrics],
    ['Worker metrics', info.workerMetrics ?? 'off (WORKER_METRICS_PORT=0)'],
    ['Return page', info.returnPage],
    [
      'Webhooks',
      info.merchantWebhooks.receiver
        ? `${info.merchantWebhooks.receiver} (merchant webhooks received: verified and listed)`
        : `merchant webhooks to ${info.merchantWebhooks.endpoint ?? '(none: MERCHANT_WEBHOOK_URL unset)'}`,
    ],
    [
      'Temporal',
      `${info.temporal.address} (namespace ${info.temporal.namespace}; ${
        info.temporal.devServer
          ? `temporal server start-dev, ${info.temporal.dbFile ? `state in ${info.temporal.dbFile}` : 'in memory'}`
          : 'TEMPORAL_ADDRESS'
      })`,
    ],
    ['Temporal UI', info.temporalUi ?? "(the cluster's own, with TEMPORAL_ADDRESS)"],
    ...plural,
    [
      'API key',
      info.devApiKey ?? (info.merchants ? "(each merchant's, from MERCHANTS_FILE or MERCHANTS)" : '(from API_KEYS)'),
    ],
    [
      'Codec endpoint',
      info.codec
        ? `${info.codec.endpoint} (Bearer ${info.codec.devToken ?? '<CODEC_SERVER_TOKENS>'}; key ${info.codec.keyIds[0]}${
            info.codec.keyFile ? ` in ${info.codec.keyFile}` : ''
          })`
        : 'off (PAYLOAD_ENCRYPTION=off: payloads stored in clear)',
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  const example = `curl -s ${info.api}/v1/payments -H 'Authorization: Bearer ${info.devApiKey ?? '<key>'}' ...`;
  return [
    '',
    `Plural payment engine dev stack ready in ${info.startupMs} ms (workflow bundle: ${info.workflowBundle})`,
    ...lines,
    `  Try: ${example} (README: "Dev walkthrough")`,
    '  Ctrl-C stops everything.',
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  let stack: DevStack;
  try {
    stack = await startDevStack({ env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT_CONFIG_ERROR;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`dev stack failed to start: ${message}\n`);
    if (/EADDRINUSE|address already in use/i.test(message)) {
      process.stderr.write(
        'a port is taken: set API_PORT, DEV_TEMPORAL_PORT, DEV_TEMPORAL_UI_PORT or DEV_SANDBOX_PORT (0 = any free port), or WORKER_METRICS_PORT=0 (no worker metrics)\n',
      );
    }
    return 1;
  }
  process.stdout.write(`${banner(stack.info)}\nREADY ${JSON.stringify(stack.info)}\n`);

  return new Promise<number>((resolve) => {
    let stoppingSince: number | undefined;
    const onSignal = (signal: NodeJS.Signals): void => {
      // Ctrl-C reaches both npm and this process, and npm relays it again: a repeat within a second is the same
      // request, a later one means "stop now". (The script runs as `node --import tsx`, not the tsx CLI: the CLI's
      // relay SIGKILLs the process when it does not acknowledge a signal within 30 ms, as under load, skipping the drain.)
      if (stoppingSince !== undefined) {
        if (Date.now() - stoppingSince < 1_000) return;
        process.stderr.write(`second ${signal}: exiting without draining\n`);
        resolve(1);
        return;
      }
      stoppingSince = Date.now();
      process.stdout.write(`${signal}: stopping the API, draining the worker, stopping the sandbox and Temporal\n`);
      stack.stop().then(
        () => {
          process.stdout.write('STOPPED\n');
          resolve(0);
        },
        (err: unknown) => {
          process.stderr.write(`shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`dev stack failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
