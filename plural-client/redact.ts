/**
 * Last-line scrubbing for text that came from outside (gateway messages, network error messages) before it goes
 * into an error message or a log line. Our own messages never interpolate card data, OTPs, tokens or secrets; this
 * guards against a gateway that echoes them back.
 */

// 13–19 digits, optionally grouped by single spaces or dashes: the shape of a PAN or a network token.
const PAN_LIKE = /(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])/g;
// A JWT (bearer access token) or similar long base64url triple.
const JWT_LIKE = /\beyJ[\w-]+\.[\w-]+\.[\w-]+/g;
// "Bearer <anything>" in echoed headers.
const BEARER = /\bBearer\s+\S+/gi;

/** Replace PAN-like digit runs, JWTs and bearer credentials with `[REDACTED]`. */
export function redactSensitive(text: string): string {
  return text.replace(JWT_LIKE, '[REDACTED]').replace(BEARER, 'Bearer [REDACTED]').replace(PAN_LIKE, '[REDACTED]');
}

/** Truncate externally supplied text so an error message stays a line, not a page. */
export function clip(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
