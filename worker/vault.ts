/** The card vault a worker uses, chosen by configuration. */
import { HttpCardVault, InMemoryCardVault } from '../card-vault';
import type { CardVault } from '../card-vault';
import type { CardVaultConfig } from '../config';

/** A vault plus how to release it. */
export interface ConfiguredVault {
  vault: CardVault;
  close(): Promise<void>;
}

/**
 * `http`: the API's vault server (API and worker in separate processes). `memory`: an in-process vault, which only
 * works when the API runs in this same process (the dev stack) — otherwise the worker would never see the cards.
 */
export function createConfiguredVault(config: CardVaultConfig): ConfiguredVault {
  if (config.kind === 'http') {
    const vault = new HttpCardVault({ url: config.url, token: config.token });
    return { vault, close: () => vault.close() };
  }
  const vault = new InMemoryCardVault();
  return {
    vault,
    close: () => {
      vault.close();
      return Promise.resolve();
    },
  };
}
