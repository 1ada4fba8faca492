/**
 * The application logger never writes a PAN, CVV, OTP, token or configured secret, whatever shape the caller logs.
 */
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogger, looksLikePan, luhnValid, maskPans, scrubString, toTemporalLogger } from '../../observability';
import type { AppLogger } from '../../observability';

const PAN = '4012001037141112'; // Luhn-valid VISA test card
const PAN_SPACED = '4012 0010 3714 1112';
const AMEX = '378282246310005'; // 15 digits, Luhn-valid
const CVV = '739';
const OTP = '482913';
const ACCESS_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtZXJjaGFudCJ9.c2lnbmF0dXJlLXZhbHVl';
const CLIENT_SECRET = 'cs_live_8f3a9c2e71b4';
const VAULT_KEY = 'q9GvK3x0mZr7T1bWc5YhN2dLfPjS8uAeR4oXiV6kQ0w';
const HANDLE = `cv1.AbCdEfGhIjKlMnOpQrStUv.${VAULT_KEY}`;

/** A logger writing into an array; `fields` drops the lines' time/pid/hostname so digit checks are meaningful. */
function capture(options: { knownSecrets?: string[]; level?: 'trace' | 'info' } = {}): {
  logger: AppLogger;
  lines: string[];
  text: () => string;
} {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = createLogger({ level: options.level ?? 'trace', destination, base: {}, ...options });
  const text = () =>
    lines
      .map((l) => {
        const parsed = JSON.parse(l) as Record<string, unknown>;
        delete parsed.time;
        return JSON.stringify(parsed);
      })
      .join('\n');
  return { logger, lines, text };
}

function expectClean(text: string): void {
  expect(text).not.toContain(PAN);
  expect(text).not.toContain(PAN_SPACED);
  expect(text).not.toContain(AMEX);
  expect(text).not.toContain(CVV);
  expect(text).not.toContain(OTP);
  expect(text).not.toContain(ACCESS_TOKEN);
  expect(text).not.toContain(CLIENT_SECRET);
  expect(text).not.toContain(VAULT_KEY);
}

describe('createLogger', () => {
  it('writes one JSON object per line with level, msg and fields', () => {
    const { logger, lines } = capture();
    logger.info({ orderId: 'v1-1', amount: { value: 5000, currency: 'INR' } }, 'order created');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ level: 30, msg: 'order created', orderId: 'v1-1', amount: { value: 5000 } });
  });

  it('redacts card data and credentials in a logged object at any depth', () => {
    const { logger, text } = capture();
    logger.info(
      {
        card_number: PAN,
        cvv: CVV,
        otp: OTP,
        access_token: ACCESS_TOKEN,
        client_secret: CLIENT_SECRET,
        request: {
          headers: { authorization: `Bearer ${ACCESS_TOKEN}`, 'content-type': 'application/json' },
          body: { payment_method: { card_details: { card_number: PAN, cvv: CVV, name: 'A' } }, otp: OTP },
        },
        deep: { a: { b: { c: { d: { card: { number: PAN, cvv: CVV } } } } } },
        list: [{ pan: PAN }, { token: HANDLE }],
        cardHandle: HANDLE,
      },
      'request sent',
    );
    expectClean(text());
    expect(text()).toContain('application/json');
    expect(text()).toContain('[REDACTED]');
  });

  it('redacts customer data passed through to Plural: merchant metadata, notes, addresses, device info', () => {
    const { logger, text } = capture();
    const address = { address1: '10 Downing Street', pincode: '51524036', city: 'Westminster' };
    logger.info(
      {
        orderId: 'v1-2',
        body: {
          notes: 'gift for Asha',
          purchase_details: { customer: { billing_address: address }, merchant_metadata: { loyalty: 'GOLD-77' } },
        },
        input: {
          merchantMetadata: { loyalty: 'GOLD-77' },
          customer: { billingAddress: address, shippingAddress: address },
          deviceInfo: { browser_user_agent: 'Mozilla/5.0 (X11; Quirky)' },
        },
        payments: [{ device_info: { browser_user_agent: 'Mozilla/5.0 (X11; Quirky)' } }],
      },
      'order body',
    );
    for (const value of ['gift for Asha', 'Downing', '51524036', 'Westminster', 'GOLD-77', 'Quirky']) {
      expect(text()).not.toContain(value);
    }
    expect(text()).toContain('v1-2');
  });

  it('masks PANs, CVVs, OTPs and tokens inside free text (messages, error messages, stacks)', () => {
    const { logger, text } = capture();
    logger.warn(`charging card ${PAN} / ${PAN_SPACED} / ${AMEX}`);
    logger.warn(`gateway echoed {"card_number":"${PAN}","cvv":"${CVV}","otp":"${OTP}"}`);
    logger.warn(`retry with otp=${OTP}&cvv=${CVV} Authorization: Bearer ${ACCESS_TOKEN}`);
    logger.warn(`handle ${HANDLE} client_secret=${CLIENT_SECRET}`);
    const err = new Error(`declined: card ${PAN} cvv ${CVV} otp: ${OTP} token ${ACCESS_TOKEN}`);
    logger.error(err);
    logger.error({ err, orderId: 'v1-2' }, 'payment failed');
    logger.error(new Error('wrapper', { cause: new Error(`inner ${PAN}`) }), 'wrapped');
    expectClean(text());
    expect(text()).toContain('v1-2');
    expect(text()).toContain('cv1.AbCdEfGhIjKlMnOpQrStUv.'); // the id survives for correlation
  });

  it("scrubs a merchant's cancel reason and cuts it to 500 characters, as the workflow's status-change cause too", () => {
    const { logger, lines, text } = capture();
    const reason = `customer read out the OTP ${OTP} and card ${PAN_SPACED}; ${'x'.repeat(10 * 1024)}`;
    logger.info({ reason }, 'cancel requested');
    // The workflow's line (toTemporalLogger, as the worker's runtime forwards it): the reason inside `cause`.
    toTemporalLogger(logger).info('payment status changed', {
      from: 'AUTHORIZED',
      to: 'CANCELLED',
      cause: `cancelled: ${reason}`,
    });
    logger.info({ operator: 'y'.repeat(5_000), detail: 'z'.repeat(5_000) }, 'operator gave up');
    expectClean(text());
    const [cancel, changed, gaveUp] = lines.map((l) => JSON.parse(l) as Record<string, string>);
    expect(cancel!.reason).toMatch(
      /^customer read out the OTP \[REDACTED\] and card \[REDACTED\]; x+…\[truncated \d+ chars\]$/,
    );
    expect(cancel!.reason!.length).toBeLessThan(540);
    expect(changed!.cause!.length).toBeLessThan(540);
    expect(gaveUp!.operator!.length).toBeLessThan(540);
    expect(gaveUp!.detail!.length).toBeLessThan(540);
    for (const line of lines) expect(line.length).toBeLessThan(2_000);
  });

  it('never leaves the first digits of a card number at a cut', () => {
    const { logger, text } = capture();
    for (let pad = 480; pad <= 500; pad++) logger.info({ reason: `${'x'.repeat(pad)}${PAN}` }, 'cut');
    for (let pad = 9_980; pad <= 10_000; pad += 5) logger.info({ stack: `${'x'.repeat(pad)}${PAN}` }, 'cut');
    expect(text()).not.toMatch(/\d{6}/);
  });

  it('cuts every other string at 10 000 characters', () => {
    const { logger, lines } = capture();
    logger.info({ body: 'b'.repeat(50_000) }, 'long');
    const line = JSON.parse(lines[0]!) as { body: string };
    expect(line.body).toBe(`${'b'.repeat(10_000)}…[truncated 40000 chars]`);
  });

  it('masks an OTP written in words near its name, not other numbers', () => {
    expect(scrubString(`the OTP is ${OTP}`)).toBe('the OTP is [REDACTED]');
    expect(scrubString(`otp was: ${OTP}, thanks`)).toBe('otp was: [REDACTED], thanks');
    expect(scrubString(`PIN 4821`)).toBe('PIN [REDACTED]');
    expect(scrubString('OTP sent. Order 482913 is waiting')).toBe('OTP sent. Order 482913 is waiting');
    expect(scrubString('OTP for order v1-4405071524-aa')).toBe('OTP for order v1-4405071524-aa');
    expect(scrubString('pincode 560001')).toBe('pincode 560001');
  });

  it('redacts sensitive own properties of error objects and keeps the useful ones', () => {
    const { logger, lines, text } = capture();
    const err = Object.assign(new Error('capture failed'), {
      code: 'CAPTURE_REJECTED',
      statusCode: 422,
      requestBody: { card_number: PAN, cvv: CVV },
      accessToken: ACCESS_TOKEN,
    });
    logger.error({ err }, 'failed');
    expectClean(text());
    const line = JSON.parse(lines[0]!);
    expect(line.err).toMatchObject({
      type: 'Error',
      message: 'capture failed',
      code: 'CAPTURE_REJECTED',
      statusCode: 422,
    });
  });

  it('masks configured secret values wherever they appear', () => {
    const { logger, text } = capture({ knownSecrets: [CLIENT_SECRET] });
    logger.info({ note: `the secret is ${CLIENT_SECRET}`, other: CLIENT_SECRET }, `msg ${CLIENT_SECRET}`);
    expectClean(text());
  });

  it('scrubs child bindings, including grandchildren', () => {
    const { logger, text } = capture();
    const child = logger.child({ card: { number: PAN, cvv: CVV }, workflowId: 'payment-1' });
    const grandchild = child.child({ note: `otp=${OTP}` });
    grandchild.info('hello');
    expectClean(text());
    expect(text()).toContain('payment-1');
  });

  it('keeps timestamps, amounts and ids that are not card numbers', () => {
    const { logger, lines } = capture();
    logger.info({ at: 1_763_777_641_000, amountMinor: 123_456, orderRef: 'order-2026-0001' }, 'ok');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      at: 1_763_777_641_000,
      amountMinor: 123_456,
      orderRef: 'order-2026-0001',
    });
  });

  it('survives circular objects and keeps every line valid JSON', () => {
    const { logger, lines } = capture();
    const a: Record<string, unknown> = { name: 'a', pan: PAN };
    a.self = a;
    logger.info(a, 'circular');
    expect(() => {
      JSON.parse(lines[0]!);
    }).not.toThrow();
    expect(lines[0]).not.toContain(PAN);
  });

  it('never lets a Luhn-valid PAN through, whatever string surrounds it (property)', () => {
    const { logger, lines } = capture();
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^[\d a-z"\\-]{0,20}$/)),
        fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^[\d a-z"\\-]{0,20}$/)),
        fc.constantFrom(PAN, AMEX, PAN_SPACED),
        (pre, post, pan) => {
          lines.length = 0;
          logger.info({ note: `${pre}${pan}${post}` }, `${pre}${pan}${post}`);
          const line = lines[0]!;
          JSON.parse(line);
          return !line.includes(pan);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('forwards Temporal SDK logs through the same redaction', () => {
    const { logger, lines, text } = capture();
    const temporal = toTemporalLogger(logger);
    temporal.warn(`activity failed for ${PAN}`, { workflowId: 'payment-9', sdkComponent: 'activity', otp: OTP });
    temporal.log('ERROR', 'core says hi', { [Symbol('ts')]: 1n });
    expectClean(text());
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, workflowId: 'payment-9', sdkComponent: 'activity' });
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 50, msg: 'core says hi' });
  });
});

describe('PAN detection', () => {
  it('recognises Luhn-valid 13-19 digit runs only', () => {
    expect(luhnValid(PAN)).toBe(true);
    expect(luhnValid('4012001037141113')).toBe(false);
    expect(looksLikePan(PAN_SPACED)).toBe(true);
    expect(looksLikePan('123456789012')).toBe(false); // 12 digits
    expect(maskPans(`x${PAN}y 4012001037141113`)).toBe('x[REDACTED]y 4012001037141113');
  });

  it.each([
    ['dots', '4111.1111.1111.1111'],
    ['slashes', '4111/1111/1111/1111'],
    ['underscores', '4111_1111_1111_1111'],
    ['no-break spaces', '4111\u00a01111\u00a01111\u00a01111'],
    ['narrow no-break spaces', '4111\u202f1111\u202f1111\u202f1111'],
  ])('masks a card number grouped by %s', (_what, card) => {
    expect(maskPans(`card ${card} stolen`)).toBe('card [REDACTED] stolen');
    expect(scrubString(`cancelled: card ${card} stolen`)).toBe('cancelled: card [REDACTED] stolen');
  });

  it('leaves a UUID whose groups happen to hold a Luhn-valid run alone (a run id), and still masks the card', () => {
    // 4111-1111-1111-1111 passes Luhn; here it is the middle of a run id, as one run id in a few thousand is.
    const runId = '01a2468b-4111-1111-1111-1111b9eaf8e9';
    expect(maskPans(`run ${runId}`)).toBe(`run ${runId}`);
    expect(scrubString(`workflow payment:1 run ${runId}`)).toBe(`workflow payment:1 run ${runId}`);
    const { logger, lines } = capture();
    logger.info({ runId }, 'Plural order created');
    expect((JSON.parse(lines[0]!) as { runId: string }).runId).toBe(runId);
    // The same digits outside a UUID are a card number.
    expect(maskPans('card 4111-1111-1111-1111 declined')).toBe('card [REDACTED] declined');
    expect(maskPans(`card 4111-1111-1111-1111b9eaf8e9`)).toBe('card [REDACTED]b9eaf8e9');
  });

  it('masks secret-named key=value pairs in text', () => {
    expect(scrubString(`cvv: ${CVV}, otp=${OTP}`)).toBe('cvv: [REDACTED], otp=[REDACTED]');
    expect(scrubString('otp_attempts_left=2')).toBe('otp_attempts_left=2');
  });

  it('gives the same text when scrubbed twice (the logger scrubs errors in its hook and its serializer)', () => {
    const once = scrubString(
      `card ${PAN} cvv=${CVV} otp: "${OTP}" client_secret=${CLIENT_SECRET} Bearer ${ACCESS_TOKEN}`,
    );
    expect(once).toBe('card [REDACTED] cvv=[REDACTED] otp: "[REDACTED]" client_secret=[REDACTED] Bearer [REDACTED]');
    expect(scrubString(once)).toBe(once);
  });

  it('logs an error whose message holds a CVV with exactly one [REDACTED] in place of it', () => {
    const { logger, lines } = capture();
    logger.warn({ error: new Error(`issuer refused cvv=${CVV}`) }, 'activity failed');
    const line = JSON.parse(lines[0]!) as { error: { message: string } };
    expect(line.error.message).toBe('issuer refused cvv=[REDACTED]');
  });
});
