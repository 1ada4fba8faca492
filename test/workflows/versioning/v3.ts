/**
 * Version 3, once no v1 run is left: the old branch removed and the patch deprecated. It replays v2's runs (their
 * marker is accepted, none is required); after v2's runs are gone too, the `deprecatePatch` call can go.
 */
import { deprecatePatch, proxyActivities } from '@temporalio/workflow';
import type * as activities from './activities';
import { EXAMPLE_PATCH } from './patches';

const { charge, checkFraud, sendReceipt } = proxyActivities<typeof activities>({ startToCloseTimeout: '10 seconds' });

export async function exampleWorkflow(order: string): Promise<string[]> {
  const steps = [await charge(order)];
  // Where `patched()` was: v2's marker sits after the charge in its history, and replay meets it here.
  deprecatePatch(EXAMPLE_PATCH.EXTRA_STEP);
  steps.push(await checkFraud(order), await sendReceipt(order));
  return steps;
}
