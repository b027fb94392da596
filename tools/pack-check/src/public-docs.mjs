// Finds the public symbols of the published declaration files that carry no doc comment: every
// export of every export path, and the members of exported classes and interfaces (private and
// `#` members, type parameters and `@internal` ones left out). What a user's editor shows on hover
// is what the .d.ts files say, so this reads them, as installed, not the sources.
//   node src/public-docs.mjs <consumer-dir>   (its entries.ts imports every export path)
import { join } from "node:path";
import ts from "typescript";

/**
 * The undocumented public symbols reachable from `entryFile`'s imports, as `specifier: Name` and
 * `specifier: Name.member`, each once (a symbol re-exported by several paths is named by the first).
 */
export function undocumentedSymbols(entryFile, compilerOptions) {
  const program = ts.createProgram([entryFile], { strict: true, skipLibCheck: true, ...compilerOptions });
  const checker = program.getTypeChecker();
  const seen = new Set();
  const missing = [];
  const hasDoc = (symbol) => ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() !== "";
  const isInternal = (declaration) =>
    ts.getJSDocTags(declaration).some((tag) => tag.tagName.text === "internal");
  for (const statement of program.getSourceFile(entryFile).statements) {
    if (!ts.isImportDeclaration(statement)) continue;
    const specifier = statement.moduleSpecifier.text;
    const module = checker.getSymbolAtLocation(statement.moduleSpecifier);
    if (module === undefined) {
      missing.push(`${specifier}: its declarations could not be read`);
      continue;
    }
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (seen.has(symbol)) continue;
      seen.add(symbol);
      if (!hasDoc(symbol)) missing.push(`${specifier}: ${exported.name}`);
      if (!(symbol.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface))) continue;
      const members = [...(symbol.members?.values() ?? [])];
      // a class's statics (`WorkflowRuntime.createTestTimelineStore`), not its prototype
      if (symbol.flags & ts.SymbolFlags.Class) {
        members.push(...[...(symbol.exports?.values() ?? [])].filter((m) => m.name !== "prototype"));
      }
      for (const member of members) {
        const name = member.name;
        if (name.startsWith("__") || name.startsWith("#") || member.flags & ts.SymbolFlags.TypeParameter)
          continue;
        const declaration = member.declarations?.[0];
        if (declaration === undefined || isInternal(declaration)) continue;
        if (
          ts.getCombinedModifierFlags(declaration) &
          (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)
        ) {
          continue;
        }
        if (!hasDoc(member)) missing.push(`${specifier}: ${exported.name}.${name}`);
      }
    }
  }
  return missing;
}

if (process.argv[1] === import.meta.filename) {
  const consumer = process.argv[2];
  const missing = undocumentedSymbols(join(consumer, "entries.ts"), {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
  });
  if (missing.length > 0) {
    console.error(`${missing.length} public symbol(s) without a doc comment in the published types:`);
    console.error(missing.map((m) => `  ${m}`).join("\n"));
    process.exitCode = 1;
  }
}
