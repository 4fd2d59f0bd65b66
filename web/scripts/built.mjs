// After each build: writes compressed copies of the text assets (name.gz, name.br, which
// the gateway's static server sends to browsers that accept them, so they must never be
// older than the file: every build:* script ends with `--compress`). Without options it
// prints the widget's size and touches dist/.built, the stamp that the Makefile and
// tests/web/conftest.py compare with the sources; `--size` only prints.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const dist = new URL("../dist/", import.meta.url).pathname;
const only = (flag) => process.argv.includes(flag);

if (!only("--compress")) {
  const widget = readFileSync(join(dist, "widget.js"));
  const gz = gzipSync(widget, { level: 9 }).length;
  console.log(`dist/widget.js: ${(widget.length / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzipped`);
}

if (only("--compress")) {
  const compressible = /\.(js|mjs|css|html|svg|json|txt)$/;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (compressible.test(entry.name)) {
        const data = readFileSync(path);
        if (data.length < 1024) continue; // not worth a second request header
        writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
        writeFileSync(`${path}.br`, brotliCompressSync(data, {
          params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
        }));
      }
    }
  };
  walk(dist);
} else if (!only("--size")) {
  writeFileSync(join(dist, ".built"), `${new Date().toISOString()}\n`);
}
