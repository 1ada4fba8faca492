/**
 * {@link CustomerDirectory} over the Plural client: Create Customer and Get Customer Tokens, with Plural's failures
 * mapped to the port's errors by `type`, `code` and `statusCode` (never by message, which may echo the request).
 */
import { isPluralError, PLURAL_ERROR_CODE, PLURAL_ERROR_TYPE } from '../plural-client';
import type { CustomerToken, PluralClient, PluralError } from '../plural-client';
import { CustomerExistsError, CustomerNotFoundError, GatewayRejectedError, GatewayUnavailableError } from './customers';
import type { CustomerDirectory, CustomerRecord, NewCustomer, SavedCardRecord } from './customers';

/** Options of {@link createPluralCustomerDirectory}. */
export interface PluralCustomerDirectoryOptions {
  plural: PluralClient;
  /** Deadline of each Plural call, ms (the API answers the merchant while it waits). @default 10000 */
  timeoutMs?: number;
}

/** Plural error codes are upper-case words; anything else is not repeated. */
const SAFE_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** `HTTP 503 INTERNAL_ERROR`, `PluralTimeoutError`, `ECONNREFUSED`: what failed, without the gateway's words. */
export function failureSummary(err: PluralError): string {
  const code = err.code !== undefined && SAFE_CODE.test(err.code) ? err.code : undefined;
  if (err.statusCode !== undefined) return code ? `HTTP ${err.statusCode} ${code}` : `HTTP ${err.statusCode}`;
  return code ? `${err.type} ${code}` : err.type;
}

function mapError(err: unknown, operation: string, onClientError: (e: PluralError) => Error | undefined): Error {
  if (!isPluralError(err)) return err instanceof Error ? err : new Error(`unexpected failure of the ${operation}`);
  if (err.type === PLURAL_ERROR_TYPE.ABORTED) return err;
  if (err.type === PLURAL_ERROR_TYPE.API && !err.retryable) {
    const mapped = onClientError(err);
    if (mapped) return mapped;
    const code = err.code !== undefined && SAFE_CODE.test(err.code) ? err.code : undefined;
    return new GatewayRejectedError(operation, code, err.statusCode);
  }
  // Retryable failures, a rejected access token (our credentials) and answers we cannot read: nothing the
  // merchant can change by editing the request.
  return new GatewayUnavailableError(operation, failureSummary(err));
}

function savedCardOf(t: CustomerToken): SavedCardRecord {
  const card = t.card_data ?? undefined;
  return {
    tokenId: t.token_id,
    status: t.status ?? undefined,
    last4: card?.last4_digit ?? undefined,
    expiryMonth: card?.expiry_month ?? undefined,
    expiryYear: card?.expiry_year ?? undefined,
    network: card?.network_name ?? undefined,
    expiresAt: t.expired_at ?? undefined,
    createdAt: t.created_at ?? undefined,
  };
}

export function createPluralCustomerDirectory(options: PluralCustomerDirectoryOptions): CustomerDirectory {
  const { plural } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    async create(c: NewCustomer, callOptions = {}): Promise<CustomerRecord> {
      const operation = 'customer creation';
      try {
        const created = await plural.createCustomer(
          {
            merchant_customer_reference: c.merchantCustomerReference,
            first_name: c.firstName,
            last_name: c.lastName,
            email_id: c.email,
            mobile_number: c.mobileNumber,
            country_code: c.countryCode,
            billing_address: c.billingAddress && { ...c.billingAddress },
            shipping_address: c.shippingAddress && { ...c.shippingAddress },
            merchant_metadata: c.merchantMetadata,
          },
          { timeoutMs, idempotencyKey: `customer:${c.merchantCustomerReference}`, signal: callOptions.signal },
        );
        return {
          customerId: created.customer_id,
          merchantCustomerReference: created.merchant_customer_reference || c.merchantCustomerReference,
          status: created.status ?? undefined,
          createdAt: created.created_at ?? undefined,
        };
      } catch (err) {
        throw mapError(err, operation, (e) =>
          e.code === PLURAL_ERROR_CODE.DUPLICATE_REQUEST || e.statusCode === 409
            ? new CustomerExistsError(c.merchantCustomerReference)
            : undefined,
        );
      }
    },

    async savedCards(customerId: string, callOptions = {}): Promise<SavedCardRecord[]> {
      const operation = 'saved cards lookup';
      try {
        const res = await plural.listCustomerTokens(customerId, { timeoutMs, signal: callOptions.signal });
        return res.tokens.map(savedCardOf);
      } catch (err) {
        throw mapError(err, operation, (e) =>
          e.statusCode === 404 ? new CustomerNotFoundError(customerId) : undefined,
        );
      }
    },
  };
}
