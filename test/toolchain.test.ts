import { describe, expect, it } from 'vitest';

describe('toolchain', () => {
  it('runs TypeScript tests under vitest with Node 20+', () => {
    const major = Number(process.versions.node.split('.')[0]);
    expect(major).toBeGreaterThanOrEqual(20);
  });
});
