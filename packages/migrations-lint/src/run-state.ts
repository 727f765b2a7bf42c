import type { RelationSize } from "@studio/migrations-core";
import { type RelationRef, relationRef } from "./relation-names.ts";
import type { KnownFunctions } from "./volatility.ts";

/**
 * Whether a relation is there when a statement runs:
 * - `new`: created earlier in this lint run (this migration or an earlier pending one) — empty, so
 *   what is risky on a live table is not;
 * - `existing`: the target has it (with sizes), or — without sizes — nothing in the run created it,
 *   so it is assumed to exist;
 * - `absent`: dropped earlier in the run, or not on the target (the statement would fail, or be a
 *   no-op under IF EXISTS).
 */
export type Existence = "new" | "existing" | "absent";

/** A relation as a finding states it, taken when the statement is read (later ones may drop it). */
export interface RelationView {
  readonly ref: RelationRef;
  readonly existence: Existence;
  /** Schema-qualified as the target resolved it, when it was asked; otherwise as written. */
  readonly display: string;
  /** The target's answer, when sizes were given and the relation exists there. */
  readonly size: RelationSize | null;
}

/** What the migrations read so far have done to the schema, over the whole lint run. */
export class RunState {
  private readonly sizes: ReadonlyMap<string, RelationSize> | null;
  private readonly createdKeys = new Set<string>();
  /** Unqualified names of created relations: `foo` may be the `platform.foo` just created. */
  private readonly createdNames = new Set<string>();
  private readonly droppedKeys = new Set<string>();
  /** A relation renamed in the run, by its new key → the key the target knows it by. */
  private readonly renamedFrom = new Map<string, string>();
  /** Every key whose existence the target decides, in the order first asked. */
  private readonly askedKeys = new Set<string>();
  private readonly functions = new Map<string, "volatile" | "stable" | "immutable">();
  /** NOT VALID `CHECK (col IS NOT NULL)`s by `table#constraint` → column, until validated. */
  private readonly pendingNotNullChecks = new Map<string, string>();
  /** `table#column`s a validated CHECK (col IS NOT NULL) proves. */
  private readonly provenNotNull = new Set<string>();

  constructor(sizes: readonly RelationSize[] | null) {
    if (sizes === null) {
      this.sizes = null;
      return;
    }
    const byName = new Map<string, RelationSize>();
    for (const size of sizes) {
      byName.set(size.name, size);
      // A caller may have asked by another spelling; the resolved one finds it too.
      if (size.relation !== null && !byName.has(size.relation)) byName.set(size.relation, size);
    }
    this.sizes = byName;
  }

  get live(): boolean {
    return this.sizes !== null;
  }

  /** The names whose existence (and size) the target decides, in the order they came up. */
  get asked(): readonly string[] {
    return [...this.askedKeys];
  }

  get knownFunctions(): KnownFunctions {
    return this.functions;
  }

  view(ref: RelationRef): RelationView {
    const existence = this.existence(ref);
    const size = existence === "existing" ? this.sizeOf(ref) : null;
    const display = this.renamedFrom.has(ref.key) ? ref.key : (size?.relation ?? ref.key);
    return { ref, existence, display, size };
  }

  existence(ref: RelationRef): Existence {
    if (this.createdKeys.has(ref.key)) return "new";
    if (this.droppedKeys.has(ref.key)) return "absent";
    const origin = this.renamedFrom.get(ref.key) ?? ref.key;
    this.askedKeys.add(origin);
    const size = this.sizes?.get(origin);
    if (size?.exists) {
      return size.relation !== null && this.createdKeys.has(size.relation) ? "new" : "existing";
    }
    if (ref.schema === null && this.createdNames.has(ref.name)) return "new";
    return size === undefined ? "existing" : "absent";
  }

  /** Whether the relation is known to be there: created in the run, or found on the target. */
  knownToExist(ref: RelationRef): boolean {
    const existence = this.existence(ref);
    return existence === "new" || (existence === "existing" && this.sizeOf(ref) !== null);
  }

  private sizeOf(ref: RelationRef): RelationSize | null {
    const size = this.sizes?.get(this.renamedFrom.get(ref.key) ?? ref.key);
    return size?.exists ? size : null;
  }

  /**
   * A relation created by a statement. `CREATE … IF NOT EXISTS` of one the target already has
   * creates nothing: the relation stays the live one.
   */
  created(ref: RelationRef, ifNotExists = false): void {
    // Asked even without sizes: relationsToSize must name it, for the target to decide.
    if (ifNotExists && this.existence(ref) === "existing" && this.live) return;
    this.createdKeys.add(ref.key);
    this.createdNames.add(ref.name);
    this.droppedKeys.delete(ref.key);
    this.renamedFrom.delete(ref.key);
  }

  dropped(ref: RelationRef): void {
    this.createdKeys.delete(ref.key);
    this.renamedFrom.delete(ref.key);
    this.droppedKeys.add(ref.key);
  }

  renamed(from: RelationRef, newName: string): void {
    const existence = this.existence(from);
    const origin = this.renamedFrom.get(from.key) ?? from.key;
    this.dropped(from);
    const to = relationRef(from.schema, newName);
    if (existence === "new") {
      this.created(to);
    } else if (existence === "existing") {
      this.droppedKeys.delete(to.key);
      this.createdKeys.delete(to.key);
      this.renamedFrom.set(to.key, origin);
    }
  }

  declareFunction(name: string, volatility: "volatile" | "stable" | "immutable"): void {
    this.functions.set(name.toLowerCase(), volatility);
  }

  notNullCheckAdded(
    table: RelationRef,
    column: string,
    constraint: string | null,
    validated: boolean,
  ): void {
    if (validated) this.provenNotNull.add(`${table.key}#${column}`);
    else if (constraint !== null)
      this.pendingNotNullChecks.set(`${table.key}#${constraint}`, column);
  }

  constraintValidated(table: RelationRef, constraint: string): void {
    const column = this.pendingNotNullChecks.get(`${table.key}#${constraint}`);
    if (column !== undefined) this.provenNotNull.add(`${table.key}#${column}`);
  }

  /** Whether a validated CHECK (column IS NOT NULL) added in the run proves the column has no NULL. */
  provesNotNull(table: RelationRef, column: string): boolean {
    return this.provenNotNull.has(`${table.key}#${column}`);
  }
}
