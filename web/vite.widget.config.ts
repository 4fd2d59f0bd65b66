// The embeddable widget: one self-contained file, dist/widget.js (an IIFE: no module loader,
// no chunks, its CSS inlined), plus the demo host page (dist/demo/) and a start page
// (dist/index.html) linking the demo and the admin panel. `npm run build:widget`.
//
// React code, Preact at run time: react / react-dom resolve to preact/compat, which keeps the
// bundle small (the widget's gzipped size is printed by `npm run size`).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import tailwindcss from "@tailwindcss/vite";
import { defineConfig, type Plugin } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// the demo page and the start page, copied as they are (they only load /widget.js)
function pages(): Plugin {
  return {
    name: "frontdesk-pages",
    generateBundle() {
      for (const [from, to] of [["demo/index.html", "demo/index.html"], ["demo/start.html", "index.html"]] as const) {
        this.emitFile({ type: "asset", fileName: to, source: readFileSync(here(`./${from}`)) });
      }
    },
  };
}

export default defineConfig({
  plugins: [tailwindcss(), pages()],
  resolve: {
    alias: [
      { find: /^react-dom\/client$/, replacement: "preact/compat/client" },
      { find: /^react-dom$/, replacement: "preact/compat" },
      { find: /^react\/jsx-(dev-)?runtime$/, replacement: "preact/jsx-runtime" },
      { find: /^react$/, replacement: "preact/compat" },
    ],
  },
  oxc: { jsx: { runtime: "automatic", importSource: "react" } },
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
  build: {
    outDir: here("./dist"),
    emptyOutDir: false, // dist/admin (the admin panel's build) stays
    target: "es2020",
    sourcemap: false,
    lib: {
      entry: here("./src/widget/main.tsx"),
      formats: ["iife"],
      name: "FrontdeskWidgetBundle",
      fileName: () => "widget.js",
    },
  },
});
