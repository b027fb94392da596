#!/usr/bin/env node
// Runs `changeset version` on a scratch copy of the workspace's manifests and changesets, prints
// the releases and changelogs it would write, and fails if any changeset is malformed or names an
// unknown package. The repository itself is never modified.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const root = join(import.meta.dirname, "..");
const scratch = mkdtempSync(join(tmpdir(), "sluice-changesets-"));
const workspaceDirs = ["packages", "examples", "tools"].flatMap((group) =>
  existsSync(join(root, group)) ? readdirSync(join(root, group)).map((d) => join(group, d)) : [],
);
if (existsSync(join(root, "bench", "package.json"))) workspaceDirs.push("bench");

try {
  for (const file of ["package.json", "pnpm-workspace.yaml"]) cpSync(join(root, file), join(scratch, file));
  cpSync(join(root, ".changeset"), join(scratch, ".changeset"), { recursive: true });
  for (const dir of workspaceDirs) {
    const manifest = join(root, dir, "package.json");
    if (!existsSync(manifest)) continue;
    cpSync(manifest, join(scratch, dir, "package.json"), { recursive: true });
    const changelog = join(root, dir, "CHANGELOG.md");
    if (existsSync(changelog)) cpSync(changelog, join(scratch, dir, "CHANGELOG.md"));
  }
  // The changelog generator is resolved from the scratch directory.
  symlinkSync(join(root, "node_modules"), join(scratch, "node_modules"), "dir");
  const cli = join(root, "node_modules", "@changesets", "cli", "bin.js");
  execFileSync(process.execPath, [cli, "version"], { cwd: scratch, stdio: ["ignore", "inherit", "inherit"] });

  const pending = readdirSync(join(scratch, ".changeset")).filter(
    (f) => f.endsWith(".md") && f !== "README.md",
  );
  if (pending.length > 0) throw new Error(`changesets left unconsumed: ${pending.join(", ")}`);
  console.log("\nchangeset version (dry run) would release:");
  for (const dir of workspaceDirs) {
    const manifestPath = join(scratch, dir, "package.json");
    if (!existsSync(manifestPath)) continue;
    const after = JSON.parse(readFileSync(manifestPath, "utf8"));
    const before = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
    if (after.version !== before.version) {
      console.log(`  ${after.name.padEnd(34)} ${before.version} → ${after.version}`);
    }
  }
  const sample = join(scratch, "packages", "runtime-core", "CHANGELOG.md");
  if (existsSync(sample)) {
    console.log(`\n--- ${dirname(sample).split("/").slice(-2).join("/")}/CHANGELOG.md ---`);
    console.log(readFileSync(sample, "utf8").split("\n").slice(0, 12).join("\n"));
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
