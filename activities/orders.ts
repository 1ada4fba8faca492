/**
 * Plural's order operations: Create Order, the hosted checkout link, and Get Order (with the card a `save: true`
 * payment saved for the customer).
 *
 * A retried create (or one Plural answers DUPLICATE_REQUEST) first looks the order up by its merchant reference, so an
 * answer lost in transit never yields two orders. An order found that way (or returned for a reference Plural already
 * knew) is adopted only if it is this payment's: the same amount and pre-authorization, created no earlier than the
 * payment. A reference reused once Temporal no longer remembers the first payment, or used outside the engine on the
 * same Plural account, fails the payment with `DUPLICATE_REFERENCE` instead of taking over another payment's money.
 */
import type { ApplicationFailure } from '@temporalio/activity';
import {
  ALLOWED_PAYMENT_METHOD,
  isPluralError,
  PAYMENT_STATUS,
  PLURAL_ERROR_CODE,
  PLURAL_ERROR_TYPE,
} from '../plural-client';
import type { Address as PluralAddress, CheckoutLinkResponse, CustomerToken, Order } from '../plural-client';
import { ENGINE_FAILURE_CODE, FAILURE_TYPE } from '../workflows/definitions';
import type { Address } from '../workflows/definitions';
import { snapshotOf } from './context';
import type { ActivityContext, CardLookup, OrderReader } from './context';
import { classify, codeOf, failure, isOrderNotFound } from './failures';
import type {
  CheckoutLinkResult,
  CreateOrderInput,
  CreateOrderResult,
  GetOrderInput,
  OrderSnapshot,
  SavedCardSnapshot,
} from './types';

/** Whether the order's card payment has been approved (a saved card exists only after that). */
function cardApproved(order: OrderSnapshot): boolean {
  return order.payments.some(
    (p) => p.method === 'CARD' && (p.status === PAYMENT_STATUS.AUTHORIZED || p.status === PAYMENT_STATUS.PROCESSED),
  );
}

/** An address in Plural's words (the same field names; only what is set). */
function addressBody(a: Address | undefined): PluralAddress | undefined {
  if (a === undefined) return undefined;
  const { address1, address2, address3, pincode, city, state, country } = a;
  return { address1, address2, address3, pincode, city, state, country };
}

/** How far Plural's clock may run behind Temporal's before an order looks older than the payment that created it. */
const CLOCK_SKEW_MS = 10 * 60_000;

/** Why Plural's `order` under this payment's reference is not this payment's order; undefined when it is. */
function notThisPayments(order: Order, input: CreateOrderInput): string | undefined {
  const { value, currency } = order.order_amount;
  if (value !== input.amount.value || currency !== input.amount.currency) {
    return `its amount is ${value} ${currency}, this payment's ${input.amount.value} ${input.amount.currency}`;
  }
  if (typeof order.pre_auth === 'boolean' && order.pre_auth !== input.preAuth) {
    return `its pre_auth is ${String(order.pre_auth)}, this payment's ${String(input.preAuth)}`;
  }
  const created = order.created_at ? Date.parse(order.created_at) : NaN;
  const notBefore = input.notBefore ? Date.parse(input.notBefore) : NaN;
  if (created < notBefore - CLOCK_SKEW_MS) {
    return `it was created at ${order.created_at ?? '?'}, before this payment began at ${input.notBefore ?? '?'}`;
  }
  return undefined;
}

/** Create Order's body (the hosted checkout's too), in Plural's words. */
function orderBody(input: CreateOrderInput) {
  const c = input.customer;
  const customer =
    c === undefined
      ? undefined
      : {
          customer_id: c.customerId,
          first_name: c.firstName,
          last_name: c.lastName,
          email_id: c.email,
          mobile_number: c.mobileNumber,
          country_code: c.countryCode,
          billing_address: addressBody(c.billingAddress),
          shipping_address: addressBody(c.shippingAddress),
        };
  // As every guide shows it: metadata beside the customer in purchase_details, notes on the order itself.
  const metadata = input.merchantMetadata;
  return {
    merchant_order_reference: input.merchantOrderReference,
    order_amount: input.amount,
    pre_auth: input.preAuth,
    notes: input.notes,
    callback_url: input.callbackUrl,
    failure_callback_url: input.failureCallbackUrl,
    purchase_details:
      customer || metadata ? { customer, merchant_metadata: metadata ? { ...metadata } : undefined } : undefined,
  };
}

/**
 * Get Order, and with `savedCardOf`, once the card payment is authorized, the card Plural saved for the customer
 * (`savedCard`): best effort, a failed lookup leaves it out for the next read to find. Shared by `getOrder` and the
 * read that follows an accepted OTP (`submitOtp`).
 */
export function createOrderReader(ctx: ActivityContext): OrderReader {
  const { plural, log, getOrderSnapshot } = ctx;

  /**
   * The newest token Plural lists for the customer's card ending `last4` (Plural's guides show the token id in no
   * payment or order answer; Get Customer Tokens lists it). Undefined when none yet, or when the lookup failed.
   */
  async function findSavedCard(
    customerId: string,
    last4: string,
    signal: AbortSignal,
  ): Promise<SavedCardSnapshot | undefined> {
    let tokens: CustomerToken[];
    try {
      tokens = (await plural.listCustomerTokens(customerId, { signal })).tokens;
    } catch (err) {
      if (isPluralError(err) && err.type === PLURAL_ERROR_TYPE.ABORTED) throw err;
      log('warn', { code: codeOf(err) }, 'saved card lookup failed; the next Get Order will ask again');
      return undefined;
    }
    const token = tokens
      .filter((t) => t.card_data?.last4_digit === last4 && (t.payment_method ?? 'CARD') === 'CARD')
      .reduce<CustomerToken | undefined>(
        (newest, t) => (newest === undefined || (t.created_at ?? '') > (newest.created_at ?? '') ? t : newest),
        undefined,
      );
    if (!token) return undefined;
    return {
      tokenId: token.token_id,
      status: token.status ?? undefined,
      last4,
      expiryMonth: token.card_data?.expiry_month ?? undefined,
      expiryYear: token.card_data?.expiry_year ?? undefined,
    };
  }

  return async (input, signal) => {
    const order = await getOrderSnapshot(input.orderId, signal);
    if (input.savedCardOf === undefined || !cardApproved(order)) return order;
    const savedCard = await findSavedCard(input.savedCardOf.customerId, input.savedCardOf.last4, signal);
    return savedCard ? { ...order, savedCard } : order;
  };
}

/** Create Order, the hosted checkout link and Get Order. */
export function createOrderActivities(ctx: ActivityContext, readOrder: OrderReader, lookupCard: CardLookup) {
  const { plural, call, log, followUp } = ctx;

  async function findByReference(ref: string, signal: AbortSignal): Promise<Order | undefined> {
    try {
      return await plural.getOrderByReference(ref, { signal });
    } catch (err) {
      if (isOrderNotFound(err)) return undefined;
      throw classify(err, FAILURE_TYPE.GATEWAY_REJECTED);
    }
  }

  /** Creates this payment's order, or adopts the one an earlier attempt (or Plural, for a known reference) holds. */
  async function createOrAdopt(input: CreateOrderInput, signal: AbortSignal, attempt: number): Promise<OrderSnapshot> {
    /** The order, once it is known to be this payment's. */
    const adopt = (order: Order): OrderSnapshot => {
      const why = notThisPayments(order, input);
      if (why === undefined) return snapshotOf(order);
      log('warn', { orderId: order.order_id }, 'Plural order under this reference is not this payment');
      throw failure(
        `Plural already has order ${order.order_id} with merchant_order_reference ${input.merchantOrderReference}, and it is not this payment's (${why}); start the payment with a new merchant_order_reference`,
        FAILURE_TYPE.ORDER_REJECTED,
        true,
        ENGINE_FAILURE_CODE.DUPLICATE_REFERENCE,
      );
    };
    if (attempt > 1) {
      const existing = await findByReference(input.merchantOrderReference, signal);
      if (existing) return adopt(existing);
    }
    let order: Order;
    try {
      order = await plural.createOrder(orderBody(input), {
        signal,
        idempotencyKey: `${input.workflowId}:create-order`,
      });
    } catch (err) {
      if (codeOf(err) === PLURAL_ERROR_CODE.DUPLICATE_REQUEST) {
        const existing = await findByReference(input.merchantOrderReference, signal);
        if (existing) return adopt(existing);
      }
      throw classify(err, FAILURE_TYPE.ORDER_REJECTED);
    }
    // Plural may answer a known reference with the order it holds (its guides differ): the same check applies.
    const snapshot = adopt(order);
    log('info', { orderId: order.order_id }, 'Plural order created');
    return snapshot;
  }

  return {
    /**
     * Create the order; a retry (or DUPLICATE_REQUEST) returns the order already created for this reference. With
     * `thenLookupCard`, the card lookup follows as a follow-up call (a retried attempt only adopts the order again).
     */
    createOrder: async (input: CreateOrderInput): Promise<CreateOrderResult> => {
      const { signal, attempt } = call();
      const order = await createOrAdopt(input, signal, attempt);
      const lookup = input.thenLookupCard;
      const card =
        lookup !== undefined
          ? await followUp('card lookup after the order', (s) => lookupCard(lookup, s), signal)
          : undefined;
      return card !== undefined ? { ...order, card } : order;
    },
    /** Create a Plural-hosted checkout order and return its `redirect_url`. */
    createCheckoutLink: async (input: CreateOrderInput): Promise<CheckoutLinkResult> => {
      const { signal, attempt } = call();
      const lost = (): ApplicationFailure =>
        failure(
          `checkout order for reference ${input.merchantOrderReference} exists at Plural but its redirect_url was lost in transit; start the payment again with a new merchant order reference`,
          FAILURE_TYPE.ORDER_REJECTED,
          true,
          'CHECKOUT_LINK_LOST',
        );
      if (attempt > 1 && (await findByReference(input.merchantOrderReference, signal))) throw lost();
      let link: CheckoutLinkResponse;
      try {
        // Plural pre-authorizes card payments only on its hosted checkout (pre-authorization guide): a pre-auth link
        // offers cards alone, so the customer cannot pick a method that would be captured at once.
        const body = input.preAuth
          ? { ...orderBody(input), allowed_payment_methods: [ALLOWED_PAYMENT_METHOD.CARD] }
          : orderBody(input);
        link = await plural.createCheckoutLink(body, {
          signal,
          idempotencyKey: `${input.workflowId}:create-checkout`,
        });
      } catch (err) {
        if (codeOf(err) === PLURAL_ERROR_CODE.DUPLICATE_REQUEST) throw lost();
        throw classify(err, FAILURE_TYPE.ORDER_REJECTED);
      }
      // Plural may answer a reference it knows with that order (its docs disagree): one that is not this payment's (a
      // reference used again after its payment was gone from Temporal) must never stand for it, or its money would
      // read as this payment's. Read as a follow-up (best effort: a link whose order cannot be read now stands).
      const order = await followUp(
        'Get Order after the checkout link',
        (s) => plural.getOrder(link.order_id, { signal: s }),
        signal,
      );
      const why = order !== undefined ? notThisPayments(order, input) : undefined;
      if (why !== undefined) {
        log(
          'warn',
          { orderId: link.order_id },
          'Plural answered the checkout link with an order that is not this payment',
        );
        throw failure(
          `Plural answered the checkout link with order ${link.order_id} under merchant_order_reference ${input.merchantOrderReference}, and it is not this payment's (${why}); start the payment with a new merchant_order_reference`,
          FAILURE_TYPE.ORDER_REJECTED,
          true,
          ENGINE_FAILURE_CODE.DUPLICATE_REFERENCE,
        );
      }
      return { orderId: link.order_id, redirectUrl: link.redirect_url };
    },

    /**
     * Get Order, for reconciliation. With `savedCardOf`, once the card payment is authorized, also the card Plural
     * saved for the customer (`savedCard`): best effort, a failed lookup leaves it out for the next call to find.
     */
    getOrder: (input: GetOrderInput): Promise<OrderSnapshot> => readOrder(input, call().signal),
  };
}
