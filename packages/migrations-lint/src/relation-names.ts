import type { Node, RangeVar } from "libpg-query";

/**
 * A relation as a statement names it: schema (when written) and name, as the parser folded them.
 * `key` is its SQL spelling — each part bare when it is a plain lower-case identifier, otherwise
 * double-quoted — which is also what `to_regclass` reads back to the same relation, so it is what
 * the lint asks the target about and looks the answer up by.
 */
export interface RelationRef {
  readonly schema: string | null;
  readonly name: string;
  readonly key: string;
}

export function relationRef(schema: string | null | undefined, name: string): RelationRef {
  const clean = schema === undefined || schema === "" ? null : schema;
  return {
    schema: clean,
    name,
    key: clean === null ? sqlIdentifier(name) : `${sqlIdentifier(clean)}.${sqlIdentifier(name)}`,
  };
}

/** The relation a `RangeVar` names; null when it names none (it cannot, once parsed). */
export function rangeVarRef(range: RangeVar | undefined): RelationRef | null {
  if (range?.relname === undefined) return null;
  return relationRef(range.schemaname, range.relname);
}

/** A relation named by a list of `String` nodes (`DROP TABLE a.b`, `COMMENT ON COLUMN a.b.c`). */
export function namesRef(names: readonly Node[] | undefined): RelationRef | null {
  const parts = stringsOf(names);
  const name = parts.at(-1);
  if (name === undefined) return null;
  return relationRef(parts.length > 1 ? parts.at(-2) : null, name);
}

/** The `sval`s of a list of `String` nodes, in order (other nodes skipped). */
export function stringsOf(nodes: readonly Node[] | undefined): string[] {
  const out: string[] = [];
  for (const node of nodes ?? []) {
    if ("String" in node && node.String.sval !== undefined) out.push(node.String.sval);
  }
  return out;
}

/** An identifier as SQL (and `to_regclass`) reads it back: bare when plain lower case, else quoted. */
export function sqlIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

/** A relation in the schema of another (an index is created in its table's schema). */
export function sibling(of: RelationRef, name: string): RelationRef {
  return relationRef(of.schema, name);
}
