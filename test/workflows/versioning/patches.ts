/** The example's patch ids, in one place as `workflows/patches.ts` keeps the payment's. */
export const EXAMPLE_PATCH = {
  /** v2 checks for fraud between the charge and the receipt. */
  EXTRA_STEP: 'example-extra-step',
} as const;
