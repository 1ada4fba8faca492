/** Version 1 of the example workflow: charge, then send the receipt. Runs started on it are what v2 must replay. */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from './activities';

const { charge, sendReceipt } = proxyActivities<typeof activities>({ startToCloseTimeout: '10 seconds' });

export async function exampleWorkflow(order: string): Promise<string[]> {
  return [await charge(order), await sendReceipt(order)];
}
