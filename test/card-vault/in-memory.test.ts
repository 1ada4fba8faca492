/** The in-process card vault: sealed per-secret, bounded, expiring, and holding no plaintext. */
import { afterEach, describe, expect, it } from 'vitest';
import { CARD_VAULT_ERROR_CODE, InMemoryCardVault, isCardVaultError } from '../../card-vault';
import type { CardSecret, CardVaultError } from '../../card-vault';
import { open, seal, newId, newKey } from '../../card-vault/sealed';

const PAN = '4012001037141112';
const CVV = '739';
const OTP = '73914628';
const CARD: CardSecret = { number: PAN, cvv: CVV, name: 'Asha Rao', expiryMonth: '12', expiryYear: '2030' };
const MINUTE = 60_000;

const vaults: InMemoryCardVault[] = [];
function vault(options: ConstructorParameters<typeof InMemoryCardVault>[0] = {}): InMemoryCardVault {
  const v = new InMemoryCardVault(options);
  vaults.push(v);
  return v;
}
afterEach(() => {
  for (const v of vaults.splice(0)) v.close();
});

async function rejection(p: Promise<unknown>): Promise<CardVaultError> {
  try {
    await p;
  } catch (err) {
    if (isCardVaultError(err)) return err;
    throw err;
  }
  throw new Error('expected a CardVaultError');
}

/** Every encoding in which a PAN could sit in memory. */
function encodings(value: string): Buffer[] {
  return [
    Buffer.from(value, 'utf8'),
    Buffer.from(value, 'utf16le'),
    Buffer.from(Buffer.from(value).toString('hex')),
    Buffer.from(Buffer.from(value).toString('base64')),
    Buffer.from(Buffer.from(value).toString('base64url')),
  ];
}

describe('InMemoryCardVault', () => {
  it('returns what was put, under an opaque handle that contains no card data', async () => {
    const v = vault();
    const handle = await v.put(CARD, 5 * MINUTE);
    expect(handle).toMatch(/^cvm1\.[A-Za-z0-9_-]{22}$/);
    expect(handle).not.toContain(PAN);
    expect(await v.get(handle)).toEqual(CARD);
    expect(await v.get(handle)).toEqual(CARD); // readable again until destroyed (activity retries)
  });

  it('issues a distinct handle for every put, even for the same card', async () => {
    const v = vault();
    const handles = await Promise.all(Array.from({ length: 50 }, () => v.put(CARD, MINUTE)));
    expect(new Set(handles).size).toBe(50);
  });

  it('forgets a secret once its TTL has passed', async () => {
    let now = 1_000_000;
    const v = vault({ now: () => now });
    const handle = await v.put(CARD, MINUTE);
    now += MINUTE - 1;
    expect(await v.get(handle)).toEqual(CARD);
    now += 1;
    expect(await v.get(handle)).toBeUndefined();
    expect(v.store.size).toBe(0);
  });

  it('sweeps expired secrets in the background without anyone reading them', async () => {
    let now = 0;
    const v = vault({ now: () => now, sweepIntervalMs: 5 });
    await v.put(CARD, MINUTE);
    await v.put(CARD, 10 * MINUTE);
    now = 2 * MINUTE;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(v.store.size).toBe(1);
  });

  it('destroys a secret: the handle no longer opens and the key and ciphertext are zeroed', async () => {
    const v = vault();
    const handle = await v.put(CARD, MINUTE);
    const [entry] = [...v.store.values()];
    await v.destroy(handle);
    expect(await v.get(handle)).toBeUndefined();
    expect(v.store.size).toBe(0);
    expect(entry!.key.every((b) => b === 0)).toBe(true);
    expect(entry!.sealed.every((b) => b === 0)).toBe(true);
    await expect(v.destroy(handle)).resolves.toBeUndefined(); // idempotent
  });

  it('rejects a put beyond its capacity with a clear error, and accepts again once room is made', async () => {
    let now = 0;
    const v = vault({ capacity: 2, now: () => now });
    const first = await v.put(CARD, MINUTE);
    await v.put(CARD, 10 * MINUTE);
    const err = await rejection(v.put(CARD, MINUTE));
    expect(err.code).toBe(CARD_VAULT_ERROR_CODE.VAULT_FULL);
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/capacity/);
    expect(err.message).not.toContain(PAN);
    await v.destroy(first);
    const third = await v.put(CARD, MINUTE);
    expect((await rejection(v.put(CARD, MINUTE))).code).toBe(CARD_VAULT_ERROR_CODE.VAULT_FULL);
    now = 2 * MINUTE; // `third` expired: the full store sweeps before refusing
    await expect(v.put(CARD, MINUTE)).resolves.toMatch(/^cvm1\./);
    expect(await v.get(third)).toBeUndefined();
  });

  it('rejects tampered, malformed and foreign handles', async () => {
    const v = vault();
    const other = vault();
    const handle = await v.put(CARD, MINUTE);
    const lastChar = handle.at(-1) === 'A' ? 'B' : 'A';
    expect(await v.get(`${handle.slice(0, -1)}${lastChar}`)).toBeUndefined();
    expect(await v.get(`${handle}x`)).toBeUndefined();
    expect(await v.get('cvm1.')).toBeUndefined();
    expect(await v.get('')).toBeUndefined();
    expect(await other.get(handle)).toBeUndefined();
    expect(await v.get(handle)).toEqual(CARD);
  });

  it('validates what it stores, naming the bad field but never its value', async () => {
    const v = vault();
    const bad = await rejection(v.put({ number: PAN, cvv: '73x9' }, MINUTE));
    expect(bad.code).toBe(CARD_VAULT_ERROR_CODE.INVALID_SECRET);
    expect(bad.message).toContain('cvv');
    expect(bad.message).not.toContain('73x9');
    expect(bad.message).not.toContain(PAN);
    const extra = await rejection(v.put({ number: PAN, pin: '1234' } as CardSecret, MINUTE));
    expect(extra.message).toContain('unknown field(s) pin');
    expect((await rejection(v.put({}, MINUTE))).code).toBe(CARD_VAULT_ERROR_CODE.INVALID_SECRET);
    expect((await rejection(v.put(CARD, 0))).code).toBe(CARD_VAULT_ERROR_CODE.INVALID_TTL);
    expect((await rejection(v.put(CARD, 2 * 60 * MINUTE))).code).toBe(CARD_VAULT_ERROR_CODE.INVALID_TTL);
    expect((await rejection(v.put(CARD, 1.5))).code).toBe(CARD_VAULT_ERROR_CODE.INVALID_TTL);
  });

  it('hands off an OTP like card data: put, get until destroyed, and sealed in memory', async () => {
    const v = vault();
    const handle = await v.put({ otp: OTP }, 10 * MINUTE);
    expect(handle).not.toContain(OTP);
    expect(await v.get(handle)).toEqual({ otp: OTP });
    const memory = Buffer.concat([...v.store.values()].flatMap((e) => [e.sealed, e.key]));
    for (const needle of encodings(OTP)) expect(memory.includes(needle)).toBe(false);
    await v.destroy(handle);
    expect(await v.get(handle)).toBeUndefined();
  });

  it.each([['12a4'], ['123'], ['123456789'], ['']])(
    'refuses OTP %j, naming the field but never the value',
    async (otp) => {
      const v = vault();
      const bad = await rejection(v.put({ otp }, MINUTE));
      expect(bad.code).toBe(CARD_VAULT_ERROR_CODE.INVALID_SECRET);
      expect(bad.message).toContain('otp must be 4-8 digits');
      if (otp) expect(bad.message).not.toContain(otp);
    },
  );

  it('holds no plaintext PAN, CVV or cardholder name in its memory', async () => {
    const v = vault();
    const handles = await Promise.all(
      Array.from({ length: 20 }, () => v.put({ ...CARD, token: 'tok_4012001037141112' }, MINUTE)),
    );
    const stored = [...v.store.values()];
    expect(stored).toHaveLength(20);
    const memory = Buffer.concat(stored.flatMap((e) => [e.sealed, e.key]));
    for (const needle of [PAN, 'Asha Rao', '"cvv":"739"', 'tok_4012001037141112'].flatMap(encodings)) {
      expect(memory.includes(needle)).toBe(false);
    }
    expect(JSON.stringify(stored)).not.toContain(PAN);
    expect(await v.get(handles[7]!)).toMatchObject({ number: PAN }); // and yet it decrypts
  });

  it('refuses puts after close and forgets everything', async () => {
    const v = vault();
    const handle = await v.put(CARD, MINUTE);
    v.close();
    expect(await v.get(handle)).toBeUndefined();
    expect((await rejection(v.put(CARD, MINUTE))).code).toBe(CARD_VAULT_ERROR_CODE.VAULT_CLOSED);
  });
});

describe('sealing', () => {
  it('does not open with a flipped byte, another key or another id', () => {
    const id = newId();
    const key = newKey();
    const sealed = seal(CARD, key, id);
    expect(open(sealed, key, id)).toEqual(CARD);
    for (let i = 0; i < sealed.length; i += 7) {
      const flipped = Buffer.from(sealed);
      flipped[i] = flipped[i]! ^ 0x01;
      expect(open(flipped, key, id)).toBeUndefined();
    }
    expect(open(sealed, newKey(), id)).toBeUndefined();
    expect(open(sealed, key, newId())).toBeUndefined();
    expect(open(sealed.subarray(0, 20), key, id)).toBeUndefined();
  });
});
