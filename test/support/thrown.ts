/**
 * What `fn` throws, for assertions on the error itself (that it names no secret, say); fails the test when `fn`
 * returns, so that such an assertion can never be skipped.
 */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw, but it returned');
}
