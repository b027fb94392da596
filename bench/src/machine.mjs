// What the figures were measured on and with: the machine and the exact versions installed.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";

const benchDir = fileURLToPath(new URL("..", import.meta.url));

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: "utf8" }).trim();
  } catch {
    return undefined;
  }
}

/** Cores, memory, CPU model, OS and Node version. */
export function machine() {
  const mem = sh("free", ["-h"])?.split("\n")[1]?.split(/\s+/)[1];
  return {
    cores: Number(sh("nproc", [])) || os.availableParallelism(),
    memory: mem ?? `${(os.totalmem() / 2 ** 30).toFixed(1)}Gi`,
    cpu: os.cpus()[0]?.model ?? "unknown",
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

/** Installed version of a dependency of this package (read from its package.json, not the range). */
export function installedVersion(name) {
  try {
    return JSON.parse(readFileSync(`${benchDir}/node_modules/${name}/package.json`, "utf8")).version;
  } catch {
    return "not installed";
  }
}

export const VERSIONED = [
  "@sluice/runtime-core",
  "@langchain/langgraph",
  "@langchain/core",
  "xstate",
  "@mastra/core",
  "zod",
  "fake-indexeddb",
];
