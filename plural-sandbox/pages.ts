import type { CardProfile } from './cards';
import type { CallbackTarget } from './gateway';
import type { Money } from './store';

/** Server-rendered pages. No card number, CVV or OTP is ever written into HTML. */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const formatMoney = (m: Money): string => `${escapeHtml(m.currency)} ${(m.value / 100).toFixed(2)}`;

/** Every page's one inline style; the Content-Security-Policy allows it by hash (`page-headers.ts`). */
export const PAGE_STYLE = `
body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
fieldset{border:1px solid #ccc;border-radius:6px}label{display:block;margin:.4rem 0}
button{font-size:1rem;padding:.5rem 1.2rem;margin:.5rem .5rem 0 0}.muted{color:#666;font-size:.9rem}
`;

/** The callback page's one script (auto-submits the form); allowed by hash on that page only. */
export const AUTO_SUBMIT_SCRIPT = "document.getElementById('callback').submit();";

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} - Plural sandbox</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>`;
}

export function checkoutPage(args: {
  orderId: string;
  amount: Money;
  preAuth: boolean;
  token: string;
  action: string;
  cards: readonly CardProfile[];
  error?: string;
}): string {
  const options = args.cards
    .map(
      (card, i) =>
        `<label><input type="radio" name="card" value="${escapeHtml(card.key)}"${i === 0 ? ' checked' : ''}> ${escapeHtml(card.label)}</label>`,
    )
    .join('\n');
  const error = args.error ? `<p role="alert"><strong>${escapeHtml(args.error)}</strong></p>` : '';
  return layout(
    'Checkout',
    `<p>Order <code>${escapeHtml(args.orderId)}</code>: <strong>${formatMoney(args.amount)}</strong>${
      args.preAuth ? ' (pre-authorization: the amount is only authorized, the merchant captures later)' : ''
    }</p>
${error}
<form method="post" action="${escapeHtml(args.action)}">
<input type="hidden" name="token" value="${escapeHtml(args.token)}">
<fieldset><legend>Pay with a sandbox test card</legend>
${options}
</fieldset>
<button type="submit">Pay ${formatMoney(args.amount)}</button>
</form>
<p class="muted">Plural sandbox: no real card is charged.</p>`,
  );
}

export function challengePage(args: { orderId: string; amount: Money; token: string; action: string }): string {
  return layout(
    'Authenticate payment',
    `<p>Your bank asks you to confirm a payment of <strong>${formatMoney(args.amount)}</strong> for order <code>${escapeHtml(args.orderId)}</code>.</p>
<form method="post" action="${escapeHtml(args.action)}">
<input type="hidden" name="token" value="${escapeHtml(args.token)}">
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="decline">Decline</button>
</form>
<p class="muted">Plural sandbox ACS simulator.</p>`,
  );
}

/** The page that carries the signed callback fields to the merchant (auto-submitting POST form). */
export function callbackFormPage(target: CallbackTarget & { url: string }): string {
  const inputs = Object.entries(target.fields)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('\n');
  return layout(
    'Returning to the merchant',
    `<form id="callback" method="post" action="${escapeHtml(target.url)}">
${inputs}
<noscript><button type="submit">Continue</button></noscript>
</form>
<script>${AUTO_SUBMIT_SCRIPT}</script>`,
  );
}

export function messagePage(title: string, text: string): string {
  return layout(title, `<p>${escapeHtml(text)}</p>`);
}

/** The callback URL with the signed fields as query parameters (callbackMode 'redirect'). */
export function callbackRedirectUrl(target: CallbackTarget & { url: string }): string {
  const url = new URL(target.url);
  for (const [k, v] of Object.entries(target.fields)) url.searchParams.set(k, v);
  return url.toString();
}
