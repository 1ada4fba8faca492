/**
 * Each payment goes to Plural with its own merchant's account: the activities pick the Plural client of the merchant
 * the payment's workflow id names (`payment:<merchant>:<ref>`, `payment:<ref>` for `default`), and a merchant this
 * worker has no account for fails the attempt as retryable (the payment waits) rather than borrowing another's.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { InMemoryCardVault } from '../../card-vault';
import { MerchantDirectory } from '../../config/merchants';
import type { Order, PluralClient } from '../../plural-client';
import { createMerchantPluralClients } from '../../worker/plural-clients';
import { FAILURE_TYPE, paymentWorkflowId } from '../../workflows/definitions';

/** A Plural client standing in for one merchant's account: it answers Get Order and records that it was asked. */
function accountClient(name: string, asked: string[]): PluralClient {
  const order = {
    order_id: `v1-${name}`,
    status: 'CREATED',
    order_amount: { value: 100, currency: 'INR' },
    payments: [],
  } as unknown as Order;
  return {
    getOrder: (orderId: string) => {
      asked.push(`${name}:${orderId}`);
      return Promise.resolve(order);
    },
  } as unknown as PluralClient;
}

const runAs = <R>(workflowId: string, fn: () => Promise<R>): Promise<R> =>
  new MockActivityEnvironment({ workflowExecution: { workflowId, runId: 'run-1' } }).run(fn);

describe('the Plural client of the payment’s merchant', () => {
  it('takes each payment to its own merchant’s Plural account, the default merchant’s by its plain id', async () => {
    const asked: string[] = [];
    const clients = new Map([
      ['default', accountClient('default', asked)],
      ['acme', accountClient('acme', asked)],
      ['globex', accountClient('globex', asked)],
    ]);
    const vault = new InMemoryCardVault();
    try {
      const acts = createActivities({ plural: (id) => clients.get(id), vault });
      await runAs(paymentWorkflowId('order-1', 'acme'), () => acts.getOrder({ orderId: 'o1' }));
      await runAs(paymentWorkflowId('order-1', 'globex'), () => acts.getOrder({ orderId: 'o2' }));
      await runAs(paymentWorkflowId('order-1'), () => acts.getOrder({ orderId: 'o3' }));
      expect(asked).toEqual(['acme:o1', 'globex:o2', 'default:o3']);
    } finally {
      vault.close();
    }
  });

  it('fails a payment of a merchant it has no account for as retryable, naming the merchant only', async () => {
    const asked: string[] = [];
    const vault = new InMemoryCardVault();
    try {
      const acts = createActivities({
        plural: (id) => (id === 'acme' ? accountClient('acme', asked) : undefined),
        vault,
      });
      const err = await runAs(paymentWorkflowId('order-1', 'initech'), () => acts.getOrder({ orderId: 'o1' })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApplicationFailure);
      const failure = err as ApplicationFailure;
      expect(failure.type).toBe(FAILURE_TYPE.GATEWAY_UNAVAILABLE);
      expect(failure.nonRetryable).toBe(false);
      expect(failure.message).toBe(
        'this worker has no Plural credentials for merchant initech; add it to MERCHANTS_FILE and restart',
      );
      expect(asked).toEqual([]);
    } finally {
      vault.close();
    }
  });

  it('builds one client per merchant account, each with its own origin and credentials', async () => {
    const merchants = new MerchantDirectory([
      {
        id: 'acme',
        apiKeys: [],
        plural: {
          baseUrl: 'https://pluraluat.v2.pinepg.in',
          credentials: { clientId: 'acme', clientSecret: 'acme-secret' },
          callbackSecretHex: undefined,
          webhookSecret: undefined,
        },
        webhookEndpoints: [],
        returnUrlHosts: [],
      },
      {
        id: 'globex',
        apiKeys: [],
        plural: {
          baseUrl: 'https://api.pluralpay.in',
          credentials: { clientId: 'globex', clientSecret: 'globex-secret' },
          callbackSecretHex: undefined,
          webhookSecret: undefined,
        },
        webhookEndpoints: [],
        returnUrlHosts: [],
      },
    ]);
    const set = createMerchantPluralClients(merchants, { timeoutMs: 1_000 });
    try {
      const acme = set.get('acme');
      const globex = set.get('globex');
      expect(acme).toBeDefined();
      expect(globex).toBeDefined();
      expect(acme).not.toBe(globex);
      expect(set.get('initech')).toBeUndefined();
    } finally {
      await set.close();
    }
  });
});
