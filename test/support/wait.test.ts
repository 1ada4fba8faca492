import { describe, expect, it } from 'vitest';
import { waitFor, WaitForTimeoutError } from './wait';

describe('waitFor', () => {
  it('resolves with the first value the probe yields, treating undefined and false as not yet', async () => {
    const answers = [undefined, false, 0, 7];
    let calls = 0;
    const value = await waitFor('a number', () => answers[calls++], { intervalMs: 1 });
    expect(value).toBe(0);
    expect(calls).toBe(3);
  });

  it('awaits an async probe', async () => {
    let calls = 0;
    const value = await waitFor('the third call', () => Promise.resolve(++calls === 3 ? 'done' : undefined), {
      intervalMs: 1,
    });
    expect(value).toBe('done');
  });

  it('fails after the timeout naming what it waited for and what it last saw, having probed at the deadline', async () => {
    let calls = 0;
    const started = Date.now();
    const err = await waitFor(
      'status AUTHORIZED',
      () => {
        calls += 1;
        return undefined;
      },
      { timeoutMs: 60, intervalMs: 10, describeLast: () => Promise.resolve('last status AWAITING_OTP') },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitForTimeoutError);
    expect((err as Error).message).toBe(
      'timed out after 60 ms waiting for status AUTHORIZED; last status AWAITING_OTP',
    );
    expect(err).toMatchObject({ what: 'status AUTHORIZED', timeoutMs: 60, lastSeen: 'last status AWAITING_OTP' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
    expect(calls).toBeGreaterThan(2);
  });

  it('still reports the timeout when describing the last state fails', async () => {
    const err = await waitFor('nothing', () => false, {
      timeoutMs: 1,
      describeLast: () => {
        throw new Error('no state');
      },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'timed out after 1 ms waiting for nothing; (the last state could not be described: no state)',
    );
  });

  it('ends the wait with the error the probe throws, without waiting for the timeout', async () => {
    let probes = 0;
    await expect(
      waitFor(
        'a broken probe',
        () => {
          probes += 1;
          throw new Error('probe failed');
        },
        { timeoutMs: 10_000 },
      ),
    ).rejects.toThrow('probe failed');
    // Asked once: the first error ends the wait (a wait that went on would have probed again).
    expect(probes).toBe(1);
  });
});
