/**
 * Scrubbing of card data and secrets from anything that is about to be logged: key-name redaction at any depth,
 * masking of Luhn-valid PAN-looking digit runs, `key=value` secrets, bearer credentials, JWTs and card-vault handle
 * keys inside free text. Pure functions, shared by the logger's hooks and usable on their own.
 */

/** What replaces a redacted value. */
export const REDACTED = '[REDACTED]';

const MAX_DEPTH = 10;
/** Longest string kept in a log line (error stacks are the long ones). */
export const MAX_STRING_LENGTH = 10_000;
/** Longest free text kept under a {@link FREE_TEXT_KEYS} key: a person's words, not something to debug with. */
export const MAX_FREE_TEXT_LENGTH = 500;
/** Text scrubbed past a cut, so a card number straddling it is still recognised (19 digits and 18 separators fit). */
const CUT_MARGIN = 64;

/**
 * Keys (normalised, see {@link isSensitiveKey}) of free text a person wrote or that embeds it: a cancel's `reason`,
 * an operator's name, the workflow's `cause` of a status change ("cancelled: <reason>"). Logged scrubbed and cut
 * to {@link MAX_FREE_TEXT_LENGTH}.
 */
const FREE_TEXT_KEYS = new Set(['reason', 'cause', 'detail', 'note', 'comment', 'description', 'operator', 'remarks']);

/**
 * Key names (lower-cased, `_`/`-` removed) whose values are always redacted, whatever their depth or type.
 * `token`/`tokenid`/`cryptogram` cover network tokens and saved-card tokens, which are PAN-equivalent.
 */
const SENSITIVE_KEYS = new Set([
  'pan',
  'cardnumber',
  'cvv',
  'cvv2',
  'cvc',
  'cvc2',
  'cvd',
  'securitycode',
  'otp',
  'otpvalue',
  'pin',
  'token',
  'tokenid',
  'cryptogram',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'clientsecret',
  'secret',
  'password',
  'passwd',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'apikey',
  'xapikey',
  'cardhandle',
  'cardvaulthandle',
  'vaulthandle',
]);

/**
 * Customer data the engine passes through to Plural but never logs: merchant metadata, order notes, billing and
 * shipping addresses, the browser details sent for 3-D Secure, and Plural's `purchase_details` that holds them.
 */
const CUSTOMER_DATA_KEYS = new Set([
  'merchantmetadata',
  'notes',
  'purchasedetails',
  'billingaddress',
  'shippingaddress',
  'address1',
  'address2',
  'address3',
  'deviceinfo',
]);

/** Suffixes of normalised key names that mark a secret (`webhookSecret`, `card_vault_token`, `adminPassword`). */
const SENSITIVE_SUFFIXES = ['secret', 'secrethex', 'password', 'token', 'apikey'];

/** Under a parent whose name mentions a card, these fields are cardholder data too (`card.number`, `card.name`). */
const CARD_FIELDS = new Set(['number', 'name', 'holdername', 'expirymonth', 'expiryyear', 'expiry']);

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[_\-\s]/g, '');
}

/**
 * Whether a property with this name holds a secret, card data or customer data passed through to Plural (given the
 * name of the object that holds it).
 */
export function isSensitiveKey(key: string, parentKey?: string): boolean {
  const k = normaliseKey(key);
  if (SENSITIVE_KEYS.has(k) || CUSTOMER_DATA_KEYS.has(k)) return true;
  if (SENSITIVE_SUFFIXES.some((s) => k.endsWith(s)) && !k.endsWith('tokentype')) return true;
  if (parentKey !== undefined && normaliseKey(parentKey).includes('card') && CARD_FIELDS.has(k)) return true;
  return false;
}

/** Luhn (mod 10) check over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

// 13 or more digits, optionally grouped by one separator between two digits (a space, no-break space, dash, dot,
// slash or underscore: `4111.1111.1111.1111` is still a card), not touching other digits.
const DIGIT_RUN = /(?<!\d)\d(?:[ \u00a0\u2007\u202f./_-]?\d){12,}(?!\d)/g;
const DIGIT_SEPARATORS = /[ \u00a0\u2007\u202f./_-]/g;

/**
 * Whether a digit run (separators allowed) contains something with the shape of a PAN: any 13–19 digit window that
 * passes Luhn. Windows rather than the whole run, so a PAN glued to other digits (`4111…1111 0`) is still caught.
 */
export function looksLikePan(run: string): boolean {
  const digits = run.replace(DIGIT_SEPARATORS, '');
  for (let len = 13; len <= 19 && len <= digits.length; len++) {
    for (let start = 0; start + len <= digits.length; start++) {
      if (luhnValid(digits.slice(start, start + len))) return true;
    }
  }
  return false;
}

// A UUID (Temporal's run ids, request ids): its dash-separated groups can hold a 13+ digit run that passes Luhn by
// chance. It is an identifier, not a card number, and masking it broke log correlation at random.
const UUID = /(?<![0-9a-f-])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9a-f-])/gi;

/** Masks the PAN-looking digit runs of `text`, except those inside a UUID and those `keep` spares (by offset). */
function replacePanRuns(text: string, keep?: (offset: number) => boolean): string {
  const uuids = text.includes('-')
    ? [...text.matchAll(UUID)].map((m) => [m.index, m.index + m[0].length] as const)
    : [];
  return text.replace(DIGIT_RUN, (run: string, offset: number) => {
    if (keep?.(offset)) return run;
    if (uuids.some(([from, to]) => offset >= from && offset + run.length <= to)) return run;
    return looksLikePan(run) ? REDACTED : run;
  });
}

/**
 * Replace every digit run of 13+ digits that contains a Luhn-valid 13–19 digit window with `[REDACTED]` (a run inside
 * a UUID excepted).
 */
export function maskPans(text: string): string {
  return replacePanRuns(text);
}

// `cvv: 123`, `"otp":"123456"`, `client_secret=abc`, `access_token":"eyJ…`: a secret-named key, a `:` or `=` (quotes
// and spaces around it allowed), then the value up to the next delimiter — unless already redacted, so that
// scrubbing twice (the logger's hook, then its serializers) gives the same text.
const KEY_VALUE =
  /\b(cvv2?|cvc2?|cvd|otp|pin|security[_ -]?code|password|passwd|[a-z_]*secret(?:_hex)?|[a-z_]*token|api[_-]?key|cryptogram)(\\?["']?\s{0,2}[:=]\s{0,2}\\?["']?)(?!\[REDACTED\])([^\s"'\\,;&}\]]+)/gi;
// `cvv 123`, `OTP 482913`, `the OTP was 482913`, `otp is: 4829`: a numeric secret after its name, within a few
// words (no digits, no sentence end between them).
const NUMERIC_AFTER_NAME = /\b(cvv2?|cvc2?|cvd|otp|pin)\b([^\d.!?\n]{1,24}?)(\d{3,8})\b/gi;
const JWT = /\beyJ[\w-]+\.[\w-]+\.[\w-]+/g;
const BEARER = /\b(Bearer|Basic)\s+[\w\-.~+/=]+/gi;
// Card-vault handles carry the per-secret key after the id: keep the id for correlation, drop the key.
const VAULT_HANDLE_KEY = /\b(cv1\.[\w-]{16,64}\.)[\w-]{16,}/g;

/**
 * Scrub free text: PAN-looking runs, secret-named `key=value` pairs, numbers after a secret's name, bearer/basic
 * credentials, JWTs, vault handle keys and any of the `knownSecrets` (exact values from configuration); then cut it
 * to `maxLength` characters, saying how many were dropped.
 */
export function scrubString(
  text: string,
  knownSecrets: readonly string[] = [],
  maxLength: number = MAX_STRING_LENGTH,
): string {
  // Scrub a little past the cut before cutting, so the cut never leaves the first digits of a card number behind.
  const long = text.length > maxLength;
  let out = long ? text.slice(0, maxLength + CUT_MARGIN) : text;
  for (const secret of knownSecrets) {
    if (secret.length >= 6) out = out.split(secret).join(REDACTED);
  }
  out = maskPans(
    out
      .replace(VAULT_HANDLE_KEY, `$1${REDACTED}`)
      .replace(JWT, REDACTED)
      .replace(BEARER, `$1 ${REDACTED}`)
      .replace(KEY_VALUE, `$1$2${REDACTED}`)
      .replace(NUMERIC_AFTER_NAME, `$1$2${REDACTED}`),
  );
  return long ? `${out.slice(0, maxLength)}…[truncated ${text.length - maxLength} chars]` : out;
}

/** Whether a property with this name holds free text (see {@link FREE_TEXT_KEYS}). */
export function isFreeTextKey(key: string): boolean {
  return FREE_TEXT_KEYS.has(normaliseKey(key));
}

/** A plain, scrubbed rendering of an error: type, message, code and other own fields, stack and cause. */
function scrubError(err: Error, ctx: Ctx, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: err.constructor?.name && err.constructor.name !== 'Object' ? err.constructor.name : err.name,
    message: scrubString(err.message, ctx.knownSecrets),
  };
  for (const key of Object.keys(err)) {
    if (key === 'message' || key === 'stack' || key === 'cause') continue;
    out[key] = isSensitiveKey(key)
      ? REDACTED
      : scrubValue((err as unknown as Record<string, unknown>)[key], ctx, depth + 1, key);
  }
  if (err.stack) out.stack = scrubString(err.stack, ctx.knownSecrets);
  if (err.cause !== undefined) out.cause = scrubValue(err.cause, ctx, depth + 1, 'cause');
  return out;
}

interface Ctx {
  readonly knownSecrets: readonly string[];
  readonly seen: WeakSet<object>;
}

function scrubValue(value: unknown, ctx: Ctx, depth: number, parentKey?: string): unknown {
  switch (typeof value) {
    case 'string':
      return scrubString(
        value,
        ctx.knownSecrets,
        parentKey !== undefined && isFreeTextKey(parentKey) ? MAX_FREE_TEXT_LENGTH : MAX_STRING_LENGTH,
      );
    case 'number':
      // Integers too big for a millisecond timestamp (14+ digits) that pass Luhn are treated as PANs.
      return Number.isInteger(value) && Math.abs(value) >= 1e13 && looksLikePan(String(Math.abs(value)))
        ? REDACTED
        : value;
    case 'bigint':
      return looksLikePan(value.toString().replace('-', '')) ? REDACTED : value.toString();
    case 'object':
      break;
    default:
      return value;
  }
  if (value === null) return null;
  if (depth > MAX_DEPTH) return '[Truncated]';
  if (ctx.seen.has(value)) return '[Circular]';
  ctx.seen.add(value);
  try {
    if (value instanceof Error) return scrubError(value, ctx, depth);
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
    if (Buffer.isBuffer(value) || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
      return `[binary ${value.byteLength} bytes]`;
    }
    if (Array.isArray(value)) return value.map((v) => scrubValue(v, ctx, depth + 1, parentKey));
    if (value instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of value) {
        const key = String(k);
        out[key] = isSensitiveKey(key, parentKey) ? REDACTED : scrubValue(v, ctx, depth + 1, key);
      }
      return out;
    }
    if (value instanceof Set) return [...value].map((v) => scrubValue(v, ctx, depth + 1, parentKey));
    const withToJson = value as { toJSON?: unknown };
    if (typeof withToJson.toJSON === 'function') {
      return scrubValue((withToJson.toJSON as () => unknown).call(value), ctx, depth + 1, parentKey);
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      out[key] = isSensitiveKey(key, parentKey)
        ? REDACTED
        : scrubValue((value as Record<string, unknown>)[key], ctx, depth + 1, key);
    }
    return out;
  } finally {
    ctx.seen.delete(value);
  }
}

/**
 * Deep copy of `value` with card data and secrets removed: sensitive keys redacted at any depth, strings masked
 * (see {@link scrubString}), errors turned into plain `{ type, message, stack, ... }` objects, cycles cut.
 */
export function scrub(value: unknown, knownSecrets: readonly string[] = []): unknown {
  return scrubValue(value, { knownSecrets, seen: new WeakSet() }, 0);
}

/** A scrubbed, JSON-friendly rendering of an error (for pino's `err` serializer). */
export function scrubErrorForLog(err: unknown, knownSecrets: readonly string[] = []): unknown {
  return scrub(err, knownSecrets);
}

/**
 * Last line of defence on a finished JSON log line: masks Luhn-valid PAN runs that sit inside JSON strings, and
 * known secret values. Digit runs in number position (after `:`, `,` or `[`) are left alone, so timestamps and
 * counters stay intact and the line stays valid JSON; numbers are handled before serialisation.
 */
export function scrubJsonLine(line: string, knownSecrets: readonly string[] = []): string {
  let out = line;
  for (const secret of knownSecrets) {
    if (secret.length >= 6 && out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return replacePanRuns(out, (offset) => {
    const prev = out[offset - 1];
    return prev === ':' || prev === ',' || prev === '[';
  });
}
