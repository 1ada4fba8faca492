/** The API's memory of delivered callbacks (repeats are not delivered again) and the callback's age limit. */
import { describe, expect, it } from 'vitest';
import { CALLBACK_GRACE_MS, callbackMaxAgeMs, SeenCallbacks } from '../../api/callback-replays';

const SIG = 'AB'.repeat(32);

describe('SeenCallbacks', () => {
  it('remembers a delivered callback by signature, whatever the hex case, until the window ends', () => {
    const seen = new SeenCallbacks(1_000);
    expect(seen.deliveredTo(SIG, 0)).toBeUndefined();
    seen.remember(SIG, 'ref-1', 0);
    expect(seen.deliveredTo(SIG.toLowerCase(), 999)).toBe('ref-1');
    expect(seen.deliveredTo(SIG, 1_000)).toBeUndefined();
    expect(seen.size).toBe(0);
  });

  it('forgets the oldest callbacks beyond its size, so memory stays bounded', () => {
    const seen = new SeenCallbacks(60_000, 3);
    for (let i = 0; i < 5; i++) seen.remember(`${i}`.repeat(64), `ref-${i}`, i);
    expect(seen.size).toBe(3);
    expect(seen.deliveredTo('0'.repeat(64), 10)).toBeUndefined();
    expect(seen.deliveredTo('1'.repeat(64), 10)).toBeUndefined();
    expect(seen.deliveredTo('4'.repeat(64), 10)).toBe('ref-4');
  });
});

describe('callbackMaxAgeMs', () => {
  it('is the longest customer window plus the grace: 45 min with the default windows', () => {
    expect(callbackMaxAgeMs()).toBe(45 * 60_000);
    expect(callbackMaxAgeMs({ challengeWindowMs: 3_600_000 })).toBe(3_600_000 + CALLBACK_GRACE_MS);
  });
});
