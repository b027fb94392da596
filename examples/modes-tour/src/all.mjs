// Every tour, one after another: `pnpm start` (or `node src/all.mjs`).
await import("./transient.mjs");
await import("./serialized.mjs");
await import("./per-customer.mjs");
await import("./priority.mjs");
await import("./resumes.mjs");
await import("./singleton-loop.mjs");
await import("./exclusive.mjs");
