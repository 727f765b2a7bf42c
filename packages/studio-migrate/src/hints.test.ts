import type { Remedy } from "@studio/migrations-core";
import { describe, expect, it } from "vitest";
import { parseInvocation } from "./args.ts";
import { hintFor, pasteTarget, problemHint, remedyHint, shellWord } from "./hints.ts";

const NO_FLAGS = { url: null, databaseUrl: null, migrationsDir: null, actor: null };

describe("pasteTarget", () => {
  it("carries the target flags, never the secret or a password, quoted for a shell", () => {
    expect(pasteTarget(NO_FLAGS)).toBe("");
    expect(pasteTarget({ ...NO_FLAGS, url: "https://ops:pw@studio.example/base" })).toBe(
      " --url https://studio.example/base",
    );
    expect(
      pasteTarget({
        ...NO_FLAGS,
        databaseUrl: "postgres://app:s3cret@db.internal:5432/platform?sslmode=require",
        migrationsDir: "db/my migrations",
        actor: "deploy bot",
      }),
    ).toBe(
      " --database-url 'postgres://app@db.internal:5432/platform?sslmode=require' --migrations-dir 'db/my migrations' --actor 'deploy bot'",
    );
  });

  it("quotes what a shell would otherwise split or expand", () => {
    expect(shellWord("008_add_active_org_tracking")).toBe("008_add_active_org_tracking");
    expect(shellWord("it's $HOME")).toBe(`'it'\\''s $HOME'`);
  });
});

describe("remedyHint", () => {
  const target = " --url https://studio.example";

  it("names a dbmate-named migration whole, with the target, in every command it suggests", () => {
    const blocked = remedyHint(
      { kind: "resolve", migrationName: "20240101120000_create-users-table", attempt: "apply" },
      target,
    );
    expect(blocked).toContain(
      "`studio-migrate resolve 20240101120000_create-users-table --applied --url https://studio.example`",
    );
    const drift = remedyHint(
      {
        kind: "restore_or_accept_checksum",
        migrationNames: ["20240101120000_create-users-table", "20240102000000_Add.Index"],
      },
      target,
    );
    expect(drift).toContain(
      "`studio-migrate resolve 20240102000000_Add.Index --accept-checksum --url https://studio.example`",
    );
    expect(
      remedyHint(
        {
          kind: "apply_up_to",
          migrationName: "20240102000000_add-index",
          lastPendingBefore: "20240101120000_create-users-table",
        },
        target,
      ),
    ).toContain("`studio-migrate baseline --to 20240101120000_create-users-table --url");
  });

  it("says which resolution means what for a rollback, not for an apply", () => {
    const hint = problemHint(
      { remedy: { kind: "resolve", migrationName: "001_x", attempt: "rollback" } },
      "",
    );
    expect(hint).toContain("--rolled-back` if you finished its down section by hand");
    expect(hint).toContain("--applied` if you undid what of it ran");
  });

  it("tells a migration that gave up on a lock to wait for its holder, or to wait longer this run", () => {
    const hint = problemHint(
      { remedy: { kind: "wait_for_lock", migrationName: "009_alter busy" } },
      target,
    );
    expect(hint).toContain("needs no fix");
    expect(hint).toContain("End the session or wait for it to finish");
    expect(hint).toContain("`studio-migrate apply '009_alter busy' --url https://studio.example`");
    expect(hint).toContain(
      "`studio-migrate apply '009_alter busy' --lock-timeout 30000 --url https://studio.example`",
    );
    // What it suggests parses as it is: the longer wait is this run's own.
    const commands = [
      ...problemHint(
        { remedy: { kind: "wait_for_lock", migrationName: "009_busy" } },
        target,
      ).matchAll(/`studio-migrate ([^`]+)`/g),
    ].map((match) => parseInvocation((match[1] ?? "").split(" ")));
    expect(commands).toMatchObject([
      { command: "apply", migrationName: "009_busy", timeouts: { lockTimeoutMs: null } },
      { command: "apply", migrationName: "009_busy", timeouts: { lockTimeoutMs: 30_000 } },
    ]);
  });

  it("falls back to the core's own words when there is no remedy", () => {
    expect(hintFor(null, "Grant it: `GRANT USAGE ON SCHEMA platform TO app;`", target)).toBe(
      "Grant it: `GRANT USAGE ON SCHEMA platform TO app;`",
    );
    const remedy: Remedy = { kind: "mark_rolled_back", migrationName: "003_c", inRun: false };
    expect(hintFor(remedy, "ignored", target)).toContain(
      "`studio-migrate rollback 003_c --mark-only --url https://studio.example`",
    );
  });
});
