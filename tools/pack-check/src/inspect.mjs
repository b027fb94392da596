// Checks one unpacked tarball (the `package/` directory `npm pack`/`pnpm pack` produce) without
// installing it: what its manifest points to is in it, nothing is left of the workspace protocol,
// only dist/ and the docs ship, source maps carry their sources, and every package its shipped
// JavaScript and declaration files import is one it declares (dependencies, peerDependencies or
// optionalDependencies; a devDependency is not installed for a user).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, posix, relative } from "node:path";
import { build } from "esbuild";
import semver from "semver";
import ts from "typescript";

const JS = /\.(?:js|cjs|mjs)$/;
const DTS = /\.d\.(?:ts|cts|mts)$/;
const DEP_FIELDS = ["dependencies", "peerDependencies", "optionalDependencies"];
// The files a tarball may hold besides dist/: the manifest and what npm shows or always packs.
const DOC_FILE = /^(?:package\.json|README(?:\.md)?|LICEN[CS]E(?:\.md|\.txt)?|CHANGELOG\.md)$/i;

/** Every file under `dir`, as posix paths relative to it, sorted. */
export function listFiles(dir) {
  const out = [];
  const walk = (sub) => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const path = sub === "" ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else out.push(path);
    }
  };
  walk("");
  return out.sort();
}

/** `@scope/name` or `name` of a bare specifier (`@scope/name/sub`, `name/sub`). */
export function packageOf(specifier) {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

const isBuiltin = (specifier) =>
  specifier.startsWith("node:") || builtinModules.includes(packageOf(specifier));
const isBare = (specifier) => !specifier.startsWith(".") && !specifier.startsWith("/");

/**
 * The files the manifest points to, as `[where, target]`: every leaf of `exports` (by its path of
 * subpath and conditions), `main`, `module`, `types`/`typings`, the `typesVersions` targets and `bin`.
 */
export function entryTargets(manifest) {
  const out = [];
  const walk = (value, where) => {
    if (typeof value === "string") out.push([where, value]);
    else if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) walk(v, `${where}[${i}]`);
    } else if (value !== null && typeof value === "object") {
      for (const [key, v] of Object.entries(value)) walk(v, `${where}[${JSON.stringify(key)}]`);
    }
  };
  if (manifest.exports !== undefined) {
    const sugar =
      typeof manifest.exports === "string" || Object.keys(manifest.exports).every((k) => !k.startsWith("."));
    walk(sugar ? { ".": manifest.exports } : manifest.exports, "exports");
  }
  for (const field of ["main", "module", "types", "typings"]) {
    if (typeof manifest[field] === "string") out.push([field, manifest[field]]);
  }
  for (const [range, map] of Object.entries(manifest.typesVersions ?? {})) {
    for (const [from, to] of Object.entries(map))
      walk(to, `typesVersions[${JSON.stringify(range)}][${JSON.stringify(from)}]`);
  }
  if (typeof manifest.bin === "string") out.push(["bin", manifest.bin]);
  else walk(manifest.bin, "bin");
  return out;
}

/** The files a target names: itself, or every file a `*` pattern matches. */
function filesOf(target, files) {
  const path = posix.normalize(target).replace(/^\.\//, "");
  if (!path.includes("*")) return files.includes(path) ? [path] : [];
  const [head, tail] = path.split("*");
  return files.filter((f) => f.startsWith(head) && f.endsWith(tail));
}

/** Problems with the `exports` conditions' order: `types` first (TypeScript), `default` last (Node). */
function conditionOrder(exportsField) {
  const problems = [];
  const walk = (value, where) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return;
    const keys = Object.keys(value);
    if (keys.includes("types") && keys[0] !== "types") {
      problems.push(
        `${where}: "types" must be the first condition (TypeScript takes the first that matches)`,
      );
    }
    if (keys.includes("default") && keys.at(-1) !== "default") {
      problems.push(`${where}: "default" must be the last condition (Node never reads past it)`);
    }
    for (const key of keys) walk(value[key], `${where}[${JSON.stringify(key)}]`);
  };
  walk(exportsField, "exports");
  return problems;
}

/** The bare specifiers the JavaScript files import, with the kind of import and the importing file. */
async function jsImports(dir, entries) {
  const found = [];
  const problems = [];
  if (entries.length === 0) return { found, problems };
  let result;
  try {
    result = await build({
      absWorkingDir: dir,
      // One output name each: index.js and index.cjs would both write out/index.js.
      entryPoints: entries.map((file, i) => ({ in: file, out: `entry-${i}` })),
      bundle: true,
      write: false,
      metafile: true,
      outdir: "out",
      platform: "node",
      format: "esm",
      // Every bare import stays an import, so it appears in the metafile as written.
      packages: "external",
      logLevel: "silent",
    });
  } catch (e) {
    for (const error of e.errors ?? [{ text: e.message }]) {
      const at = error.location ? `${error.location.file}:${error.location.line}: ` : "";
      problems.push(`${at}${error.text}`);
    }
    return { found, problems };
  }
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    for (const imported of input.imports) {
      if (imported.external && isBare(imported.path))
        found.push({ file, specifier: imported.path, kind: imported.kind });
    }
  }
  return { found, problems };
}

/** The declaration file a relative import in a declaration file resolves to, if any. */
function declarationOf(fromFile, specifier, files) {
  const base = posix.join(posix.dirname(fromFile), specifier);
  const stem = base.replace(/\.(?:js|cjs|mjs|ts|cts|mts)$/, "");
  const ext = base.endsWith(".cjs") ? ".d.cts" : base.endsWith(".mjs") ? ".d.mts" : ".d.ts";
  const candidates = [`${stem}${ext}`, `${stem}.d.ts`, `${base}/index.d.ts`, base];
  return candidates.find((c) => files.includes(c));
}

/** The bare specifiers the declaration files import or reference, and relative imports that miss. */
function dtsImports(dir, dtsFiles, files) {
  const found = [];
  const problems = [];
  for (const file of dtsFiles) {
    const info = ts.preProcessFile(readFileSync(join(dir, file), "utf8"), true, true);
    for (const { fileName } of info.importedFiles) {
      if (isBare(fileName)) found.push({ file, specifier: fileName, kind: "type import" });
      else if (declarationOf(file, fileName, files) === undefined) {
        problems.push(`${file} imports "${fileName}", which resolves to no declaration file in the tarball`);
      }
    }
    for (const { fileName } of info.typeReferenceDirectives) {
      found.push({ file, specifier: fileName, kind: "types reference", typesReference: true });
    }
  }
  return { found, problems };
}

/** Where a dependency is declared, or undefined. */
function declaredIn(manifest, name) {
  return DEP_FIELDS.find((field) => manifest[field]?.[name] !== undefined);
}

/** `@types/` name of a package: `@types/node`, `@types/scope__name`. */
const typesPackage = (name) => `@types/${name.startsWith("@") ? name.slice(1).replace("/", "__") : name}`;

/**
 * Checks an unpacked tarball. `dir` holds its files (package.json at the top); `workspace` maps
 * each workspace package's name to its version, to check the ranges the tarball gives them.
 * Resolves to `{ problems, entries }`: the problems as sentences naming the file or field, and the
 * bare imports reachable from each entry file (for the install checks).
 */
export async function inspectPackage(dir, workspace = new Map()) {
  const problems = [];
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const files = listFiles(dir);

  // The manifest as published: every workspace: / link: / file: range rewritten to a version.
  for (const field of [...DEP_FIELDS, "devDependencies"]) {
    for (const [name, range] of Object.entries(manifest[field] ?? {})) {
      if (/^(?:workspace|link|file|portal):/.test(range)) {
        problems.push(`package.json ${field}["${name}"] is "${range}": a protocol a registry cannot resolve`);
      } else if (field !== "devDependencies" && workspace.has(name)) {
        const version = workspace.get(name);
        if (semver.validRange(range) === null || !semver.satisfies(version, range)) {
          problems.push(
            `package.json ${field}["${name}"] is "${range}", which the workspace's ${name}@${version} does not satisfy`,
          );
        }
      }
    }
  }
  if (manifest.sideEffects === undefined) {
    problems.push(
      'package.json has no "sideEffects" (every package says false, or lists the files that have some)',
    );
  }
  if (!files.some((f) => /^README(?:\.md)?$/i.test(f))) problems.push("the tarball has no README.md");
  if (!files.some((f) => /^LICEN[CS]E(?:\.md|\.txt)?$/i.test(f))) {
    problems.push("the tarball has no LICENSE (copy the repository's into the package)");
  }
  if (typeof manifest.engines?.node !== "string") {
    problems.push('package.json has no "engines.node" (the Node versions the package runs on: ">=20.19")');
  }

  // What the manifest points to is in the tarball.
  for (const [where, target] of entryTargets(manifest)) {
    if (filesOf(target, files).length === 0) problems.push(`${where} → ${target} is not in the tarball`);
  }
  if (manifest.exports !== undefined && typeof manifest.exports === "object") {
    problems.push(...conditionOrder(manifest.exports));
    for (const [subpath, value] of Object.entries(manifest.exports)) {
      if (!subpath.startsWith(".") || subpath.endsWith(".json")) continue;
      if (!JSON.stringify(value).includes('"types"')) {
        problems.push(`exports["${subpath}"] has no "types" condition: TypeScript users get no types for it`);
      }
    }
  }

  // Only dist/ and the docs: no sources, tests or local files.
  for (const file of files) {
    if (!file.startsWith("dist/") && !DOC_FILE.test(file)) {
      problems.push(`the tarball ships ${file}, outside dist/ (check "files" in package.json)`);
    }
  }

  // Source maps: src/ is not published, so a map must carry its sources' text.
  for (const file of files.filter((f) => f.endsWith(".map"))) {
    let map;
    try {
      map = JSON.parse(readFileSync(join(dir, file), "utf8"));
    } catch {
      problems.push(`${file} is not JSON`);
      continue;
    }
    const missing = (map.sources ?? []).filter((_, i) => typeof map.sourcesContent?.[i] !== "string");
    if (missing.length > 0) {
      problems.push(
        `${file} lacks the text of ${missing.join(", ")} (sourcesContent), which the tarball does not ship`,
      );
    }
  }
  for (const file of files.filter((f) => JS.test(f))) {
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(dir, file), "utf8"))?.[1];
    if (url && !url.startsWith("data:") && !files.includes(posix.join(posix.dirname(file), url))) {
      problems.push(`${file} points to the source map ${url}, which is not in the tarball`);
    }
  }

  // Imports: from every JavaScript file an entry reaches, and every declaration file shipped.
  const entryFiles = [
    ...new Set(
      entryTargets(manifest)
        .flatMap(([, target]) => filesOf(target, files))
        .filter((f) => JS.test(f) && !DTS.test(f)),
    ),
  ];
  const js = await jsImports(dir, entryFiles);
  problems.push(...js.problems);
  const dts = dtsImports(
    dir,
    files.filter((f) => DTS.test(f)),
    files,
  );
  problems.push(...dts.problems);
  for (const { file, specifier, kind, typesReference } of [...js.found, ...dts.found]) {
    const name = packageOf(specifier);
    if (name === manifest.name || (!typesReference && isBuiltin(specifier))) continue;
    // Types may come from the package itself or from its @types/ package.
    const candidates = kind === "type import" || typesReference ? [name, typesPackage(name)] : [name];
    if (candidates.some((n) => declaredIn(manifest, n) !== undefined)) continue;
    const dev = candidates.some((n) => manifest.devDependencies?.[n] !== undefined)
      ? " (only in devDependencies, which users do not get)"
      : "";
    const what = typesReference ? `references the types "${specifier}"` : `imports "${specifier}" (${kind})`;
    problems.push(
      `${file} ${what}, but ${candidates.join(" / ")} is not in dependencies or peerDependencies${dev}`,
    );
  }

  // Per entry file, the packages it needs at load time (static imports; not dynamic ones).
  const entries = new Map();
  for (const entry of entryFiles) {
    const reach = await jsImports(dir, [entry]);
    entries.set(
      entry,
      [
        ...new Set(
          reach.found
            .filter((i) => i.kind !== "dynamic-import" && !isBuiltin(i.specifier))
            .map((i) => packageOf(i.specifier)),
        ),
      ].sort(),
    );
  }
  return { manifest, problems, entries };
}

/** The workspace's package directories (`packages/*`, `tools/*`, `examples/*`, `bench`) under `root`. */
export function workspacePackages(root) {
  const dirs = [];
  for (const group of ["packages", "tools", "examples"]) {
    const at = join(root, group);
    if (!existsSync(at)) continue;
    for (const name of readdirSync(at).sort()) {
      if (existsSync(join(at, name, "package.json"))) dirs.push(join(at, name));
    }
  }
  if (existsSync(join(root, "bench", "package.json"))) dirs.push(join(root, "bench"));
  return dirs.map((dir) => ({
    dir,
    rel: relative(root, dir),
    manifest: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")),
  }));
}

/** True if `path` is a directory. */
export const isDirectory = (path) => existsSync(path) && statSync(path).isDirectory();

/** The directory of the package `name` as resolved from `fromDir`. */
export function packageDir(name, fromDir) {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
