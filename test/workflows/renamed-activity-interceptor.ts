/**
 * A deliberate, replay-breaking change to the payment workflow, for `replay.test.ts`: bundled with the workflow as an
 * interceptor module, it renames the `createPayment` activity the workflow schedules, as a careless refactor would. The
 * committed histories must then fail to replay.
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const RENAMED_ACTIVITY = { from: 'createPayment', to: 'createCardPayment' } as const;

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      scheduleActivity: (input, next) =>
        next(input.activityType === RENAMED_ACTIVITY.from ? { ...input, activityType: RENAMED_ACTIVITY.to } : input),
    },
  ],
});
