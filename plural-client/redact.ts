/**
 * Last-line scrubbing for text that came from outside (gateway messages, network error messages) before it goes
 * into an error message or a log line. Our own messages never interpolate card data, OTPs, tokens or secrets; this
 * guards against a gateway that echoes them back.
 */

// 13–19 digits, optionally grouped by one separator between two digits (a space, no-break space, dash, dot, slash or
// underscore): the shape of a PAN or a network token.
const PAN_LIKE = /(?<![\w-])\d(?:[ \u00a0\u2007\u202f./_-]?\d){12,18}(?![\w-])/g;
// A JWT (bearer access token) or similar long base64url triple.
const JWT_LIKE = /\beyJ[\w-]+\.[\w-]+\.[\w-]+/g;
// "Bearer <anything>" in echoed headers.
const BEARER = /\bBearer\s+\S+/gi;
// A CVV, OTP or PIN echoed after its name within a few words (`OTP 482913 is invalid`, `cvv: 123`, `"otp":"4829"`),
// the name starting a word or a key's part (`card_cvv`, `otpCode`; not `spinning`).
const SECRET_AFTER_NAME = /(?<![a-z0-9])(cvv2?|cvc2?|cvd|otp|pin)([a-z_]*\b[^\d.!?\n]{0,24}?)(\d{3,8})\b/gi;

/** Replace PAN-like digit runs, CVVs and OTPs echoed after their names, JWTs and bearer credentials with `[REDACTED]`. */
export function redactSensitive(text: string): string {
  return text
    .replace(JWT_LIKE, '[REDACTED]')
    .replace(BEARER, 'Bearer [REDACTED]')
    .replace(PAN_LIKE, '[REDACTED]')
    .replace(SECRET_AFTER_NAME, '$1$2[REDACTED]');
}

/** Truncate externally supplied text so an error message stays a line, not a page. */
export function clip(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
