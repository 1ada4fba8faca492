/** Response headers for the API's own static pages (`/docs`, and the dev stack's return page). */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * helmet for a page that needs its one inline style and nothing else: CSP `default-src 'none'` with the style allowed
 * by its hash (it never changes), no script, form, frame or other origin; no framing; no referrer (a page's query is
 * kept from other sites). HSTS is left to the TLS terminator, which knows whether every subdomain is served over HTTPS
 * (and the dev stack serves plain HTTP on loopback, where the header would mean nothing).
 */
export function staticPageHeaders(style: string): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: [`'sha256-${createHash('sha256').update(style).digest('base64')}'`],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: false,
  });
}
