import type { NextConfig } from "next";

const config: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Native and WASM database drivers are loaded by Node at run time, not bundled.
  serverExternalPackages: ["@electric-sql/pglite", "pg"],
};

export default config;
