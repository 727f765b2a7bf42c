import { CATALOG_FINGERPRINT_SQL, CATALOG_SEARCH_PATH_SQL } from "./catalog-query.ts";
import type { ScratchDatabase } from "./scratch.ts";

/**
 * The kinds of object a fingerprint names, in the order a fingerprint (and a list of
 * differences) lists them: containers before what they contain.
 */
export const OBJECT_KINDS = [
  "schema",
  "extension",
  "enum",
  "domain",
  "composite type",
  "range type",
  "base type",
  "sequence",
  "table",
  "foreign table",
  "view",
  "materialized view",
  "column",
  "constraint",
  "index",
  "trigger",
  "rule",
  "policy",
  "statistics",
  "function",
  "procedure",
  "aggregate",
  "window function",
  "grant",
  "default privileges",
  "event trigger",
] as const;

export type ObjectKind = (typeof OBJECT_KINDS)[number];

/** A text (definitions, names, numbers as written by Postgres), a flag, a list, or nothing. */
export type AttributeValue = string | boolean | null | readonly string[];

/**
 * One object of the schema. `kind` and `identity` name it (`column` `platform.users.email`,
 * `function` `platform.set_active_org(uuid, uuid)`, `grant` `SELECT on table platform.t to
 * PUBLIC`); identities are schema-qualified and quoted as Postgres quotes identifiers.
 */
export interface CatalogObject {
  readonly kind: ObjectKind;
  readonly identity: string;
  /**
   * The key ({@link objectKey}) of the object it belongs to — a column's table, a table's
   * schema, a grant's object — or `null` for a top-level one.
   */
  readonly parent: string | null;
  /** What is compared: the attributes each kind has are fixed (see the README). */
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

/**
 * A database's user schema as data: every object outside the system schemas that no extension
 * owns, ordered by kind then identity, with no OIDs or anything else that changes from run to
 * run. Two fingerprints of one server are equal exactly when the schemas are the same.
 */
export interface CatalogFingerprint {
  readonly objects: readonly CatalogObject[];
}

/** How an object is named in messages and referred to as a parent: `column platform.users.email`. */
export function objectKey(object: Pick<CatalogObject, "kind" | "identity">): string {
  return `${object.kind} ${object.identity}`;
}

/**
 * Reads the fingerprint of the database behind `database`, in a read-only transaction of a
 * session no migration ran in (nothing a migration did to its own session changes what is read).
 */
export function readCatalogFingerprint(database: ScratchDatabase): Promise<CatalogFingerprint> {
  return database.inspect(async (session) => {
    await session.run("begin transaction read only");
    try {
      await session.run(CATALOG_SEARCH_PATH_SQL);
      const rows = await session.run(CATALOG_FINGERPRINT_SQL);
      return fingerprintFromRows(rows);
    } finally {
      await session.run("rollback");
    }
  });
}

const KIND_ORDER = new Map<string, number>(OBJECT_KINDS.map((kind, index) => [kind, index]));

/**
 * The fingerprint of the rows {@link CATALOG_FINGERPRINT_SQL} returned, checked and ordered.
 * The order is by kind (as {@link OBJECT_KINDS}), then by identity compared as code points, so it
 * depends on neither the database's collation nor the order Postgres returned the rows in.
 */
export function fingerprintFromRows(
  rows: readonly Readonly<Record<string, unknown>>[],
): CatalogFingerprint {
  const objects = rows.map(objectOf);
  objects.sort(compareObjects);
  for (let i = 1; i < objects.length; i++) {
    const previous = objects[i - 1] as CatalogObject;
    const current = objects[i] as CatalogObject;
    if (compareObjects(previous, current) === 0) {
      // Two objects under one name would make a difference between them unnameable.
      throw new Error(`The catalog query returned ${objectKey(current)} twice.`);
    }
  }
  return { objects };
}

export function compareObjects(a: CatalogObject, b: CatalogObject): number {
  const byKind = (KIND_ORDER.get(a.kind) ?? 0) - (KIND_ORDER.get(b.kind) ?? 0);
  if (byKind !== 0) return byKind;
  return a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0;
}

function objectOf(row: Readonly<Record<string, unknown>>): CatalogObject {
  const { kind, identity, parent, attributes } = row;
  if (typeof kind !== "string" || !KIND_ORDER.has(kind)) {
    throw new Error(`The catalog query returned an unknown kind of object: ${String(kind)}.`);
  }
  if (typeof identity !== "string" || identity === "") {
    throw new Error(`The catalog query returned a ${kind} without a name.`);
  }
  if (parent !== null && typeof parent !== "string") {
    throw new Error(`The catalog query returned ${kind} ${identity} with a malformed parent.`);
  }
  if (typeof attributes !== "object" || attributes === null || Array.isArray(attributes)) {
    throw new Error(`The catalog query returned ${kind} ${identity} without its attributes.`);
  }
  const checked: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(attributes)) {
    checked[name] = attributeOf(value, `${kind} ${identity}`, name);
  }
  return { kind: kind as ObjectKind, identity, parent, attributes: checked };
}

function attributeOf(value: unknown, object: string, name: string): AttributeValue {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) {
    return value as string[];
  }
  throw new Error(`The catalog query returned a malformed ${name} for ${object}.`);
}
