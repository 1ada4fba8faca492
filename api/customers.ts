/**
 * The API's port to the gateway's customer vault: create a customer, list the cards saved for one. The HTTP layer
 * talks only to this interface; `plural-customers.ts` implements it over the Plural client, tests in memory.
 * Nothing here carries card data: a saved card is its token id, status, last 4 digits and expiry.
 */
import type { CustomerDetails } from '../workflows/definitions';

/** A customer to create at the gateway: the details a payment's customer has, under the merchant's own reference. */
export interface NewCustomer extends Omit<CustomerDetails, 'customerId'> {
  /** The merchant's own id for the customer: one gateway customer per reference. */
  merchantCustomerReference: string;
  merchantMetadata?: Record<string, string>;
}

/** A customer as the gateway created it (no personal data echoed back). */
export interface CustomerRecord {
  /** The gateway's customer id: pass it as `customer.customer_id` to save a card or pay with a saved one. */
  customerId: string;
  merchantCustomerReference: string;
  /** The gateway's status (Plural: INACTIVE until the customer's first payment, then ACTIVE). */
  status: string | undefined;
  createdAt: string | undefined;
}

/** A card saved for a customer: what pays with it (`tokenId`) and what a receipt shows. */
export interface SavedCardRecord {
  tokenId: string;
  /** INITIATED, ACTIVE (can pay), SUSPENDED, FAILED or DEACTIVATED. */
  status: string | undefined;
  last4: string | undefined;
  expiryMonth: string | undefined;
  expiryYear: string | undefined;
  network: string | undefined;
  /** When the token itself expires. */
  expiresAt: string | undefined;
  createdAt: string | undefined;
}

/** Options of one call. */
export interface CustomerCallOptions {
  signal?: AbortSignal;
}

/** What the API needs from the gateway's customer vault. Every method is safe to call concurrently. */
export interface CustomerDirectory {
  /**
   * @throws {CustomerExistsError} the reference is taken
   * @throws {GatewayRejectedError} the gateway refused the customer
   * @throws {GatewayUnavailableError} the gateway could not be reached or failed
   */
  create(customer: NewCustomer, options?: CustomerCallOptions): Promise<CustomerRecord>;
  /**
   * @throws {CustomerNotFoundError}
   * @throws {GatewayUnavailableError}
   */
  savedCards(customerId: string, options?: CustomerCallOptions): Promise<SavedCardRecord[]>;
}

/** A customer with this merchant customer reference exists at the gateway. */
export class CustomerExistsError extends Error {
  override readonly name = 'CustomerExistsError';
  readonly type = 'CustomerExists';
  constructor(readonly merchantCustomerReference: string) {
    super(`a customer with merchant_customer_reference ${merchantCustomerReference} already exists at the gateway`);
  }
}

/** The gateway knows no customer with this id. */
export class CustomerNotFoundError extends Error {
  override readonly name = 'CustomerNotFoundError';
  readonly type = 'CustomerNotFound';
  constructor(readonly customerId: string) {
    super(`the gateway has no customer ${customerId}`);
  }
}

/** The gateway refused the request; `code` is its error code (never its message, which may echo what was sent). */
export class GatewayRejectedError extends Error {
  override readonly name = 'GatewayRejectedError';
  readonly type = 'GatewayRejected';
  constructor(
    readonly operation: string,
    readonly code: string | undefined,
    readonly statusCode: number | undefined,
  ) {
    super(`the gateway refused the ${operation} (${code ?? `HTTP ${statusCode ?? '?'}`})`);
  }
}

/** The gateway could not be reached, timed out, rate limited or failed; retry later. */
export class GatewayUnavailableError extends Error {
  override readonly name = 'GatewayUnavailableError';
  readonly type = 'GatewayUnavailable';
  constructor(
    readonly operation: string,
    /** What went wrong, as `HTTP 503 INTERNAL_ERROR` or a network error code: never a message from the gateway. */
    readonly reason: string,
  ) {
    super(`the gateway is unavailable for the ${operation}: ${reason}; retry later`);
  }
}
