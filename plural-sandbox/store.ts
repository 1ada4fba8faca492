import type { OrderStatus, PaymentStatus } from './state-machine';

export interface Money {
  value: number;
  currency: string;
}

export interface CaptureRecord {
  merchantCaptureReference: string;
  amount: Money;
  at: number;
}

export interface OtpState {
  generated: boolean;
  attempts: number;
  resends: number;
  lastSentAt: number;
}

export interface PaymentRecord {
  readonly id: string;
  readonly orderId: string;
  readonly merchantPaymentReference: string | undefined; // absent only on refund payments
  readonly method: 'CARD' | 'POINTS';
  status: PaymentStatus;
  readonly amount: Money;
  /** Key of the card's {@link CardProfile}; never the card number. */
  readonly cardKey: string;
  readonly last4: string | undefined;
  readonly expiry: { month: string; year: string } | undefined;
  readonly tokenTxnType: string | undefined;
  readonly saveCard: boolean;
  errorDetail: { code: string; message: string } | undefined;
  captures: CaptureRecord[];
  readonly acquirerReference: string;
  readonly otp: OtpState | undefined;
  readonly createdAt: number;
  updatedAt: number;
}

export interface StatusChange {
  readonly status: OrderStatus;
  readonly at: number;
}

export interface OrderRecord {
  readonly id: string;
  readonly type: 'CHARGE' | 'REFUND';
  readonly merchantOrderReference: string;
  readonly amount: Money;
  readonly preAuth: boolean;
  status: OrderStatus;
  readonly callbackUrl: string | undefined;
  readonly failureCallbackUrl: string | undefined;
  readonly allowedPaymentMethods: readonly string[] | undefined;
  readonly notes: string | undefined;
  readonly purchaseDetails: Record<string, unknown> | undefined;
  readonly customerId: string | undefined;
  readonly parentOrderId: string | undefined;
  payments: PaymentRecord[];
  /** Payments of the attempt in progress (PENDING), if any. */
  currentPaymentIds: string[];
  challengeToken: string | undefined;
  /** When the attempt in progress expires (PENDING only). */
  pendingDeadline: number | undefined;
  /** When a sale reported AUTHORIZED becomes PROCESSED (saleSettlement.throughAuthorized). */
  settleAt: number | undefined;
  /** When the order expires if still CREATED or ATTEMPTED (orderExpirySeconds); undefined: never. */
  expiresAt: number | undefined;
  /** When it expired (its status is then FAILED). */
  expiredAt: number | undefined;
  attempts: number;
  authorizedAmount: number;
  capturedAmount: number;
  reversedAmount: number;
  /** Refunds PROCESSED. */
  refundedAmount: number;
  /** Refunds still PENDING (refundPendingMs): reserved, not yet refunded. */
  refundPendingAmount: number;
  /** Refund orders of this order, oldest first. */
  refundIds: string[];
  captureCount: number;
  captureAttempts: number;
  cancelCount: number;
  authorizedAt: number | undefined;
  capturedAt: number | undefined;
  cancelledAt: number | undefined;
  history: StatusChange[];
  webhookSeq: number;
  readonly createdAt: number;
  updatedAt: number;
}

/** The fields every new order starts with: no payments, no money moved, one history entry. */
export function newOrderRecord(
  fields: Pick<
    OrderRecord,
    | 'id'
    | 'type'
    | 'merchantOrderReference'
    | 'amount'
    | 'preAuth'
    | 'status'
    | 'callbackUrl'
    | 'failureCallbackUrl'
    | 'allowedPaymentMethods'
    | 'notes'
    | 'purchaseDetails'
    | 'customerId'
    | 'parentOrderId'
    | 'payments'
  >,
  now: number,
): OrderRecord {
  return {
    ...fields,
    currentPaymentIds: [],
    challengeToken: undefined,
    pendingDeadline: undefined,
    settleAt: undefined,
    expiresAt: undefined,
    expiredAt: undefined,
    attempts: 0,
    authorizedAmount: 0,
    capturedAmount: 0,
    reversedAmount: 0,
    refundedAmount: 0,
    refundPendingAmount: 0,
    refundIds: [],
    captureCount: 0,
    captureAttempts: 0,
    cancelCount: 0,
    authorizedAt: undefined,
    capturedAt: undefined,
    cancelledAt: undefined,
    history: [{ status: fields.status, at: now }],
    webhookSeq: 0,
    createdAt: now,
    updatedAt: now,
  };
}

export interface SavedToken {
  readonly tokenId: string;
  readonly customerId: string;
  readonly cardKey: string;
  readonly last4: string;
  readonly expiry: { month: string; year: string };
  readonly createdAt: number;
}

export interface CustomerRecord {
  readonly customerId: string;
  readonly fields: Record<string, unknown>;
  readonly createdAt: number;
}

/** All sandbox state; every lookup is a Map hit (no scans on the hot path). */
export class Store {
  readonly orders = new Map<string, OrderRecord>();
  readonly orderByReference = new Map<string, string>();
  readonly refundByReference = new Map<string, string>();
  readonly orderByPayment = new Map<string, string>();
  readonly orderByChallengeToken = new Map<string, string>();
  readonly orderByCheckoutToken = new Map<string, string>();
  readonly customers = new Map<string, CustomerRecord>();
  readonly customerByReference = new Map<string, string>();
  readonly tokens = new Map<string, SavedToken>();
  readonly tokensByCustomer = new Map<string, string[]>();
}
