/**
 * Card (and OTP) hand-off outside workflow history: the API puts card data in a vault and starts the workflow with a
 * handle (an OTP: signals the handle); the create-payment (submit-OTP) activity reads it and destroys it once the
 * outcome is definitive. See README.md for the design.
 */
export type { CardSecret, CardVault } from './types';
export { CardSecretSchema } from './types';
export { CARD_VAULT_ERROR_CODE, CardVaultError, isCardVaultError } from './errors';
export type { CardVaultErrorCode } from './errors';
export { InMemoryCardVault } from './in-memory';
export type { InMemoryCardVaultOptions, InMemoryEntry } from './in-memory';
export { HttpCardVault, parseSplitHandle } from './http-client';
export type { HttpCardVaultOptions } from './http-client';
export { createCardVaultRouter, MAX_SEALED_BYTES } from './router';
export { LocalSplitCardVault } from './local-split';
export type { CardVaultRouter, CardVaultRouterOptions } from './router';
export { listenCardVault } from './server';
export type { CardVaultServer } from './server';
export { TtlStore } from './ttl-store';
export type { SetResult, TtlStoreOptions } from './ttl-store';
export { DEFAULT_MAX_TTL_MS } from './validate';
