// The admin panel: a React single-page app served by the gateway at /admin/ (built into
// dist/admin). `npm run build:admin`; `vite --config vite.admin.config.ts` serves it for
// development, forwarding gRPC-web calls to FRONTDESK_WEB_URL (a running gateway).
import { fileURLToPath } from "node:url";

import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here("./admin"),
  base: "/admin/",
  plugins: [react(), tailwindcss()],
  build: {
    outDir: here("./dist/admin"),
    emptyOutDir: true, // only dist/admin: the widget's files beside it stay
    target: "es2022",
    chunkSizeWarningLimit: 600,
  },
  server: {
    fs: { allow: [here(".")] },
    proxy: {
      // gRPC-web paths look like /frontdesk.admin.v1.AdminService/ListConversations
      "^/frontdesk\\.": { target: process.env.FRONTDESK_WEB_URL ?? "http://127.0.0.1:8080", changeOrigin: true },
    },
  },
});
