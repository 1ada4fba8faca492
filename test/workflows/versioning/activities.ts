/** Activities of the versioning example (`test/workflows/versioning.test.ts`): each names the step it ran. */

export async function charge(order: string): Promise<string> {
  return Promise.resolve(`charged ${order}`);
}

/** The step v2 adds. */
export async function checkFraud(order: string): Promise<string> {
  return Promise.resolve(`checked ${order}`);
}

export async function sendReceipt(order: string): Promise<string> {
  return Promise.resolve(`receipt for ${order}`);
}
