import { DatabaseRefusedError, ExecutorUnavailableError } from "@studio/migrations-core";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { describe, expect, it } from "vitest";
import { migrationErrorData, toTRPCError } from "./errors.ts";

describe("a database that refused Studio's role", () => {
  it("is a 503 that carries its own code and hint, told apart from an outage", () => {
    const refused = toTRPCError(
      new DatabaseRefusedError(
        "privilege",
        "Could not read the migration state: the database refused: permission denied for table schema_migrations.",
        { hint: "GRANT SELECT, INSERT, UPDATE ON platform.schema_migrations TO <role>;" },
      ),
    );
    expect(getHTTPStatusCodeFromError(refused)).toBe(503);
    expect(refused.message).toContain("permission denied for table schema_migrations");
    expect(migrationErrorData(refused)).toMatchObject({
      code: "DATABASE_REFUSED",
      hint: "GRANT SELECT, INSERT, UPDATE ON platform.schema_migrations TO <role>;",
    });

    const outage = toTRPCError(new ExecutorUnavailableError("Could not read the migration state"));
    expect(migrationErrorData(outage)).toMatchObject({ code: "EXECUTOR_UNAVAILABLE" });
  });
});
