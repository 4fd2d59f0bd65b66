// Fails when src/gen is not what `npm run gen` makes from ../protos (CI runs this).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const web = fileURLToPath(new URL("..", import.meta.url));
const committed = join(web, "src", "gen");
const out = mkdtempSync(join(tmpdir(), "frontdesk-gen-"));

function files(dir) {
  const found = new Map();
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else found.set(relative(dir, p), readFileSync(p));
    }
  };
  try {
    walk(dir);
  } catch (err) {
    if (err.code !== "ENOENT") throw err;
  }
  return found;
}

try {
  const buf = join(web, "node_modules", ".bin", process.platform === "win32" ? "buf.cmd" : "buf");
  execFileSync(buf, ["generate", "--output", out], { cwd: web, stdio: "inherit" });
  const fresh = files(join(out, "src", "gen"));
  const current = files(committed);
  const problems = [];
  for (const [name, data] of fresh) {
    if (!current.has(name)) problems.push(`${name} (missing)`);
    else if (!current.get(name).equals(data)) problems.push(`${name} (differs)`);
  }
  for (const name of current.keys()) if (!fresh.has(name)) problems.push(`${name} (no longer generated)`);
  if (problems.length) {
    console.error(`generated TypeScript is stale; run \`npm --prefix web run gen\`:\n  ${problems.sort().join("\n  ")}`);
    process.exitCode = 1;
  } else {
    console.log(`generated TypeScript is up to date (${fresh.size} files)`);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
