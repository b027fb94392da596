export { isPlainObject } from "@sluice/errors";
export { safeAssign } from "./safe-assign.js";
export { createStateStore, type StateStore, type StateStoreOptions } from "./state-store.js";
export { type StoreCreateOptions, StoreRegistry } from "./store-registry.js";
