import type { NextConfig } from "next";

const config: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Native and WASM database drivers are loaded by Node at run time, not bundled.
  // The lint is external too: it loads its parser's WebAssembly next to its own libpg-query.
  serverExternalPackages: ["@electric-sql/pglite", "pg", "@studio/migrations-lint"],
};

export default config;
