/**
 * Version 2 written the wrong way: the fraud check added without `patched()`. A run v1 started fails to replay on it
 * (`sendReceipt` in the history where this code schedules `checkFraud`).
 */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from './activities';

const { charge, checkFraud, sendReceipt } = proxyActivities<typeof activities>({ startToCloseTimeout: '10 seconds' });

export async function exampleWorkflow(order: string): Promise<string[]> {
  return [await charge(order), await checkFraud(order), await sendReceipt(order)];
}
