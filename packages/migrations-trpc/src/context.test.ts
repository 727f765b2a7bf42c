import { describe, expect, it } from "vitest";
import { authenticateSecretHeaders, secretsMatch } from "./context.ts";

describe("secret-header authentication", () => {
  const secret = "s3cret-value";

  it("accepts the right secret and reads the actor, defaulting to 'secret'", () => {
    expect(authenticateSecretHeaders({ "x-migration-secret": secret }, secret)).toEqual({
      ok: true,
      actor: "secret",
    });
    expect(
      authenticateSecretHeaders(
        new Headers({ "x-migration-secret": secret, "x-migration-actor": "deploy-bot" }),
        secret,
      ),
    ).toEqual({ ok: true, actor: "deploy-bot" });
  });

  it("refuses a missing, wrong, almost-right, or longer secret", () => {
    expect(authenticateSecretHeaders({}, secret)).toEqual({ ok: false, reason: "missing_secret" });
    for (const wrong of [
      "nope",
      "s3cret-valuf",
      "s3cret-value ",
      `${secret}${secret}`,
      secret.toUpperCase(),
    ]) {
      expect(authenticateSecretHeaders({ "x-migration-secret": wrong }, secret)).toEqual({
        ok: false,
        reason: "wrong_secret",
      });
    }
    expect(secretsMatch("", "")).toBe(false);
  });

  it("refuses an actor with control characters or of excessive length", () => {
    for (const actor of ["a\nb", "x".repeat(201), "   "]) {
      expect(
        authenticateSecretHeaders(
          { "x-migration-secret": secret, "x-migration-actor": actor },
          secret,
        ),
      ).toEqual({
        ok: false,
        reason: "invalid_actor",
      });
    }
  });
});
