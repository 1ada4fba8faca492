/** The payment worker: build one in-process (tests, dev stack) or run `worker/main.ts`. */
export { createPaymentWorker, defaultWorkflowsPath, workflowInterceptorModules } from './worker';
export type { PaymentWorkerDeps } from './worker';
export { configuredWorkerOptions } from './configured';
export type { ConfiguredWorkerOptions } from './configured';
export { installRuntime } from './runtime';
export type { InstallRuntimeOptions } from './runtime';
export { createConfiguredVault } from './vault';
export type { ConfiguredVault } from './vault';
export { ensureSearchAttributes } from './search-attributes';
export type { SearchAttributesResult } from './search-attributes';
export { buildWorkflowBundle, bundleWorkflows } from './build-bundle';
export { createMerchantPluralClients } from './plural-clients';
export type { MerchantPluralClientSet } from './plural-clients';
