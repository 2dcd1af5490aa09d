// `npm run build`: bundle assets/ into app/static/dist/ with esbuild, plus the licences of what was bundled.
//
// seal.js    ES module (load with <script type="module">); also sets window.PlatformSeal
// replay.js  classic script; sets window.Hls
// verify.js  ES module: the public receipt verification page (canonical JSON, Ed25519, SHA-256, Merkle proofs)
// audit-verify.js  ES module: the evidence-log entry page's proof check (the same canonical JSON and Merkle code)
// stats.js   ES module: the supervision statistics' charts (Chart.js, tree-shaken: bar and line only)
// convenience.js  ES module: the hall display (Server-Sent Events, spoken calls) and the window panel's keys
// app.js     ES module loaded by every page: GOV.UK Frontend's initAll() and our small enhancements
// app.css    GOV.UK Frontend compiled with `sass` under our identity (assets/app.scss), plus our components
// LICENSES.txt  the licence text of every npm package that ended up in a bundle
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";
import * as sass from "sass";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outdir = path.join(root, "app", "static", "dist");
// Browsers the platform supports: ES2022 syntax, WHATWG streams (ReadableStream.pipeThrough) and BigInt.
const target = ["es2022", "chrome100", "firefox100", "safari16"];

const common = {
  bundle: true,
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  target,
  logLevel: "warning",
  metafile: true,
  absWorkingDir: root,
};

async function packageLicences(metafiles) {
  const packages = new Map();
  for (const meta of metafiles) {
    for (const input of Object.keys(meta.inputs)) {
      const match = input.match(/^(.*node_modules\/(@[^/]+\/[^/]+|[^/@][^/]*))\//);
      if (match) packages.set(match[1], match[2]);
    }
  }
  const sections = [];
  for (const [dir, name] of [...packages].sort((a, b) => a[1].localeCompare(b[1]) || a[0].localeCompare(b[0]))) {
    const manifest = JSON.parse(await readFile(path.join(root, dir, "package.json"), "utf8"));
    let text = `(${manifest.license ?? "see package"}; no licence file shipped)`;
    for (const file of ["LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "license"]) {
      try {
        text = await readFile(path.join(root, dir, file), "utf8");
        break;
      } catch {
        // try the next spelling
      }
    }
    sections.push(`== ${name}@${manifest.version} (${manifest.license ?? "unknown licence"}) ==\n\n${text.trim()}\n`);
  }
  return sections.join("\n");
}

// The design system's stylesheet. GOV.UK Frontend's own deprecation notices (it still uses @import) are silenced;
// ours are not.
async function buildStyles() {
  const result = await sass.compileAsync(path.join(root, "assets", "app.scss"), {
    loadPaths: [path.join(root, "node_modules")],
    style: "compressed",
    sourceMap: false,
    quietDeps: true,
    silenceDeprecations: ["import", "global-builtin"],
  });
  await writeFile(path.join(outdir, "app.css"), result.css);
  console.log(`app/static/dist/app.css  ${(Buffer.byteLength(result.css) / 1024).toFixed(1)} KiB`);
}

async function main() {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const results = await Promise.all([
    esbuild.build({ ...common, entryPoints: ["assets/seal.js"], outfile: path.join(outdir, "seal.js"), format: "esm" }),
    esbuild.build({
      ...common,
      entryPoints: ["assets/replay.js"],
      outfile: path.join(outdir, "replay.js"),
      format: "iife",
    }),
    esbuild.build({
      ...common,
      entryPoints: ["assets/verify.js"],
      outfile: path.join(outdir, "verify.js"),
      format: "esm",
    }),
    esbuild.build({
      ...common,
      entryPoints: ["assets/audit-verify.js"],
      outfile: path.join(outdir, "audit-verify.js"),
      format: "esm",
    }),
    esbuild.build({ ...common, entryPoints: ["assets/app.js"], outfile: path.join(outdir, "app.js"), format: "esm" }),
    esbuild.build({ ...common, entryPoints: ["assets/stats.js"], outfile: path.join(outdir, "stats.js"), format: "esm" }),
    esbuild.build({
      ...common,
      entryPoints: ["assets/convenience.js"],
      outfile: path.join(outdir, "convenience.js"),
      format: "esm",
    }),
  ]);
  await buildStyles();
  await writeFile(path.join(outdir, "LICENSES.txt"), await packageLicences(results.map((r) => r.metafile)));
  for (const result of results) {
    for (const [file, info] of Object.entries(result.metafile.outputs)) {
      if (file.endsWith(".js")) console.log(`${file}  ${(info.bytes / 1024).toFixed(1)} KiB`);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
