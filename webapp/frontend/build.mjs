// Copies the browser bundles capexit serves into ../static/build (ignored by git).
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

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
