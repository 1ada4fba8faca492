/**
 * `GET /v1/payments`: the merchant's payments by status, creation time and reference prefix, newest first, a page at
 * a time. One visibility list per page (Temporal's search attributes filter, each payment's memo answers), so it
 * needs no worker; visibility is eventually consistent, so a payment created or changed a moment ago may be missing
 * or show its previous status.
 */
import type { RequestHandler } from 'express';
import { createCursorCodec } from '../cursor';
import type { CursorCodec } from '../cursor';
import type { PaymentListFilters } from '../engine';
import { badRequest } from '../errors';
import { parse } from '../http';
import { paymentSummaryResource } from '../resource';
import { LIST_ERROR_CODE, LIST_PARAMETERS, ListPaymentsQuerySchema } from '../schemas';
import type { ListPaymentsQuery } from '../schemas';
import type { RouteContext } from './context';

const KNOWN: ReadonlySet<string> = new Set(LIST_PARAMETERS);
/** A parameter name safe to echo in a message (it could otherwise carry anything, a card number included). */
const echoable = (name: string): boolean => /^[A-Za-z0-9_]{1,40}$/.test(name) && !/\d{6}/.test(name);

/** Unknown and repeated parameters are refused before any is read, so a typo never silently widens the search. */
function checkParameters(query: Record<string, unknown>): void {
  const unknown = Object.keys(query).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) {
    const named = unknown.every(echoable) ? `: ${unknown.join(', ')}` : '';
    throw badRequest(
      'unknown_parameter',
      `unknown query parameter(s)${named}; the list takes ${LIST_PARAMETERS.join(', ')}`,
    );
  }
  const repeated = Object.keys(query).filter((k) => Array.isArray(query[k]));
  if (repeated.length > 0) {
    throw badRequest(
      'repeated_parameter',
      `${repeated.join(', ')} given more than once; give each once (several statuses: status=A,B)`,
    );
  }
}

const filtersOf = (q: ListPaymentsQuery): PaymentListFilters => ({
  ...(q.status !== undefined ? { statuses: q.status } : {}),
  ...(q.created_from !== undefined ? { createdFrom: q.created_from } : {}),
  ...(q.created_to !== undefined ? { createdTo: q.created_to } : {}),
  ...(q.reference_prefix !== undefined ? { referencePrefix: q.reference_prefix } : {}),
});

/** The handler of `GET /v1/payments` (mounted with authentication on the `/v1/payments` route). */
export function listPayments(ctx: RouteContext): RequestHandler {
  // A codec per merchant: a cursor one merchant was given opens for no other (it names that merchant's search).
  const codecs = new Map<string, CursorCodec>();
  const codecOf = (merchantId: string): CursorCodec => {
    let codec = codecs.get(merchantId);
    if (!codec) {
      codec = createCursorCodec(`${ctx.options.fingerprintKey}\nmerchant:${merchantId}`);
      codecs.set(merchantId, codec);
    }
    return codec;
  };
  return async (req, res) => {
    const cursors = codecOf(ctx.merchantOf(res));
    const raw = req.query as Record<string, unknown>;
    checkParameters(raw);
    const query = parse(ListPaymentsQuerySchema, raw, 'list query');
    const filters = filtersOf(query);
    let pageToken: Uint8Array | undefined;
    if (query.cursor !== undefined) {
      pageToken = cursors.open(query.cursor, filters);
      if (!pageToken) {
        throw badRequest(
          LIST_ERROR_CODE.INVALID_CURSOR,
          'cursor is not a next_cursor this API issued for these filters; repeat the filters of the request that ' +
            'returned it (status, created_from, created_to, reference_prefix), or start again without a cursor',
        );
      }
    }
    const page = await ctx.engineOf(res).list({ ...filters, limit: query.limit, ...(pageToken ? { pageToken } : {}) });
    res.status(200).json({
      object: 'list',
      data: page.payments.map(paymentSummaryResource),
      next_cursor: page.nextPageToken ? cursors.seal(page.nextPageToken, filters) : null,
    });
  };
}
