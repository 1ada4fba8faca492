import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';

export async function charge(amount: number): Promise<string> {
  await Promise.resolve();
  return `receipt-${amount}`;
}

const attempts = new Map<string, number>();

export async function flaky(): Promise<number> {
  const info = Context.current().info;
  await Promise.resolve();
  attempts.set(info.workflowExecution?.workflowId ?? '', info.attempt);
  if (info.attempt < 3) throw new Error(`attempt ${info.attempt} failed`);
  return info.attempt;
}

export async function failsWith(type: string): Promise<string> {
  await Promise.resolve();
  throw ApplicationFailure.create({ message: `failed with ${type}`, type, nonRetryable: type === 'Fatal' });
}

export async function slow(): Promise<string> {
  await new Promise((r) => setTimeout(r, 200));
  return 'slow done';
}

export async function heartbeating(): Promise<string> {
  const ctx = Context.current();
  for (let i = 0; i < 200; i++) {
    ctx.heartbeat(i);
    await ctx.sleep(50);
  }
  return 'finished';
}
