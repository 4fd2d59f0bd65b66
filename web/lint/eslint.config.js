// ESLint for web/ (run from web/: `npm --prefix lint exec -- eslint -c lint/eslint.config.js .`).
// Syntax-level rules only: the types are checked by `tsc --noEmit` with web/'s TypeScript.
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

// The widget is embedded on tenants' sites: its bundle must never carry operator code.
// Applied to the widget and to everything it may import (shared helpers, the client and live stream).
const ADMIN_CODE = {
  patterns: [
    { group: ["**/admin", "**/admin/**", "**/admin.ts", "**/admin.tsx"], message: "the widget never imports admin code (it ships to every visitor)" },
    { group: ["**/gen/frontdesk/admin/**", "**/gen/frontdesk/analytics/**"], message: "operator APIs stay out of the widget bundle" },
  ],
};

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "lint/**", "src/gen/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.{ts,tsx}"],
    plugins: { "react-hooks": reactHooks },
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      // the classic rules; the React Compiler's (purity, set-state-in-effect, ...) assume a
      // compiler we do not use
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-restricted-syntax": ["error", { selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']", message: "render text, never HTML: customers and operators type it" }],
    },
  },
  {
    files: ["src/widget/**", "src/shared/**", "src/api/**"],
    rules: { "no-restricted-imports": ["error", ADMIN_CODE] },
  },
  {
    // what two pages share lives beside them (components.tsx, labels.ts, a module of its own)
    files: ["src/admin/pages/**"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ group: ["./*", "../pages/*"], message: "a page never imports another page: move what they share out of pages/" }],
      }],
    },
  },
  {
    files: ["scripts/**/*.mjs"],
    languageOptions: { globals: globals.node },
  },
);
