// Builds main.js with one bundler, on its defaults as a new user would run it:
// no plugin or loader for wasm, no Node polyfills, no config beyond entry and
// output (Rollup gets node-resolve, without which it finds no npm package).
// Writes out/<bundler>/{main.js,index.html}; warnings go to stderr.
//   node build.mjs webpack|esbuild|rollup
import fs from "node:fs";
import path from "node:path";

const bundler = process.argv[2];
const out = path.resolve("out", bundler);

const builders = {
  async webpack() {
    const { default: webpack } = await import("webpack");
    const stats = await new Promise((resolve, reject) =>
      webpack({ mode: "production", entry: "./main.js", output: { path: out, filename: "main.js" } }, (err, s) =>
        err ? reject(err) : resolve(s),
      ),
    );
    const { errors, warnings } = stats.toJson({ all: false, errors: true, warnings: true });
    // hls.js alone is over webpack's 244 KiB performance hints: those are expected.
    report(errors, warnings.filter((w) => !/size limit|performance recommendations/.test(w.message)), (w) => w.message);
    return "classic";
  },
  async esbuild() {
    const esbuild = await import("esbuild");
    const r = await esbuild.build({ entryPoints: ["main.js"], bundle: true, format: "esm", outdir: out, logLevel: "silent" });
    report(r.errors, r.warnings, (w) => w.text);
    return "module";
  },
  async rollup() {
    const { rollup } = await import("rollup");
    const { nodeResolve } = await import("@rollup/plugin-node-resolve");
    const warnings = [];
    const bundle = await rollup({ input: "main.js", plugins: [nodeResolve({ browser: true })], onwarn: (w) => warnings.push(w) });
    await bundle.write({ dir: out, format: "es", entryFileNames: "main.js" });
    report([], warnings, (w) => w.message);
    return "module";
  },
};

function report(errors, warnings, text) {
  for (const w of [...errors, ...warnings]) console.error(`${bundler}: ${text(w)}`);
  if (errors.length) process.exit(1);
}

const kind = await builders[bundler]();
const script = kind === "module" ? `<script type="module" src="./main.js"></script>` : `<script src="./main.js"></script>`;
fs.writeFileSync(path.join(out, "index.html"), `<!doctype html>\n<video muted></video>\n${script}\n`);
