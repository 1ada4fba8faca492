/**
 * The benchmark's payment, as the driver makes it: three HTTP calls (create, OTP, capture), each expected to answer
 * with a status code and a payment status. The engine's API and the floor's route take the same three calls, so the
 * same driver makes both and counts their outcomes alike: an answer 202 (not answered within the API's wait) ends the
 * payment as not answered, anything else unexpected as failed.
 */
import type { FloorShape } from '../floor/definitions';
import { BENCH_AMOUNT, NATIVE_OTP_CARD, SANDBOX_OTP, unexpected } from './merchant';
import type { MerchantClient } from './merchant';
import type { Recorder } from './stats';

/** The calls of a payment, in order; latencies are recorded under these names, the whole under `payment`. */
export const CALLS = ['create', 'otp', 'capture'] as const;
export type CallName = (typeof CALLS)[number];

/** One HTTP call of a payment and the answer it should get. */
export interface PaymentCall {
  name: CallName;
  path: string;
  body: unknown;
  wantStatus: number;
  wantPaymentStatus: string;
}

/** A payment's calls for a merchant order reference. */
export type PaymentRoute = (reference: string) => PaymentCall[];

/** How a payment ended. */
export type PaymentOutcome =
  { kind: 'completed' } | { kind: 'not-answered'; call: CallName } | { kind: 'failed'; reason: string };

/** The engine's API: a pre-auth card payment with native OTP, captured in full. */
export const engineRoute: PaymentRoute = (ref) => [
  {
    name: 'create',
    path: '/v1/payments',
    body: { merchant_order_reference: ref, amount: BENCH_AMOUNT, pre_auth: true, card: NATIVE_OTP_CARD },
    wantStatus: 201,
    wantPaymentStatus: 'AWAITING_OTP',
  },
  {
    name: 'otp',
    path: `/v1/payments/${ref}/otp`,
    body: { otp: SANDBOX_OTP },
    wantStatus: 200,
    wantPaymentStatus: 'AUTHORIZED',
  },
  { name: 'capture', path: `/v1/payments/${ref}/capture`, body: {}, wantStatus: 200, wantPaymentStatus: 'PROCESSED' },
];

/** The floor's route (bench/floor/server.ts) for a payment of `shape`. */
export const floorRoute =
  (shape: FloorShape): PaymentRoute =>
  (ref) => [
    {
      name: 'create',
      path: '/floor/payments',
      body: { reference: ref, shape },
      wantStatus: 201,
      wantPaymentStatus: 'AWAITING_OTP',
    },
    {
      name: 'otp',
      path: `/floor/payments/${ref}/otp`,
      body: { signals: shape.otp.signals },
      wantStatus: 200,
      wantPaymentStatus: 'AUTHORIZED',
    },
    {
      name: 'capture',
      path: `/floor/payments/${ref}/capture`,
      body: { signals: shape.capture.signals },
      wantStatus: 200,
      wantPaymentStatus: 'PROCESSED',
    },
  ];

/** Makes one payment over `client`, timing each call (and the whole, when it completes) into `rec`. */
export async function makePayment(
  client: MerchantClient,
  route: PaymentRoute,
  ref: string,
  rec: Recorder,
): Promise<PaymentOutcome> {
  const t0 = performance.now();
  try {
    for (const call of route(ref)) {
      const reply = await rec.time(call.name, () => client.call('POST', call.path, call.body));
      if (reply.status === 202) return { kind: 'not-answered', call: call.name };
      if (reply.status !== call.wantStatus || reply.body.status !== call.wantPaymentStatus) {
        return {
          kind: 'failed',
          reason: unexpected(call.name, reply, `${call.wantStatus} ${call.wantPaymentStatus}`),
        };
      }
    }
  } catch (err) {
    return { kind: 'failed', reason: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
  rec.add('payment', performance.now() - t0);
  return { kind: 'completed' };
}
