// Builds the browser assets capexit serves into ../static/build (ignored by git):
// copies of the bpmn-js viewer and ECharts, and the modeler bundle made with esbuild from src/modeler.js
// (bpmn-js Modeler, properties panel with capexit's group, bpmnlint with capexit's rules).
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "static", "build");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const copies = [
  ["bpmn-js/dist/bpmn-navigated-viewer.production.min.js", "bpmn-viewer.js"],
  ["bpmn-js/dist/assets/diagram-js.css", "diagram-js.css"],
  ["bpmn-js/dist/assets/bpmn-js.css", "bpmn-js.css"],
  ["bpmn-js/dist/assets/bpmn-font", "bpmn-font"],
  ["echarts/dist/echarts.min.js", "echarts.min.js"],
];
for (const [from, to] of copies) {
  cpSync(join(here, "node_modules", from), join(out, to), { recursive: true });
  console.log(`static/build/${to}`);
}

const result = await esbuild.build({
  entryPoints: { modeler: join(here, "src", "modeler.js") },
  outdir: out,
  bundle: true,
  format: "iife",
  globalName: "CapexitModeler",
  platform: "browser",
  target: ["es2020"],
  minify: true,
  legalComments: "linked",
  jsx: "automatic",
  jsxImportSource: "@bpmn-io/properties-panel/preact",
  loader: { ".eot": "file", ".svg": "file", ".woff": "file", ".woff2": "file", ".ttf": "file" },
  assetNames: "fonts/[name]-[hash]",
  define: { "process.env.NODE_ENV": '"production"' },
  metafile: true,
  logLevel: "warning",
});
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  console.log(`${file.replace(/^.*static\//, "static/")} (${Math.round(info.bytes / 1024)} kB)`);
}
