/**
 * The engine's overhead on a slow gateway: the benchmark's payment with the sandbox at N ms per call, made through the
 * engine and by calling the Plural client directly with the same gateway calls (token cached; create order, card
 * details, create payment, generate OTP, submit OTP, get order, capture), alternating one by one, and the ratio of
 * their p50 and mean. Run by bench/engine.ts on its deployment. Prints nothing; asserts nothing.
 */
import { PluralClient } from '../plural-client';
import { DEFAULT_CREDENTIALS } from '../plural-sandbox';
import type { Deployment } from './lib/deployment';
import { BENCH_AMOUNT, merchantClient, NATIVE_OTP_CARD, SANDBOX_OTP } from './lib/merchant';
import { engineRoute, makePayment } from './lib/payment-paths';
import { Recorder, summarize } from './lib/stats';
import type { LatencySummary } from './lib/stats';

/** Latency of each step and of the whole payment, ms. */
export interface StepLatencies {
  create: LatencySummary;
  otp: LatencySummary;
  capture: LatencySummary;
  payment: LatencySummary;
}

/** Part 2. */
export interface OverheadResult {
  sandboxLatencyMs: number;
  payments: number;
  gatewayCallsPerPayment: number;
  failed: number;
  failures: string[];
  engine: StepLatencies;
  direct: StepLatencies;
  /** engine p50 / direct p50 of the whole payment (target ≤ 1.2). */
  ratioP50: number;
  ratioMean: number;
}

const MAX_FAILURES_KEPT = 5;

/** The step latencies a recorder holds (an empty summary for a step never timed). */
export function stepLatencies(rec: Recorder): StepLatencies {
  const s = rec.summary();
  const empty = summarize([]);
  return { create: s.create ?? empty, otp: s.otp ?? empty, capture: s.capture ?? empty, payment: s.payment ?? empty };
}

async function setSandboxLatency(baseUrl: string, token: string, latencyMs: number): Promise<void> {
  const res = await fetch(`${baseUrl}/__sandbox/faults`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ latencyMs }),
  });
  if (!res.ok) throw new Error(`sandbox refused latency ${latencyMs} ms: HTTP ${res.status}`);
}

/** The same gateway calls the workflow makes for this payment, straight through the Plural client. */
async function directPayment(
  plural: PluralClient,
  ref: string,
  callbackUrl: string,
  rec: Recorder,
): Promise<string | undefined> {
  const t0 = performance.now();
  const { order, paymentId } = await rec.time('create', async () => {
    const created = await plural.createOrder(
      {
        merchant_order_reference: ref,
        order_amount: BENCH_AMOUNT,
        pre_auth: true,
        callback_url: callbackUrl,
        failure_callback_url: callbackUrl,
      },
      { idempotencyKey: `direct:${ref}:create-order` },
    );
    await plural.getCardDetails({
      amount: BENCH_AMOUNT.value,
      card_details: [{ payment_identifier: NATIVE_OTP_CARD.number, payment_reference_type: 'CARD' }],
    });
    const paid = await plural.createPayment(
      created.order_id,
      {
        payments: [
          {
            merchant_payment_reference: `${ref}-p`,
            payment_method: 'CARD',
            payment_amount: BENCH_AMOUNT,
            pre_auth: true,
            payment_option: {
              card_details: {
                name: NATIVE_OTP_CARD.name,
                card_number: NATIVE_OTP_CARD.number,
                cvv: NATIVE_OTP_CARD.cvv,
                expiry_month: NATIVE_OTP_CARD.expiry_month,
                expiry_year: NATIVE_OTP_CARD.expiry_year,
              },
            },
          },
        ],
      },
      { idempotencyKey: `direct:${ref}:create-payment` },
    );
    const id = paid.payments[0]?.id ?? '';
    await plural.generateOtp({ payment_id: id }, { idempotencyKey: `direct:${ref}:generate-otp` });
    return { order: created, paymentId: id };
  });
  const authorized = await rec.time('otp', async () => {
    await plural.submitOtp({ payment_id: paymentId, otp: SANDBOX_OTP }, { idempotencyKey: `direct:${ref}:submit-otp` });
    return plural.getOrder(order.order_id);
  });
  if (authorized.status !== 'AUTHORIZED') return `direct: order ${authorized.status} after the OTP (wanted AUTHORIZED)`;
  const captured = await rec.time('capture', () =>
    plural.captureOrder(
      order.order_id,
      { merchant_capture_reference: `${ref}-c` },
      { idempotencyKey: `direct:${ref}:capture` },
    ),
  );
  if (captured.status !== 'PROCESSED') return `direct: order ${captured.status} after the capture (wanted PROCESSED)`;
  rec.add('payment', performance.now() - t0);
  return undefined;
}

const describe = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/** `payments` each way, one at a time, alternating, with the sandbox at `latencyMs` per call (reset to 0 after). */
export async function benchOverhead(
  deployment: Deployment,
  runId: string,
  payments: number,
  latencyMs: number,
): Promise<OverheadResult> {
  const api = merchantClient(deployment.apiUrl, deployment.apiKey, 1);
  const plural = new PluralClient({
    baseUrl: deployment.sandboxUrl,
    clientId: DEFAULT_CREDENTIALS.clientId,
    clientSecret: DEFAULT_CREDENTIALS.clientSecret,
  });
  const callbackUrl = `${deployment.apiUrl}/v1/callbacks/plural`;
  const engineRec = new Recorder();
  const directRec = new Recorder();
  const failures: string[] = [];
  let failed = 0;
  const note = (outcome: string | undefined): void => {
    if (outcome === undefined) return;
    failed += 1;
    if (failures.length < MAX_FAILURES_KEPT) failures.push(outcome);
  };
  const engine = async (ref: string, rec: Recorder): Promise<string | undefined> => {
    const outcome = await makePayment(api, engineRoute, ref, rec);
    if (outcome.kind === 'completed') return undefined;
    return outcome.kind === 'failed' ? outcome.reason : `${outcome.call}: 202, not answered within the API's wait`;
  };
  try {
    await setSandboxLatency(deployment.sandboxUrl, deployment.sandboxControlToken, latencyMs);
    // Warm both paths (the direct client fetches its token here; the engine's worker has one already).
    note(await directPayment(plural, `${runId}-dw`, callbackUrl, new Recorder()).catch(describe));
    note(await engine(`${runId}-ew`, new Recorder()));
    // Alternate, so that a noisy neighbour hurts both sides alike.
    for (let i = 0; i < payments; i += 1) {
      note(await engine(`${runId}-e${i}`, engineRec));
      note(await directPayment(plural, `${runId}-d${i}`, callbackUrl, directRec).catch(describe));
    }
  } finally {
    await setSandboxLatency(deployment.sandboxUrl, deployment.sandboxControlToken, 0).catch(() => undefined);
    await api.close();
    await plural.close();
  }
  const e = stepLatencies(engineRec);
  const d = stepLatencies(directRec);
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  return {
    sandboxLatencyMs: latencyMs,
    payments,
    gatewayCallsPerPayment: 7,
    failed,
    failures,
    engine: e,
    direct: d,
    ratioP50: ratio(e.payment.p50, d.payment.p50),
    ratioMean: ratio(e.payment.mean, d.payment.mean),
  };
}
