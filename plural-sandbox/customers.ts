import { ERROR_CODES, PluralError } from './errors';
import type { CreateCustomerInput } from './schemas';
import type { Dice } from './random';
import type { CustomerRecord, OrderRecord, PaymentRecord, SavedToken, Store } from './store';

/** Customers and their saved card tokens. */
export class Customers {
  constructor(
    private readonly store: Store,
    private readonly dice: Dice,
    private readonly now: () => number,
  ) {}

  create(input: CreateCustomerInput): CustomerRecord {
    const ref = input.merchant_customer_reference;
    if (ref) {
      const existing = this.store.customerByReference.get(ref);
      if (existing !== undefined) {
        throw new PluralError(
          422,
          ERROR_CODES.DUPLICATE_REQUEST,
          `customer with merchant_customer_reference ${ref} exists: ${existing}`,
        );
      }
    }
    const key = ref || `${input.mobile_number ?? ''}|${input.email_id ?? ''}|${this.store.customers.size}`;
    const base = `cust-v1-${this.dice.digits('cust', key, 10)}-aa-${this.dice.alnum('cust', key, 6)}`;
    let customerId = base;
    for (let i = 1; this.store.customers.has(customerId); i++) customerId = `${base}${i}`;
    const record: CustomerRecord = { customerId, fields: { ...input }, createdAt: this.now() };
    this.store.customers.set(customerId, record);
    if (ref) this.store.customerByReference.set(ref, customerId);
    return record;
  }

  get(customerId: string): CustomerRecord {
    const c = this.store.customers.get(customerId);
    if (!c) throw new PluralError(404, ERROR_CODES.CUSTOMER_NOT_FOUND, `customer ${customerId} not found`);
    return c;
  }

  tokens(customerId: string): SavedToken[] {
    const ids = this.store.tokensByCustomer.get(customerId);
    if (!ids && !this.store.customers.has(customerId)) {
      throw new PluralError(404, ERROR_CODES.CUSTOMER_NOT_FOUND, `customer ${customerId} not found`);
    }
    return (ids ?? []).map((id) => this.store.tokens.get(id)).filter((t): t is SavedToken => t !== undefined);
  }

  /** Saves the card of a successful `save: true` payment for the order's customer. */
  saveToken(order: OrderRecord, card: PaymentRecord): void {
    if (order.customerId === undefined || card.last4 === undefined || card.expiry === undefined) return;
    const tokenId = `token-v1-${this.dice.digits('token', card.id, 10)}-bb-${this.dice.alnum('token', card.id, 6)}`;
    const token: SavedToken = {
      tokenId,
      customerId: order.customerId,
      cardKey: card.cardKey,
      last4: card.last4,
      expiry: card.expiry,
      createdAt: this.now(),
    };
    this.store.tokens.set(tokenId, token);
    const list = this.store.tokensByCustomer.get(order.customerId) ?? [];
    list.push(tokenId);
    this.store.tokensByCustomer.set(order.customerId, list);
  }
}
