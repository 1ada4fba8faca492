import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import type { PaymentActivities } from '../../activities';
import { cancelUpdate, getPaymentQuery, resendOtpUpdate, submitOtpUpdate } from '../../workflows/definitions';
import type { PaymentWorkflowInput } from '../../workflows/definitions';
import { OTP_RESEND_REQUIRED_MESSAGE } from '../../workflows/phases/authenticate';
import { DEFAULT_CREDENTIALS } from '../../plural-sandbox';
import { CARDS } from '../support/cards';
import {
  bundle,
  cardInput,
  CORRECT_OTP,
  createFixture,
  newReference,
  putCard,
  secretsFound,
  historyText,
  CVV,
  scanHistories,
  startPayment,
  waitForStatus,
  WRONG_OTP,
  OTP_TTL_MS,
  rejection,
  submitOtp,
  WRONG_OTPS,
  whileOtpIsWithPlural,
  EXPIRED_OTP,
  firstOtpExpires,
  heldFirstOtp,
  heldFirstRead,
  laggingOrderReads,
  queuedPastTheWindow,
} from './harness';
import type { Fixture } from './harness';

const RESEND_AFTER_S = 2;
let fx: Fixture;

beforeAll(async () => {
  // A 2 s resend window, waited out in real time (time skipping is locked while the test polls the query).
  fx = await createFixture(await bundle(), { otp: { resendAfterSeconds: RESEND_AFTER_S } });
});
afterAll(async () => {
  await fx?.teardown();
});

async function startOtpPayment(preAuth = true, overrides: Partial<PaymentWorkflowInput> = {}) {
  const ref = newReference('otp');
  const handle = await startPayment(
    fx,
    cardInput(ref, await putCard(fx.vault, CARDS.nativeOtp), { preAuth, ...overrides }),
  );
  const state = await waitForStatus(handle, 'AWAITING_OTP');
  return { ref, handle, state };
}

describe('native OTP', () => {
  it('reads the order of an OTP Plural accepted again before the window closes on it, and follows the authorization', async () => {
    // Plural's order trails the accepted OTP: it reads PENDING for the next three reads, the one right after the OTP
    // among them.
    const { reads, getOrder } = laggingOrderReads(fx);
    const real = createActivities({ plural: fx.plural, vault: fx.vault });
    const trailing: PaymentActivities['submitOtp'] = async (input) => {
      const result = await real.submitOtp(input);
      if (result.outcome !== 'ACCEPTED' || result.order === undefined) return result;
      const o = result.order;
      return {
        ...result,
        order: { ...o, status: 'PENDING', payments: o.payments.map((p) => ({ ...p, status: 'PENDING' })) },
      };
    };
    await fx.withWorker(
      async () => {
        const { handle, state } = await startOtpPayment(true, {
          durations: { otpWindowMs: 60_000, reconcileInitialDelayMs: 30_000, reconcileMaxDelayMs: 30_000 },
        });
        reads.lagging = 3;
        // Plural's webhook is lost: the order's reads alone tell.
        fx.webhooks.forward = false;
        try {
          // Another OTP (a second tab) arrives while the first is with Plural: answered IGNORED after the first's
          // ACCEPTED, its answer the last the payment shows.
          const [accepted, other] = await whileOtpIsWithPlural(
            fx,
            () => submitOtp(fx, handle, 's1', CORRECT_OTP),
            () => submitOtp(fx, handle, 's2', WRONG_OTP),
          );
          expect(accepted.outcome).toBe('ACCEPTED');
          expect(other.outcome).toBe('IGNORED');
          // Read at 30 s and at the window's end (both PENDING), then 20 s later (PENDING) and 20 s after that.
          await fx.skip(130_000);
        } finally {
          fx.webhooks.forward = true;
        }
        const authorized = await waitForStatus(handle, 'AUTHORIZED');
        expect(authorized.closing).toBeUndefined();
        expect(authorized.audit.map((e) => e.cause)).toContainEqual(
          expect.stringMatching(/^Plural accepted the OTP but its order still reads PENDING/),
        );
        expect(fx.sandbox.order(state.pluralOrderId!)?.status).toBe('AUTHORIZED');
      },
      { getOrder, submitOtp: trailing },
    );
  });

  it('authorizes a pre-auth payment when the first OTP is correct', async () => {
    await fx.withWorker(async () => {
      const { handle, state } = await startOtpPayment();
      expect(state.otp?.attemptsLeft).toBe(3);
      expect(state.nextActions).toContain('SUBMIT_OTP');
      const answer = await submitOtp(fx, handle, 's1', CORRECT_OTP);
      // The Update answers once Plural's order says what the OTP did: the payment is authorized by then.
      expect(answer).toMatchObject({ outcome: 'ACCEPTED', state: { status: 'AUTHORIZED' } });
      const done = await waitForStatus(handle, 'AUTHORIZED');
      expect(done.otp?.lastSubmission).toMatchObject({ outcome: 'ACCEPTED' });
      expect(done.amountAuthorized).toEqual({ value: 5000, currency: 'INR' });
      expect(fx.sandbox.order(done.pluralOrderId!)?.status).toBe('AUTHORIZED');
    });
  });

  it('counts a wrong OTP as an attempt and then accepts the right one', async () => {
    await fx.withWorker(async () => {
      const { handle } = await startOtpPayment();
      const wrong = await submitOtp(fx, handle, 'w1', WRONG_OTP);
      expect(wrong).toMatchObject({ outcome: 'INCORRECT', attemptsLeft: 2, state: { status: 'AWAITING_OTP' } });
      expect(wrong.state.otp?.lastSubmission?.outcome).toBe('INCORRECT');
      await submitOtp(fx, handle, 'r1', CORRECT_OTP);
      await waitForStatus(handle, 'AUTHORIZED');
    });
  });

  it('fails the payment when the OTP attempts are exhausted, as Plural does', async () => {
    await fx.withWorker(async () => {
      const { handle } = await startOtpPayment();
      for (const id of ['a', 'b']) {
        expect((await submitOtp(fx, handle, id, WRONG_OTP)).outcome).toBe('INCORRECT');
      }
      expect((await submitOtp(fx, handle, 'c', WRONG_OTP)).outcome).toBe('FAILED');
      const result = await handle.result();
      expect(result.status).toBe('FAILED');
      expect(result.failure?.code).toBe('USER_AUTHENTICATION_FAILED');
      expect(result.otp?.attemptsLeft).toBe(0);
      expect(fx.sandbox.order(result.pluralOrderId!)?.status).toMatch(/ATTEMPTED|FAILED/);
    });
  });

  it('refuses a resend before resend_after, naming when it opens, without calling Plural or writing history', async () => {
    await fx.withWorker(async () => {
      const { handle, state } = await startOtpPayment();
      const before = (await handle.fetchHistory()).events?.length;
      const refused = await rejection(handle.executeUpdate(resendOtpUpdate, { args: [] }));
      expect(refused.type).toBe('TooEarly');
      expect(refused.message).toContain(`a resend is allowed from ${state.otp!.resendAvailableAt!}`);
      const after = await handle.query('getPayment');
      expect((after as { otp: { resendsLeft: number } }).otp.resendsLeft).toBe(2);
      // Refused before anything was written: no Update event, no activity (the time-skipping test server still
      // records the workflow task that ran the validator; the dev server does not, see test/worker/updates.test.ts).
      const E = temporal.api.enums.v1.EventType;
      const recorded = [
        E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
      ];
      const added = ((await handle.fetchHistory()).events ?? []).slice(before ?? 0);
      expect(added.filter((e) => recorded.includes(e.eventType ?? 0))).toEqual([]);
    });
  });

  it('resends the OTP once resend_after has passed', async () => {
    await fx.withWorker(async () => {
      const { handle } = await startOtpPayment();
      await new Promise((r) => setTimeout(r, RESEND_AFTER_S * 1000 + 200));
      const sent = await handle.executeUpdate(resendOtpUpdate, { args: [] });
      expect(sent.outcome).toBe('SENT');
      expect(sent.state.otp?.resendsLeft).toBe(1);
      await submitOtp(fx, handle, 'ok', CORRECT_OTP);
      await waitForStatus(handle, 'AUTHORIZED');
    });
  });
});

describe('a resend Plural refuses', () => {
  it('stops offering resends when Plural says none is left (its limit lower than the engine’s)', async () => {
    let calls = 0;
    const resendOtp = () => {
      calls += 1;
      return Promise.resolve({
        outcome: 'REJECTED' as const,
        code: 'RESEND_LIMIT_EXCEEDED',
        message: 'resend limit reached',
        next: ['SUBMIT_OTP'],
        resendAfterSeconds: undefined,
      });
    };
    await fx.withWorker(
      async () => {
        const { handle } = await startOtpPayment();
        await new Promise((r) => setTimeout(r, RESEND_AFTER_S * 1000 + 200));
        const refused = await handle.executeUpdate(resendOtpUpdate, { args: [] });
        expect(refused.outcome).toBe('REJECTED');
        expect(refused.state.otp?.resendsLeft).toBe(0);
        expect(refused.state.nextActions).not.toContain('RESEND_OTP');
        // The next resend is refused by the validator: Plural is not asked again.
        expect(await rejection(handle.executeUpdate(resendOtpUpdate, { args: [] }))).toMatchObject({
          type: 'LimitReached',
        });
        expect(calls).toBe(1);
        await submitOtp(fx, handle, 'ok', CORRECT_OTP);
        await waitForStatus(handle, 'AUTHORIZED');
      },
      { resendOtp },
    );
  });
});

describe('a resend Plural refuses as too early', () => {
  it('answers TOO_EARLY with the time Plural gives, keeping the resend offered', async () => {
    const resendOtp = () =>
      Promise.resolve({
        outcome: 'REJECTED' as const,
        code: 'RESEND_TOO_EARLY',
        message: 'wait before resending',
        next: ['SUBMIT_OTP', 'RESEND_OTP'],
        resendAfterSeconds: 45,
      });
    await fx.withWorker(
      async () => {
        const { handle } = await startOtpPayment();
        await new Promise((r) => setTimeout(r, RESEND_AFTER_S * 1000 + 200));
        const early = await handle.executeUpdate(resendOtpUpdate, { args: [] });
        expect(early.outcome).toBe('TOO_EARLY');
        expect(early.message).toBe('wait before resending');
        expect(Date.parse(early.state.otp!.resendAvailableAt!) - Date.now()).toBeGreaterThan(30_000);
        expect(early.state.otp?.resendsLeft).toBe(2);
        expect(early.state.nextActions).toContain('RESEND_OTP');
      },
      { resendOtp },
    );
  });
});

describe('an OTP Plural refuses offering only a resend', () => {
  it('ends the authentication when no resend is left, as when Plural offers nothing', async () => {
    const submitOtp: PaymentActivities['submitOtp'] = () => Promise.resolve(EXPIRED_OTP);
    await fx.withWorker(
      async () => {
        const { handle } = await startOtpPayment(true, { limits: { otpMaxResends: 0 } });
        const answer = await handle.executeUpdate(submitOtpUpdate, { args: [{ otpHandle: 'h-1' }] });
        expect(answer.outcome).toBe('FAILED');
        expect(answer.state.nextActions).not.toContain('SUBMIT_OTP');
      },
      { submitOtp },
    );
  });
});

describe('an OTP Plural refuses offering only a resend, with resends left', () => {
  it('takes no OTP until one is resent, then the new one', async () => {
    const real = createActivities({ plural: fx.plural, vault: fx.vault });
    let first = true;
    const expiring: PaymentActivities['submitOtp'] = (input) => {
      if (!first) return real.submitOtp(input);
      first = false;
      return Promise.resolve(EXPIRED_OTP);
    };
    await fx.withWorker(
      async () => {
        const { handle } = await startOtpPayment();
        const expired = await submitOtp(fx, handle, 'expired', WRONG_OTP);
        expect(expired.outcome).toBe('INCORRECT');
        expect(expired.state.nextActions).toEqual(['RESEND_OTP', 'CANCEL']);
        const refused = await rejection(submitOtp(fx, handle, 'again', CORRECT_OTP));
        expect(refused.message).toMatch(/resend the OTP first/);
        await new Promise((r) => setTimeout(r, RESEND_AFTER_S * 1000 + 200));
        const resent = await handle.executeUpdate(resendOtpUpdate, { args: [] });
        expect(resent.outcome).toBe('SENT');
        expect(resent.state.nextActions).toContain('SUBMIT_OTP');
        expect((await submitOtp(fx, handle, 'new', CORRECT_OTP)).outcome).toBe('ACCEPTED');
      },
      { submitOtp: expiring },
    );
  });
});

describe('an OTP queued behind one Plural refuses offering only a resend', () => {
  it('is answered IGNORED without being sent to Plural', async () => {
    // The first OTP reaches Plural (1.5 s there), which refuses it offering only a resend.
    const { activities, sent } = firstOtpExpires(fx);
    await fx.withWorker(async () => {
      const { handle } = await startOtpPayment();
      const [expired, queued] = await whileOtpIsWithPlural(
        fx,
        () => submitOtp(fx, handle, 'expired', WRONG_OTP),
        () => submitOtp(fx, handle, 'queued', CORRECT_OTP),
      );
      expect(expired.outcome).toBe('INCORRECT');
      expect(queued).toMatchObject({ outcome: 'IGNORED', message: OTP_RESEND_REQUIRED_MESSAGE });
      expect(queued.state.nextActions).toEqual(['RESEND_OTP', 'CANCEL']);
      expect(sent()).toBe(1);
    }, activities);
  });
});

describe('requests queued behind an OTP still with Plural when the authentication window ends', () => {
  it('drops the resend (answered IGNORED, no SMS) and closes the payment as the window', async () => {
    const held = heldFirstOtp(fx);
    // The window's last Get Order (the payment's first read) is held: the payment still AWAITING_OTP meanwhile.
    const lastRead = heldFirstRead(fx);
    await fx.withWorker(
      async () => {
        const { handle } = await startOtpPayment(true, { durations: { otpWindowMs: 5_000 } });
        const { first, resend } = await queuedPastTheWindow(fx, handle, held, 5_000, false);
        expect(first.outcome).toBe('INCORRECT');
        expect(resend).toMatchObject({ outcome: 'IGNORED', message: expect.stringMatching(/window has closed/) });
        expect(resend.state.nextActions).toEqual(['CANCEL']);
        expect(resend.state.otp?.lastResend?.outcome).toBe('IGNORED');
        expect(held.resent()).toBe(0);
        // Later OTP requests are refused by the validators, before they reach the workflow's history.
        await lastRead.holding;
        expect((await handle.query(getPaymentQuery)).status).toBe('AWAITING_OTP');
        const late = await fx.vault.put({ otp: CORRECT_OTP }, OTP_TTL_MS);
        // One at a time: each refusal is awaited as it is sent (never a rejection left unhandled meanwhile).
        for (const send of [
          () => handle.executeUpdate(submitOtpUpdate, { args: [{ otpHandle: late }] }),
          () => handle.executeUpdate(resendOtpUpdate),
        ]) {
          expect(await rejection(send())).toMatchObject({
            type: 'InvalidState',
            message: expect.stringMatching(/^the authentication window of payment .* has closed/),
          });
        }
        lastRead.release();
        const end = await handle.result();
        expect(end.status).toBe('FAILED');
        expect(end.closing?.reason).toBe('AUTHENTICATION_WINDOW_CLOSED');
        expect([held.sent(), held.resent()]).toEqual([1, 0]);
      },
      { ...held.activities, getOrder: lastRead.getOrder },
    );
  });

  it('still sends an OTP the customer sent in time, and Plural authorizes the payment', async () => {
    const held = heldFirstOtp(fx);
    await fx.withWorker(async () => {
      const { handle } = await startOtpPayment(true, { durations: { otpWindowMs: 5_000 } });
      const { first, resend, right } = await queuedPastTheWindow(fx, handle, held, 5_000, true);
      expect(first.outcome).toBe('INCORRECT');
      expect(resend.outcome).toBe('IGNORED');
      expect(right?.outcome).toBe('ACCEPTED');
      expect([held.sent(), held.resent()]).toEqual([2, 0]);
      await waitForStatus(handle, 'AUTHORIZED');
      await handle.executeUpdate(cancelUpdate, { args: [{}] });
      expect((await handle.result()).status).toBe('CANCELLED');
    }, held.activities);
  });
});

describe('the same OTP sent again (a client retrying a request it did not wait for)', () => {
  /** The real activities, with the OTP submissions that reach Plural counted. */
  function countingSubmissions() {
    const real = createActivities({ plural: fx.plural, vault: fx.vault });
    const counter = { sent: 0 };
    const overrides = {
      submitOtp: (input: Parameters<typeof real.submitOtp>[0]) => {
        counter.sent += 1;
        return real.submitOtp(input);
      },
    };
    return { counter, overrides };
  }

  it('joins the submission in flight, and a refused OTP is not sent again until a resend: one attempt used', async () => {
    const { counter, overrides } = countingSubmissions();
    await fx.withWorker(async () => {
      const { handle } = await startOtpPayment();
      const both = await whileOtpIsWithPlural(
        fx,
        () => submitOtp(fx, handle, 'first', WRONG_OTP, 'otp1:wrong'),
        () => submitOtp(fx, handle, 'again', WRONG_OTP, 'otp1:wrong'),
      );
      for (const a of both) expect(a).toMatchObject({ outcome: 'INCORRECT', attemptsLeft: 2 });
      expect(counter.sent).toBe(1);
      // The same wrong OTP a third time: answered without Plural, no attempt used.
      const third = await submitOtp(fx, handle, 'third', WRONG_OTP, 'otp1:wrong');
      expect(third).toMatchObject({ outcome: 'INCORRECT', attemptsLeft: 2 });
      expect(third.message).toContain('already refused');
      expect(counter.sent).toBe(1);
      // Another OTP goes to Plural as usual.
      const right = await submitOtp(fx, handle, 'right', CORRECT_OTP, 'otp1:right');
      expect(right.outcome).toBe('ACCEPTED');
      expect(counter.sent).toBe(2);
    }, overrides);
  });

  it('answers another OTP queued behind the one Plural accepts, IGNORED, at once rather than at the payment’s end', async () => {
    await fx.withWorker(async () => {
      const { handle } = await startOtpPayment();
      const answers = await whileOtpIsWithPlural(
        fx,
        () => submitOtp(fx, handle, 'right', CORRECT_OTP, 'otp1:right'),
        () => submitOtp(fx, handle, 'queued', WRONG_OTP, 'otp1:queued'),
      );
      expect(answers[0]).toMatchObject({ outcome: 'ACCEPTED', state: { status: 'AUTHORIZED' } });
      // Answered while the payment waits for its capture (before: only once it ended, days later).
      expect(answers[1]).toMatchObject({ outcome: 'IGNORED', state: { status: 'AUTHORIZED' } });
    });
  });

  it('sends a refused OTP again after a resend, which brings a new one', async () => {
    const { counter, overrides } = countingSubmissions();
    await fx.withWorker(async () => {
      const { handle } = await startOtpPayment();
      expect((await submitOtp(fx, handle, 'w', WRONG_OTP, 'otp1:w')).outcome).toBe('INCORRECT');
      await new Promise((r) => setTimeout(r, RESEND_AFTER_S * 1000 + 200));
      expect((await handle.executeUpdate(resendOtpUpdate, { args: [] })).outcome).toBe('SENT');
      const again = await submitOtp(fx, handle, 'w2', WRONG_OTP, 'otp1:w');
      expect(again).toMatchObject({ outcome: 'INCORRECT', attemptsLeft: 1 });
      expect(counter.sent).toBe(2);
    }, overrides);
  });
});

describe('OTP hand-off through the vault', () => {
  it('destroys the OTP in the vault once Plural answered, wrong or right', async () => {
    await fx.withWorker(async () => {
      const { handle } = await startOtpPayment();
      const wrong = await submitOtp(fx, handle, 'v-wrong', WRONG_OTPS[1]);
      expect(await fx.vault.get(wrong.otpHandle)).toBeUndefined();
      const right = await submitOtp(fx, handle, 'v-right', CORRECT_OTP);
      await waitForStatus(handle, 'AUTHORIZED');
      expect(await fx.vault.get(right.otpHandle)).toBeUndefined();
    });
  });

  it('reports a missing OTP hand-off as a failed submission that uses no attempt, and the next OTP still works', async () => {
    await fx.withWorker(async () => {
      const { handle } = await startOtpPayment();
      const gone = await fx.vault.put({ otp: WRONG_OTPS[2] }, OTP_TTL_MS);
      await fx.vault.destroy(gone); // expired or destroyed before the activity read it
      const answer = await handle.executeUpdate(submitOtpUpdate, { args: [{ otpHandle: gone }] });
      expect(answer).toMatchObject({ outcome: 'FAILED', attemptsLeft: 3 });
      expect(answer.message).toMatch(/no longer available.*submit the OTP again/);
      const failed = answer.state;
      expect(failed.status).toBe('AWAITING_OTP');
      expect(failed.nextActions).toContain('SUBMIT_OTP');
      expect(fx.sandbox.order(failed.pluralOrderId!)?.status).not.toBe('FAILED');
      await submitOtp(fx, handle, 'after', CORRECT_OTP);
      await waitForStatus(handle, 'AUTHORIZED');
    });
  });
});

type PaymentHandle = Awaited<ReturnType<typeof startOtpPayment>>['handle'];

/** The activities the payment scheduled, in order (from its history). */
async function activitiesScheduled(handle: PaymentHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
}

/** The attempt each scheduled activity of `type` ran as, last (history records the last attempt's start). */
async function attemptsOf(handle: PaymentHandle, type: string): Promise<number[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const ofType = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type)
      .map((e) => Number(e.eventId)),
  );
  return events.flatMap((e) => {
    const started = e.activityTaskStartedEventAttributes;
    return started && ofType.has(Number(started.scheduledEventId)) ? [started.attempt ?? 0] : [];
  });
}

/**
 * Runs `body` with a worker whose `activity` makes its follow-up through a Plural client that refuses the first call
 * of `method`, as a network error would; then checks that the follow-up was refused once and `activity` ran once (its
 * first attempt answered: a retry would repeat, or adopt, its own call).
 */
async function withFollowUpRefused(
  method: 'getCardDetails' | 'generateOtp' | 'getOrder',
  activity: 'createOrder' | 'createPayment' | 'submitOtp',
  body: () => Promise<PaymentHandle>,
): Promise<void> {
  let refused = 0;
  const plural = new Proxy(fx.plural, {
    get(target, property, receiver) {
      if (property === method && refused === 0) {
        return () => {
          refused += 1;
          return Promise.reject(new Error('socket hang up'));
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  const acts = createActivities({ plural, vault: fx.vault });
  await fx.withWorker(
    async () => {
      const handle = await body();
      expect(refused).toBe(1);
      expect(await attemptsOf(handle, activity)).toEqual([1]);
    },
    { [activity]: acts[activity] },
  );
}

describe('follow-up calls made by the activity before them (one workflow step fewer each)', () => {
  it('Create Order’s activity looks the card up, Create Payment’s generates the OTP, submitOtp’s reads the order', async () => {
    await fx.withWorker(async () => {
      const { handle } = await startOtpPayment();
      fx.webhooks.forward = false;
      try {
        const answer = await submitOtp(fx, handle, 'read', CORRECT_OTP);
        expect(answer).toMatchObject({ outcome: 'ACCEPTED', state: { status: 'AUTHORIZED' } });
        expect(answer.state.audit.map((e) => e.cause)).toContain(
          'Get Order after the OTP was accepted: Plural order AUTHORIZED',
        );
        expect(answer.state.reconciliations).toBe(1);
      } finally {
        fx.webhooks.forward = true;
      }
      expect(await activitiesScheduled(handle)).toEqual(['createOrder', 'createPayment', 'submitOtp']);
    });
  });

  it('falls back to a lookupCard step when that lookup fails, and the order is not created again', async () => {
    await withFollowUpRefused('getCardDetails', 'createOrder', async () => {
      const { ref, handle, state } = await startOtpPayment();
      expect(state.otp).toMatchObject({ attemptsLeft: 3 });
      expect(await activitiesScheduled(handle)).toEqual(['createOrder', 'lookupCard', 'createPayment']);
      expect(fx.sandbox.orders().filter((o) => o.merchantOrderReference === ref)).toHaveLength(1);
      return handle;
    });
  });

  it('falls back to a generateOtp step when that generation fails, and the payment is not created again', async () => {
    await withFollowUpRefused('generateOtp', 'createPayment', async () => {
      const { handle, state } = await startOtpPayment();
      expect(state.otp).toMatchObject({ attemptsLeft: 3 });
      expect(fx.sandbox.order(state.pluralOrderId!)?.payments).toHaveLength(1);
      expect(await activitiesScheduled(handle)).toEqual(['createOrder', 'createPayment', 'generateOtp']);
      expect(await submitOtp(fx, handle, 'after-fallback', CORRECT_OTP)).toMatchObject({ outcome: 'ACCEPTED' });
      return handle;
    });
  });

  it('falls back to a getOrder step when that read fails, and the OTP is not submitted again', async () => {
    await withFollowUpRefused('getOrder', 'submitOtp', async () => {
      const { handle } = await startOtpPayment();
      fx.webhooks.forward = false;
      try {
        const answer = await submitOtp(fx, handle, 'fallback', CORRECT_OTP);
        expect(answer).toMatchObject({ outcome: 'ACCEPTED', state: { status: 'AUTHORIZED' } });
        expect(answer.state.otp?.attemptsLeft).toBe(3);
      } finally {
        fx.webhooks.forward = true;
      }
      expect((await activitiesScheduled(handle)).slice(-2)).toEqual(['submitOtp', 'getOrder']);
      return handle;
    });
  });
});

describe('an OTP submission whose answer is lost', () => {
  // Plural accepts the OTP but its answer never arrives (a 5xx after the work was done); the activity's retry is
  // refused because the payment is no longer pending. The refusal must not fail a payment Plural authorized.
  it.each([
    ['no webhook arrives, so Get Order finds the authorization', false],
    ['the authorization webhook arrives first', true],
  ])('keeps the payment authorized when %s', async (_, forwardWebhooks) => {
    await fx.withWorker(async () => {
      const { handle } = await startOtpPayment();
      fx.webhooks.forward = forwardWebhooks;
      fx.sandbox.setFaults({ errorAfterCommitRate: 1, paths: ['/otp/submit'] });
      try {
        const answer = await submitOtp(fx, handle, 'lost', CORRECT_OTP);
        expect(answer.outcome).toBe('ACCEPTED');
        const done = await waitForStatus(handle, 'AUTHORIZED');
        expect(done.otp?.lastSubmission).toMatchObject({ outcome: 'ACCEPTED' });
        expect(done.failure).toBeUndefined();
        expect(fx.sandbox.order(done.pluralOrderId!)?.status).toBe('AUTHORIZED');
        expect(fx.sandbox.injectedFaults().errorAfterCommit).toBeGreaterThan(0);
      } finally {
        fx.sandbox.setFaults({ errorAfterCommitRate: 0, paths: [] });
        fx.webhooks.forward = true;
      }
    });
  });
});

describe('card data and OTPs', () => {
  it('the history scan detects a PAN, a CVV or an OTP in a payload (so the next test can fail)', () => {
    const payload = new TextEncoder().encode(JSON.stringify({ card_number: CARDS.nativeOtp, cvv: CVV }));
    expect(secretsFound(historyText({ events: [{ payloads: [{ data: payload }] }] }))).toEqual([
      'PAN ending 1112',
      'CVV',
    ]);
  });

  it("the history scan detects the sandbox's secrets, a bearer token or a JWT in a payload", () => {
    const scan = (value: unknown) =>
      secretsFound(
        historyText({ events: [{ payloads: [{ data: new TextEncoder().encode(JSON.stringify(value)) }] }] }),
      );
    expect(scan({ secret: DEFAULT_CREDENTIALS.clientSecret })).toEqual(["the sandbox's clientSecret"]);
    expect(scan({ hook: DEFAULT_CREDENTIALS.webhookSecret })).toEqual(["the sandbox's webhookSecret"]);
    expect(scan({ authorization: 'Bearer abc.def-123456' })).toEqual(['a bearer token']);
    expect(scan({ token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig' })).toEqual(['a JWT']);
    expect(scan({ clientId: DEFAULT_CREDENTIALS.clientId, note: 'a bearer of news' })).toEqual([]);
  });

  it('the history scan detects an OTP in an Update payload, right or wrong', () => {
    const encode = (otp: string) => new TextEncoder().encode(JSON.stringify({ otp }));
    const signal = (otp: string) => ({
      events: [
        {
          workflowExecutionUpdateAcceptedEventAttributes: {
            acceptedRequest: { input: { args: { payloads: [{ data: encode(otp) }] } } },
          },
        },
      ],
    });
    expect(secretsFound(historyText(signal(CORRECT_OTP)))).toEqual(['correct OTP', 'an otp value']);
    for (const wrong of WRONG_OTPS) {
      expect(secretsFound(historyText(signal(wrong)))).toEqual(['wrong OTP', 'an otp value']);
    }
    // Any other OTP under an `otp` key, and the protobuf JSON form of the committed fixtures (base64 `data`).
    expect(secretsFound(historyText(signal('123456')))).toEqual(['an otp value']);
    const b64 = { events: [{ payloads: [{ data: Buffer.from(encode(CORRECT_OTP)).toString('base64') }] }] };
    expect(secretsFound(historyText(b64))).toEqual(['correct OTP', 'an otp value']);
    // Not flagged: the handle that replaced it, and the payment state's `otp` counters.
    const clean = new TextEncoder().encode(JSON.stringify({ otpHandle: 'cvm1.abc', otp: { attemptsLeft: 3 } }));
    expect(secretsFound(historyText({ events: [{ payloads: [{ data: clean }] }] }))).toEqual([]);
  });

  it('never appear in the history of any workflow of this file', async () => {
    const scans = await scanHistories(fx);
    expect(scans.length).toBeGreaterThan(0);
    expect(scans.every((s) => s.decodedInput)).toBe(true);
    expect(scans.filter((s) => s.found.length > 0)).toEqual([]);
  });
});
