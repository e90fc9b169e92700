// Parse a Mermaid diagram from stdin with Mermaid's own parser (no browser): jsdom supplies the
// DOM that mermaid's module needs at import. Run with cwd = the npm directory of PIN
// (scripts/bootstrap.sh dev installs it): node --input-type=module -e "$(cat parse.mjs)" < x.mmd
import { JSDOM } from "jsdom";
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });
let text = "";
for await (const chunk of process.stdin) text += chunk;
try {
  const r = await mermaid.parse(text);
  console.log(JSON.stringify({ ok: true, type: r.diagramType }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e.message || e) }));
  process.exitCode = 1;
}
