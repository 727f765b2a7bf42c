import type { TableLockMode } from "@studio/migrations-core";
import type {
  AlterTableCmd,
  AlterTableStmt,
  ColumnDef,
  Constraint,
  Node,
  TypeName,
} from "libpg-query";
import type { StatementScope } from "./analyse-statement.ts";
import { strongerLockMode } from "./lock-modes.ts";
import { constantText, constraintsOf } from "./parse-tree.ts";
import { type RelationRef, rangeVarRef, stringsOf } from "./relation-names.ts";
import type { LintRuleId } from "./rules.ts";
import { defaultVolatility } from "./volatility.ts";

/**
 * ALTER TABLE: each action's risk on a live table — a rewrite, a scan under a lock, a column
 * code still uses — and the lock the whole statement takes (the strongest any action needs, as
 * PostgreSQL's AlterTableGetLockLevel decides it).
 */

export function analyseAlterTable(scope: StatementScope, statement: AlterTableStmt): void {
  const table = rangeVarRef(statement.relation);
  if (table === null) return;
  const onTable =
    statement.objtype === "OBJECT_TABLE" ||
    statement.objtype === "OBJECT_MATVIEW" ||
    statement.objtype === "OBJECT_FOREIGN_TABLE";
  const view = scope.state.view(table);
  const existing = onTable && view.existence === "existing";
  const found: { rule: LintRuleId; message: (name: string) => string }[] = [];
  let mode: TableLockMode = "ACCESS SHARE";
  for (const item of statement.cmds ?? []) {
    if (!("AlterTableCmd" in item)) continue;
    const command = item.AlterTableCmd;
    mode = strongerLockMode(mode, alterCommand(scope, command, table, existing, found));
  }
  if (view.existence === "existing") scope.locks.push({ relation: view, mode });
  for (const { rule, message } of found) scope.hit(rule, view, mode, message);
}

/** One ALTER TABLE action: its findings into `found`; returns the lock it needs on the table. */
function alterCommand(
  scope: StatementScope,
  command: AlterTableCmd,
  table: RelationRef,
  existing: boolean,
  found: { rule: LintRuleId; message: (name: string) => string }[],
): TableLockMode {
  const add = (rule: LintRuleId, message: (name: string) => string) => {
    if (existing) found.push({ rule, message });
  };
  const column = command.name ?? "";
  const definition = command.def;
  switch (command.subtype) {
    case "AT_AddColumn":
      if (definition !== undefined && "ColumnDef" in definition) {
        addColumn(scope, definition.ColumnDef, table, add);
      }
      return "ACCESS EXCLUSIVE";
    case "AT_AddConstraint":
      if (definition !== undefined && "Constraint" in definition) {
        return addConstraint(scope, definition.Constraint, table, add);
      }
      return "ACCESS EXCLUSIVE";
    case "AT_ValidateConstraint":
      scope.state.constraintValidated(table, column);
      return "SHARE UPDATE EXCLUSIVE";
    case "AT_SetNotNull":
      if (!scope.state.provesNotNull(table, column)) {
        add(
          "not-null-without-check",
          (name) =>
            `SET NOT NULL on column ${column} of ${name} scans every row under ACCESS EXCLUSIVE ${scope.held}: reads and writes wait for the scan. No validated CHECK (${column} IS NOT NULL) added before it proves the column has no NULL.`,
        );
      }
      return "ACCESS EXCLUSIVE";
    case "AT_AlterColumnType":
      if (definition !== undefined && "ColumnDef" in definition) {
        const type = typeText(definition.ColumnDef.typeName);
        const using = definition.ColumnDef.raw_default !== undefined;
        add(
          "alter-column-type",
          (name) =>
            `SET DATA TYPE ${type} on column ${column} of ${name}${using ? " USING an expression" : ""} rewrites the table and rebuilds its indexes under ACCESS EXCLUSIVE ${scope.held}: reads and writes wait for the whole rewrite${coercibleNote(definition.ColumnDef.typeName, using)}.`,
        );
      }
      return "ACCESS EXCLUSIVE";
    case "AT_DropColumn":
      add(
        "drop-column",
        (name) =>
          `DROP COLUMN ${column} removes it and its data from ${name}: code still reading or writing it (the application version running during the deploy) fails.`,
      );
      return "ACCESS EXCLUSIVE";
    case "AT_SetTableSpace":
      add(
        "rewrite-table",
        (name) =>
          `SET TABLESPACE copies ${name} to tablespace ${column} under ACCESS EXCLUSIVE ${scope.held}: reads and writes wait for the whole copy.`,
      );
      return "ACCESS EXCLUSIVE";
    case "AT_SetLogged":
    case "AT_SetUnLogged":
      add(
        "rewrite-table",
        (name) =>
          `SET ${command.subtype === "AT_SetLogged" ? "LOGGED" : "UNLOGGED"} rewrites ${name} under ACCESS EXCLUSIVE ${scope.held}: reads and writes wait for the whole rewrite.`,
      );
      return "ACCESS EXCLUSIVE";
    case "AT_SetAccessMethod":
      add(
        "rewrite-table",
        (name) =>
          `SET ACCESS METHOD rewrites ${name} under ACCESS EXCLUSIVE ${scope.held}: reads and writes wait for the whole rewrite.`,
      );
      return "ACCESS EXCLUSIVE";
    case "AT_DetachPartition": {
      const concurrent =
        definition !== undefined &&
        "PartitionCmd" in definition &&
        definition.PartitionCmd.concurrent === true;
      if (concurrent) scope.concurrentlyInTransaction("DETACH PARTITION CONCURRENTLY");
      return concurrent ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE";
    }
    case "AT_AttachPartition":
    case "AT_DetachPartitionFinalize":
    case "AT_SetStatistics":
    case "AT_SetOptions":
    case "AT_ResetOptions":
    case "AT_ClusterOn":
    case "AT_DropCluster":
    case "AT_SetRelOptions":
    case "AT_ResetRelOptions":
      return "SHARE UPDATE EXCLUSIVE";
    case "AT_EnableTrig":
    case "AT_EnableAlwaysTrig":
    case "AT_EnableReplicaTrig":
    case "AT_DisableTrig":
    case "AT_EnableTrigAll":
    case "AT_DisableTrigAll":
    case "AT_EnableTrigUser":
    case "AT_DisableTrigUser":
      return "SHARE ROW EXCLUSIVE";
    default:
      return "ACCESS EXCLUSIVE";
  }
}

function addColumn(
  scope: StatementScope,
  column: ColumnDef,
  table: RelationRef,
  add: (rule: LintRuleId, message: (name: string) => string) => void,
): void {
  const name = column.colname ?? "";
  const constraints = constraintsOf(column.constraints);
  const defaultExpression =
    constraints.find((c) => c.contype === "CONSTR_DEFAULT")?.raw_expr ?? column.raw_default;
  const identity = constraints.some((c) => c.contype === "CONSTR_IDENTITY");
  const stored = constraints.some(
    (c) => c.contype === "CONSTR_GENERATED" && c.generated_kind !== "v",
  );
  const typeName = stringsOf(column.typeName?.names).at(-1)?.toLowerCase() ?? "";
  const serial = SERIAL_TYPES.has(typeName);

  let volatile: string | null = null;
  let unknown: string | null = null;
  if (serial) volatile = `nextval() (a ${typeName} column)`;
  else if (identity) volatile = "the next value of its identity sequence";
  else if (stored) volatile = "its generation expression (a STORED generated column)";
  else if (defaultExpression !== undefined) {
    const verdict = defaultVolatility(defaultExpression, scope.state.knownFunctions);
    if (verdict.kind === "volatile") volatile = verdict.function;
    else if (verdict.kind === "unknown") unknown = verdict.function;
  }
  if (volatile !== null) {
    add(
      "add-column-volatile-default",
      (relation) =>
        `ADD COLUMN ${name} gives every existing row of ${relation} its own value of ${volatile}: the table is rewritten under ACCESS EXCLUSIVE ${scope.held}, reads and writes wait for the whole rewrite.`,
    );
  } else if (unknown !== null) {
    add(
      "add-column-volatile-default",
      (relation) =>
        `ADD COLUMN ${name} has a default calling ${unknown}, which the lint cannot see (PostgreSQL makes a function VOLATILE unless it says otherwise): if it is volatile, every existing row of ${relation} gets its own value and the table is rewritten under ACCESS EXCLUSIVE ${scope.held}. If it is STABLE or IMMUTABLE, accept it with -- lint:ignore add-column-volatile-default.`,
    );
  }
  const notNull = constraints.some(
    (c) => c.contype === "CONSTR_NOTNULL" || c.contype === "CONSTR_PRIMARY",
  );
  if (notNull && defaultExpression === undefined && !identity && !serial && !stored) {
    add(
      "add-column-not-null-without-default",
      (relation) =>
        `ADD COLUMN ${name} NOT NULL without a default: every existing row of ${relation} would hold NULL, so the statement fails unless the table is empty (after checking it under ACCESS EXCLUSIVE).`,
    );
  }
  for (const constraint of constraints) {
    if (constraint.contype === "CONSTR_CHECK") {
      add(
        "check-not-valid",
        (relation) =>
          `ADD COLUMN ${name} with a CHECK checks every existing row of ${relation} under ACCESS EXCLUSIVE ${scope.held} (a column constraint cannot be NOT VALID): reads and writes wait for the scan.`,
      );
    } else if (constraint.contype === "CONSTR_FOREIGN") {
      const target = scope.referenced(constraint, table);
      add(
        "foreign-key-not-valid",
        (relation) =>
          `ADD COLUMN ${name} REFERENCES ${target?.display ?? rangeVarRef(constraint.pktable)?.key ?? "another table"} checks every existing row of ${relation} while holding its lock ${scope.held} (a column constraint cannot be NOT VALID): add the column, then the foreign key NOT VALID, then VALIDATE it.`,
      );
    } else if (constraint.contype === "CONSTR_UNIQUE" || constraint.contype === "CONSTR_PRIMARY") {
      add(
        "unique-without-index",
        (relation) =>
          `ADD COLUMN ${name} ${constraint.contype === "CONSTR_PRIMARY" ? "PRIMARY KEY" : "UNIQUE"} builds a unique index on ${relation} under ACCESS EXCLUSIVE ${scope.held}: reads and writes wait for the whole build.`,
      );
    }
  }
}

/** ADD CONSTRAINT: its findings, and the lock it needs. */
function addConstraint(
  scope: StatementScope,
  constraint: Constraint,
  table: RelationRef,
  add: (rule: LintRuleId, message: (name: string) => string) => void,
): TableLockMode {
  const validated = constraint.skip_validation !== true;
  const label = constraint.conname === undefined ? "" : ` ${constraint.conname}`;
  switch (constraint.contype) {
    case "CONSTR_FOREIGN": {
      const target = scope.referenced(constraint, table);
      if (validated) {
        const other =
          target?.display ?? rangeVarRef(constraint.pktable)?.key ?? "the referenced table";
        add(
          "foreign-key-not-valid",
          (relation) =>
            `ADD CONSTRAINT${label} FOREIGN KEY without NOT VALID checks every existing row of ${relation} while holding SHARE ROW EXCLUSIVE on it and on ${other} ${scope.held}: writes to both wait for the whole scan.`,
        );
      }
      return "SHARE ROW EXCLUSIVE";
    }
    case "CONSTR_CHECK": {
      const column = notNullCheckColumn(constraint.raw_expr);
      if (column !== null) {
        scope.state.notNullCheckAdded(table, column, constraint.conname ?? null, validated);
      }
      if (validated) {
        add(
          "check-not-valid",
          (relation) =>
            `ADD CONSTRAINT${label} CHECK without NOT VALID checks every existing row of ${relation} under ACCESS EXCLUSIVE ${scope.held}: reads and writes wait for the whole scan.`,
        );
      }
      return "ACCESS EXCLUSIVE";
    }
    case "CONSTR_PRIMARY":
    case "CONSTR_UNIQUE":
    case "CONSTR_EXCLUSION":
      if (constraint.indexname === undefined) {
        const kind =
          constraint.contype === "CONSTR_PRIMARY"
            ? "PRIMARY KEY"
            : constraint.contype === "CONSTR_UNIQUE"
              ? "UNIQUE"
              : "EXCLUDE";
        add(
          "unique-without-index",
          (relation) =>
            `ADD CONSTRAINT${label} ${kind} builds its index on ${relation} under ACCESS EXCLUSIVE ${scope.held}: reads and writes wait for the whole build${kind === "EXCLUDE" ? "" : " (build it CONCURRENTLY first, then add the constraint USING INDEX)"}.`,
        );
      }
      return "ACCESS EXCLUSIVE";
    case "CONSTR_NOTNULL": {
      const column = stringsOf(constraint.keys)[0] ?? "";
      if (validated && !scope.state.provesNotNull(table, column)) {
        add(
          "not-null-without-check",
          (relation) =>
            `ADD CONSTRAINT${label} NOT NULL ${column} scans every row of ${relation} under ACCESS EXCLUSIVE ${scope.held}: reads and writes wait for the scan. No validated CHECK (${column} IS NOT NULL) added before it proves the column has no NULL.`,
        );
      }
      return "ACCESS EXCLUSIVE";
    }
    default:
      return "ACCESS EXCLUSIVE";
  }
}

const SERIAL_TYPES = new Set([
  "serial",
  "serial4",
  "bigserial",
  "serial8",
  "smallserial",
  "serial2",
]);

/** The column of `CHECK (col IS NOT NULL)`, or null for another expression. */
function notNullCheckColumn(expression: Node | undefined): string | null {
  if (expression === undefined || !("NullTest" in expression)) return null;
  const { arg, nulltesttype } = expression.NullTest;
  if (nulltesttype !== "IS_NOT_NULL" || arg === undefined || !("ColumnRef" in arg)) return null;
  const fields = stringsOf(arg.ColumnRef.fields);
  return fields.length === 1 ? (fields[0] ?? null) : null;
}

/** A type as SQL writes it: `varchar(20)`, `numeric(10,2)`, `text`. */
function typeText(type: TypeName | undefined): string {
  const names = stringsOf(type?.names);
  const base = names.length === 2 && names[0] === "pg_catalog" ? (names[1] ?? "") : names.join(".");
  const shown = BUILTIN_NAMES[base] ?? base;
  const modifiers = (type?.typmods ?? []).map((modifier) => constantText(modifier) ?? "…");
  const array = (type?.arrayBounds ?? []).map(() => "[]").join("");
  return `${shown}${modifiers.length > 0 ? `(${modifiers.join(",")})` : ""}${array}`;
}

const BUILTIN_NAMES: Readonly<Record<string, string>> = {
  int2: "smallint",
  int4: "integer",
  int8: "bigint",
  float4: "real",
  float8: "double precision",
  bool: "boolean",
  bpchar: "char",
  timestamptz: "timestamptz",
};

/** When the new type may be a change PostgreSQL makes without a rewrite, the cases in which it is. */
function coercibleNote(type: TypeName | undefined, using: boolean): string {
  if (using) return "";
  const names = stringsOf(type?.names);
  const base = names.at(-1) ?? "";
  if (base === "varchar" || base === "text") {
    return ", unless it only widens a varchar or text column (varchar(n) → varchar(m ≥ n), varchar → text, dropping the limit), which changes the catalog only — then accept it with -- lint:ignore alter-column-type";
  }
  if (base === "numeric") {
    return ", unless it only widens a numeric column (numeric(p, s) → numeric(p′ ≥ p, s), or dropping the limit), which changes the catalog only — then accept it with -- lint:ignore alter-column-type";
  }
  if (base === "varbit") {
    return ", unless it only widens a bit varying column, which changes the catalog only — then accept it with -- lint:ignore alter-column-type";
  }
  if (base === "timestamptz") {
    return "; from timestamp, PostgreSQL 12+ does not rewrite when the session's TimeZone is UTC — then accept it with -- lint:ignore alter-column-type";
  }
  return "";
}
