import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import { AUTO_SUBMIT_SCRIPT, PAGE_STYLE } from './pages';

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** What one kind of page may do besides showing itself with its inline style. */
export interface PagePolicy {
  /**
   * Where its form may be submitted (CSP `form-action`, which browsers also apply to the redirects that follow);
   * null leaves it open, for a page whose form goes to the merchant's callback URL and wherever that sends on.
   */
  formAction: readonly string[] | null;
  /** Whether it runs the callback page's auto-submit script (allowed by its hash; no other script ever). */
  autoSubmit: boolean;
}

/**
 * helmet for the sandbox's pages: CSP `default-src 'none'` with the page's style (and the auto-submit script, where
 * it is needed) allowed by hash, no framing (`frame-ancestors 'none'`, `X-Frame-Options: DENY`), no referrer (page
 * URLs carry checkout and challenge tokens). No HSTS: the sandbox serves plain HTTP on loopback.
 */
export function pageHeaders(policy: PagePolicy): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: [sha256(PAGE_STYLE)],
        scriptSrc: policy.autoSubmit ? [sha256(AUTO_SUBMIT_SCRIPT)] : ["'none'"],
        baseUri: ["'none'"],
        formAction: policy.formAction,
        frameAncestors: ["'none'"],
      },
    },
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: false,
  });
}
