/**
 * The customer's browser, without a browser: a page's forms as a browser sees them, submitted as a browser would, and
 * the sandbox's challenge page clicked through. For the end-to-end tests; the benchmarks load `stack-process.ts`
 * outside vitest, so what asserts lives here.
 */
import { expect } from 'vitest';

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes the HTML entities the pages use in attribute values. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x?[0-9a-fA-F]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? m;
  });
}

/** A form as a browser sees it: absolute action URL, method, hidden fields and submit buttons. */
export interface HtmlForm {
  action: string;
  method: string;
  id: string | undefined;
  fields: Record<string, string>;
  buttons: { name: string; value: string; label: string }[];
}

const attr = (tag: string, name: string): string | undefined => {
  const m = new RegExp(`\\s${name}="([^"]*)"`, 'i').exec(tag);
  return m?.[1] === undefined ? undefined : decodeEntities(m[1]);
};

/** Every `<form>` of a page, with actions resolved against the page URL. */
export function parseForms(html: string, pageUrl: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const open = m[1] ?? '';
    const inner = m[2] ?? '';
    const fields: Record<string, string> = {};
    for (const input of inner.matchAll(/<input\b[^>]*>/gi)) {
      const name = attr(input[0], 'name');
      if (name !== undefined) fields[name] = attr(input[0], 'value') ?? '';
    }
    const buttons = [...inner.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)].map((b) => ({
      name: attr(b[0], 'name') ?? '',
      value: attr(b[0], 'value') ?? '',
      label: decodeEntities((b[2] ?? '').trim()),
    }));
    forms.push({
      action: new URL(attr(open, 'action') ?? pageUrl, pageUrl).toString(),
      method: (attr(open, 'method') ?? 'get').toUpperCase(),
      id: attr(open, 'id'),
      fields,
      buttons,
    });
  }
  return forms;
}

/** Submits `form` like a browser (urlencoded POST, the clicked button's name=value added); no redirect following. */
export async function submitForm(form: HtmlForm, clicked?: { name: string; value: string }): Promise<Response> {
  const fields = { ...form.fields };
  if (clicked && clicked.name !== '') fields[clicked.name] = clicked.value;
  const body = new URLSearchParams(fields).toString();
  if (form.method === 'GET') {
    const url = new URL(form.action);
    url.search = body;
    return fetch(url, { redirect: 'manual' });
  }
  return fetch(form.action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
    redirect: 'manual',
  });
}

/** The customer's browser on the challenge page: load it, click the button, follow the auto-submitting form. */
export async function completeChallenge(challengeUrl: string, button: 'Approve' | 'Decline') {
  const pageRes = await fetch(challengeUrl);
  expect(pageRes.status).toBe(200);
  const form = parseForms(await pageRes.text(), challengeUrl).find((f) => f.buttons.some((b) => b.label === button));
  expect(form, `the challenge page has a form with an ${button} button`).toBeDefined();
  const clicked = form!.buttons.find((b) => b.label === button)!;
  const afterClick = await submitForm(form!, clicked);
  // The sandbox posts the signed fields back to the merchant with an auto-submitting form (Plural's default).
  expect(afterClick.status).toBe(200);
  const callbackPageUrl = afterClick.url;
  const callbackForm = parseForms(await afterClick.text(), callbackPageUrl).find((f) => f.id === 'callback');
  expect(callbackForm, 'the sandbox answered with the auto-submitting callback form').toBeDefined();
  return { callbackForm: callbackForm! };
}
