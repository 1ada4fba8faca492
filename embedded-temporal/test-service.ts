import type { temporal } from '@temporalio/proto';
import type { Engine } from './engine';
import { durationMs, timestamp, timestampMs } from './proto';
import type { Handler } from './workflow-service';

type TS = typeof temporal.api.testservice.v1;
type Req<K extends keyof TS> = TS[K] extends { prototype: infer R } ? R : never;

/** Implementations of `temporal.api.testservice.v1.TestService` (time skipping), by method name. */
export function testServiceHandlers(engine: Engine): Record<string, Handler> {
  const clock = engine.clock;
  return {
    LockTimeSkipping: () => {
      clock.lock();
      return {};
    },
    UnlockTimeSkipping: () => {
      clock.unlock();
      return {};
    },
    GetCurrentTime: () => ({ time: timestamp(clock.now()) }),
    Sleep: async (req: Req<'SleepRequest'>) => {
      await clock.sleepUntil(clock.now() + durationMs(req.duration));
      return {};
    },
    SleepUntil: async (req: Req<'SleepUntilRequest'>) => {
      await clock.sleepUntil(timestampMs(req.timestamp));
      return {};
    },
    UnlockTimeSkippingWithSleep: async (req: Req<'SleepRequest'>) => {
      // Re-locks inside the timer callback, so skipping stops exactly at the deadline (not at the next timer).
      await clock.unlockUntil(clock.now() + durationMs(req.duration));
      return {};
    },
  };
}
