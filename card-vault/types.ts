/**
 * The hand-off contract for short-lived secrets: the API puts card data (or a customer's OTP) in, the activity that
 * needs it reads it and destroys it.
 */
import { z } from 'zod';

/**
 * Card data for one payment, or the OTP of one submission. Never logged, never in workflow history, never in an
 * error message.
 */
export interface CardSecret {
  number?: string;
  cvv?: string;
  name?: string;
  expiryMonth?: string;
  expiryYear?: string;
  token?: string;
  cryptogram?: string;
  /** A customer's one-time password (native OTP), handed to the submit-OTP activity. */
  otp?: string;
}

/**
 * Short-lived card (and OTP) hand-off. `put` returns an opaque handle to pass in workflow input; `get` returns `undefined` for
 * a handle that is unknown, expired, destroyed, malformed or tampered with (all mean "card data unavailable");
 * `destroy` is idempotent.
 */
export interface CardVault {
  put(secret: CardSecret, ttlMs: number): Promise<string>;
  get(handle: string): Promise<CardSecret | undefined>;
  destroy(handle: string): Promise<void>;
}

/**
 * Shape check of a secret going in or coming out. Character classes and lengths only: the API validates the card
 * itself (Luhn, expiry in the future) at its edge. Messages name the field, never the value.
 */
export const CardSecretSchema = z
  .strictObject(
    {
      number: z
        .string()
        .regex(/^\d{12,19}$/, { error: 'number must be 12-19 digits' })
        .optional(),
      cvv: z
        .string()
        .regex(/^\d{3,4}$/, { error: 'cvv must be 3-4 digits' })
        .optional(),
      name: z.string().max(100, { error: 'name must be at most 100 characters' }).optional(),
      expiryMonth: z
        .string()
        .regex(/^\d{1,2}$/, { error: 'expiryMonth must be 1-2 digits' })
        .optional(),
      expiryYear: z
        .string()
        .regex(/^\d{2,4}$/, { error: 'expiryYear must be 2-4 digits' })
        .optional(),
      token: z.string().min(1).max(512, { error: 'token must be 1-512 characters' }).optional(),
      cryptogram: z.string().min(1).max(512, { error: 'cryptogram must be 1-512 characters' }).optional(),
      otp: z
        .string()
        .regex(/^\d{4,8}$/, { error: 'otp must be 4-8 digits' })
        .optional(),
    },
    {
      error:
        'a card secret must be an object with only number, cvv, name, expiryMonth, expiryYear, token, cryptogram, otp',
    },
  )
  .refine((s) => Object.values(s).some((v) => v !== undefined), {
    error: 'a card secret must hold at least one field',
  });
