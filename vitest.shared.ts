import type { ViteUserConfig } from "vitest/config";

/**
 * Tests import the workspace packages' TypeScript sources (their `@studio/source` export
 * condition), never their built `dist/`, which may be stale. Vitest runs tests as SSR, which
 * resolves with its own conditions, so both are set.
 */
export const sourceConditions: Pick<ViteUserConfig, "resolve" | "ssr"> = {
  resolve: { conditions: ["@studio/source"] },
  ssr: { resolve: { conditions: ["@studio/source"], externalConditions: ["@studio/source"] } },
};
