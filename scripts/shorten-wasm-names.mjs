// Gives the wasm's imports, exports and import module the one- or two-letter
// names binaryen's `--minify-imports-and-exports-and-modules` chose, in the
// wasm-bindgen glue that refers to them. wasm-bindgen names every import
// `__wbg_<name>_<hash>`; shortening them saves a few KB of gzip in both files.
//   node scripts/shorten-wasm-names.mjs NAMES.json GLUE.js   (rewrites GLUE.js)
import { readFileSync, writeFileSync } from "node:fs";

const [namesFile, glueFile] = process.argv.slice(2);
const names = JSON.parse(readFileSync(namesFile, "utf8"));
let glue = readFileSync(glueFile, "utf8");

// The pass puts every import into one module named "a".
const SHORT_MODULE = "a";

function rename(pattern, to, what) {
  let hits = 0;
  glue = glue.replace(pattern, (...m) => {
    hits += 1;
    return to(...m);
  });
  if (hits === 0) throw new Error(`shorten-wasm-names: ${what} not found in ${glueFile}`);
}

// A JS snippet (`#[wasm_bindgen(module = "/js/...")]`) is an import module of
// its own, given whole in the imports object (`"./snippets/...": importN,`).
// All modules are "a" now, so its functions join the main module's object,
// under their short names.
const snippets = new Map(); // module -> the glue's namespace variable for it
glue = glue.replace(/^\s*"(\.\/snippets\/[^"]+)": (import\d+),\n/gm, (_, module, ns) => (snippets.set(module, ns), ""));
const own = names.imports.filter(([module]) => !snippets.has(module));
for (const [module, name, short] of names.imports.filter(([module]) => snippets.has(module))) {
  rename("const import0 = {", (m) => `${m}\n${JSON.stringify(short)}: ${snippets.get(module)}.${name},`, "the main imports");
}
for (const module of new Set(own.map(([module]) => module))) {
  const key = `${JSON.stringify(module)}:`;
  if (!glue.includes(key)) throw new Error(`shorten-wasm-names: module ${module} not found in ${glueFile}`);
  glue = glue.split(key).join(`${JSON.stringify(SHORT_MODULE)}:`);
}
for (const [, name, short] of own) {
  // Import functions are the keys of the imports object, one per line.
  rename(new RegExp(`^(\\s*)${name}:`, "m"), (_, indent) => `${indent}${JSON.stringify(short)}:`, `import ${name}`);
}
for (const [name, short] of names.exports) {
  const uses = new RegExp(`\\bwasm\\.${name}\\b`, "g");
  if (uses.test(glue)) rename(uses, () => `wasm[${JSON.stringify(short)}]`, `export ${name}`);
}
writeFileSync(glueFile, glue);
