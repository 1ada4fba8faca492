/**
 * The failure converter of every worker, client and workflow bundle: Temporal's default one with
 * `encodeCommonAttributes`, so failure messages and stack traces travel as a payload, which the payload codec then
 * encrypts. Referenced by path (`FAILURE_CONVERTER_PATH`) because the workflow bundle loads it inside the sandbox;
 * it must stay free of Node built-ins and I/O.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
