import type { Constraint, Node } from "libpg-query";
import { type RelationRef, rangeVarRef } from "./relation-names.ts";

// Small readers of libpg-query's parse tree, shared by the statement analyses.

export function constraintsOf(nodes: readonly Node[] | undefined): Constraint[] {
  const out: Constraint[] = [];
  for (const node of nodes ?? []) if ("Constraint" in node) out.push(node.Constraint);
  return out;
}

export function rangeVars(nodes: readonly Node[] | undefined): RelationRef[] {
  const out: RelationRef[] = [];
  for (const node of nodes ?? []) {
    const ref = "RangeVar" in node ? rangeVarRef(node.RangeVar) : null;
    if (ref !== null) out.push(ref);
  }
  return out;
}

/** A constant's text (`'3s'`, `200`, `true`), or null for anything else. */
export function constantText(node: Node | undefined): string | null {
  if (node === undefined) return null;
  if ("TypeCast" in node) return constantText(node.TypeCast.arg);
  if (!("A_Const" in node)) return null;
  const constant = node.A_Const;
  if (constant.sval !== undefined) return constant.sval.sval ?? "";
  if (constant.ival !== undefined) return String(constant.ival.ival ?? 0);
  if (constant.fval !== undefined) return constant.fval.fval ?? null;
  if (constant.boolval !== undefined) return constant.boolval.boolval === true ? "true" : "false";
  return null;
}
