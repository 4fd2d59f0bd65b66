// After `npm run build`: prints the widget's size (raw and gzipped) and touches dist/.built,
// the stamp that the Makefile and tests/web/conftest.py compare with the sources.
// `--size` only prints.
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const widget = readFileSync(new URL("../dist/widget.js", import.meta.url));
const gz = gzipSync(widget, { level: 9 }).length;
console.log(`dist/widget.js: ${(widget.length / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzipped`);
if (!process.argv.includes("--size")) writeFileSync(new URL("../dist/.built", import.meta.url), `${new Date().toISOString()}\n`);
