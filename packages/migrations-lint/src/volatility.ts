import type { Node } from "libpg-query";
import { stringsOf } from "./relation-names.ts";

/**
 * Whether a column default is volatile — evaluated once per existing row when the column is added,
 * which rewrites the table — judged from the expression alone: built-in functions by name,
 * functions created earlier in the linted migrations by what they declared. A function the lint
 * knows nothing of is "unknown": PostgreSQL makes a function VOLATILE unless it says otherwise.
 */
export type Volatility =
  | { readonly kind: "non-volatile" }
  | { readonly kind: "volatile"; readonly function: string }
  | { readonly kind: "unknown"; readonly function: string };

/** Built-in (and common extension) functions that are VOLATILE: each call may answer differently. */
const VOLATILE = new Set([
  "random",
  "random_normal",
  "setseed",
  "gen_random_uuid",
  "uuidv4",
  "uuidv7",
  "uuid_generate_v1",
  "uuid_generate_v1mc",
  "uuid_generate_v4",
  "gen_random_bytes",
  "gen_salt",
  "clock_timestamp",
  "timeofday",
  "nextval",
  "setval",
]);

/**
 * Built-in functions that are STABLE or IMMUTABLE and turn up in defaults: a default calling only
 * these (or none) is computed once, not per row. Read only when unqualified or in `pg_catalog`.
 */
const NON_VOLATILE = new Set([
  "now",
  "transaction_timestamp",
  "statement_timestamp",
  "current_setting",
  "current_database",
  "current_schema",
  "to_char",
  "to_date",
  "to_timestamp",
  "to_number",
  "date_trunc",
  "date_part",
  "make_date",
  "make_time",
  "make_timestamp",
  "make_timestamptz",
  "make_interval",
  "timezone",
  "age",
  "lower",
  "upper",
  "btrim",
  "ltrim",
  "rtrim",
  "length",
  "char_length",
  "concat",
  "concat_ws",
  "format",
  "substr",
  "substring",
  "replace",
  "left",
  "right",
  "lpad",
  "rpad",
  "repeat",
  "md5",
  "sha256",
  "encode",
  "decode",
  "abs",
  "round",
  "floor",
  "ceil",
  "ceiling",
  "trunc",
  "jsonb_build_object",
  "json_build_object",
  "jsonb_build_array",
  "json_build_array",
  "to_json",
  "to_jsonb",
  "array_fill",
  "int4range",
  "int8range",
  "numrange",
  "tstzrange",
  "daterange",
]);

/** `name` (lower case, unqualified) → declared volatility of a function created in the linted migrations. */
export type KnownFunctions = ReadonlyMap<string, "volatile" | "stable" | "immutable">;

export function defaultVolatility(expression: Node, known: KnownFunctions): Volatility {
  let verdict: Volatility = { kind: "non-volatile" };
  visitNodes(expression, (node) => {
    if (verdict.kind === "volatile" || !("FuncCall" in node)) return;
    const parts = stringsOf(node.FuncCall.funcname).map((part) => part.toLowerCase());
    const name = parts.at(-1) ?? "";
    const schema = parts.length > 1 ? parts.at(-2) : undefined;
    const shown = `${parts.join(".")}()`;
    const declared = known.get(name);
    if (declared !== undefined) {
      if (declared === "volatile") verdict = { kind: "volatile", function: shown };
      return;
    }
    if (VOLATILE.has(name)) verdict = { kind: "volatile", function: shown };
    else if (!(NON_VOLATILE.has(name) && (schema === undefined || schema === "pg_catalog"))) {
      if (verdict.kind === "non-volatile") verdict = { kind: "unknown", function: shown };
    }
  });
  return verdict;
}

/** Calls `visit` on every parse-tree node under (and including) `root`, depth first. */
export function visitNodes(root: unknown, visit: (node: Node) => void): void {
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (typeof value !== "object" || value === null) return;
    const keys = Object.keys(value);
    // A node is an object of one key naming its type, which starts with a capital letter.
    if (keys.length === 1 && /^[A-Z]/.test(keys[0] ?? "")) visit(value as Node);
    for (const inner of Object.values(value)) walk(inner);
  };
  walk(root);
}
