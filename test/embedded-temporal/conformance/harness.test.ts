import { describe, expect, it } from 'vitest';
import { serverTarget } from './harness';

describe('conformance harness: TEMPORAL_TEST_SERVER', () => {
  it('defaults to the embedded service when unset or empty', () => {
    expect(serverTarget(undefined)).toEqual({ kind: 'embedded' });
    expect(serverTarget('  ')).toEqual({ kind: 'embedded' });
    expect(serverTarget('embedded')).toEqual({ kind: 'embedded' });
  });

  it('selects the official downloaded servers with "official"', () => {
    expect(serverTarget('official')).toEqual({ kind: 'official' });
  });

  it('selects an existing server with host:port', () => {
    expect(serverTarget('127.0.0.1:7233')).toEqual({ kind: 'address', address: '127.0.0.1:7233' });
    expect(serverTarget('temporal.local:7233')).toEqual({ kind: 'address', address: 'temporal.local:7233' });
  });

  it('rejects anything else with a message naming the accepted values', () => {
    expect(() => serverTarget('java')).toThrow(/"embedded", "official" or "host:port", got "java"/);
    expect(() => serverTarget('localhost')).toThrow(/TEMPORAL_TEST_SERVER/);
  });
});
