/**
 * Version 2: a fraud check between the charge and the receipt, behind `patched()`. A new run records the patch marker
 * and takes the check; a run v1 started has no marker, so its replay skips the check and issues v1's commands.
 */
import { patched, proxyActivities } from '@temporalio/workflow';
import type * as activities from './activities';
import { EXAMPLE_PATCH } from './patches';

const { charge, checkFraud, sendReceipt } = proxyActivities<typeof activities>({ startToCloseTimeout: '10 seconds' });

export async function exampleWorkflow(order: string): Promise<string[]> {
  const steps = [await charge(order)];
  if (patched(EXAMPLE_PATCH.EXTRA_STEP)) steps.push(await checkFraud(order));
  steps.push(await sendReceipt(order));
  return steps;
}
