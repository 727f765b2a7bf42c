import { describe, expect, it } from "vitest";
import { hintFor, namesIn, problemHint } from "./hints.ts";

describe("namesIn", () => {
  it("finds every name the loader takes, whole: dbmate's, bare versions, dots and dashes", () => {
    expect(
      namesIn(
        "Applied migrations changed on disk since they were applied: 20240101120000_create-users-table, 008_add_active_org_tracking, 20240102000000, 9_Add-Billing.v2.",
      ),
    ).toEqual([
      "20240101120000_create-users-table",
      "008_add_active_org_tracking",
      "20240102000000",
      "9_Add-Billing.v2",
    ]);
  });

  it("takes a name's last '.' for the sentence's full stop, and reads names in quotes and parentheses", () => {
    expect(namesIn('No migration named "20240101120000_create-users-table" exists.')).toEqual([
      "20240101120000_create-users-table",
    ]);
    expect(namesIn("Applies are blocked: 7_x (failed), 8_y (interrupted) ran outside.")).toEqual([
      "7_x",
      "8_y",
    ]);
    expect(namesIn("…: 008_ends-in-dot..")).toEqual(["008_ends-in-dot."]);
  });

  it("skips digits inside a word and what the rule refuses (.., over 200 characters)", () => {
    expect(namesIn("abc123_x v2_3 008_a..b")).toEqual([]);
    expect(namesIn(`1_${"a".repeat(199)} and 2_ok`)).toEqual(["2_ok"]);
    expect(namesIn("once: 001_a, again: 001_a.")).toEqual(["001_a"]);
  });
});

describe("hintFor", () => {
  it("names a dbmate-named migration whole in the command it suggests", () => {
    const blocked = hintFor(
      "MIGRATION_BLOCKED",
      "Applies are blocked: 20240101120000_create-users-table (interrupted) ran outside a transaction and may have left partial changes.",
      null,
      null,
    );
    expect(blocked).toContain("studio-migrate resolve 20240101120000_create-users-table --applied");

    const drift = hintFor(
      "CHECKSUM_DRIFT",
      "Applied migrations changed on disk since they were applied: 20240101120000_create-users-table, 20240102000000_Add.Index.",
      null,
      null,
    );
    expect(drift).toContain(
      "for each of 20240101120000_create-users-table, 20240102000000_Add.Index.",
    );

    expect(
      hintFor(
        "EARLIER_PENDING",
        "Cannot apply 20240102000000_add-index alone: earlier migration is still pending: 20240101120000_create-users-table.",
        null,
        null,
      ),
    ).toContain("studio-migrate apply --to 20240102000000_add-index");
  });
});

describe("problemHint for a down section that did not finish", () => {
  it("says which resolution means what for a rollback, not for an apply", () => {
    const hint = problemHint({
      kind: "failed",
      migrationName: "001_x",
      message: "001_x's rollback failed partway: boom: its down section runs outside a transaction",
      hint: "",
      blocking: true,
    });
    expect(hint).toContain("--rolled-back` if you finished its down section by hand");
    expect(hint).toContain("--applied` if you undid what of it ran");
  });
});
