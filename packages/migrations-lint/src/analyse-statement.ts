import type { TableLockMode } from "@studio/migrations-core";
import type {
  Constraint,
  CreateStmt,
  DropStmt,
  IndexStmt,
  Node,
  ReindexStmt,
  RenameStmt,
  VacuumStmt,
} from "libpg-query";
import { analyseAlterTable } from "./alter-table.ts";
import { lockModeOfNumber } from "./lock-modes.ts";
import { constantText, constraintsOf, rangeVars } from "./parse-tree.ts";
import { namesRef, type RelationRef, rangeVarRef, sibling, stringsOf } from "./relation-names.ts";
import type { LintRuleId } from "./rules.ts";
import type { RelationView, RunState } from "./run-state.ts";
import { visitNodes } from "./volatility.ts";

/** Where a statement runs, which decides what it may do and how long its locks last. */
export interface StatementContext {
  readonly state: RunState;
  /** Whether the migration runs in one transaction (`transaction:false` not given). */
  readonly transactional: boolean;
  /** Whether the statement is one inside a DO block. */
  readonly inDoBlock: boolean;
}

/** A rule's catch in one statement. `message` is given the table as a finding names it (with its size). */
export interface Hit {
  readonly rule: LintRuleId;
  readonly relation: RelationView | null;
  readonly lock: TableLockMode | null;
  readonly message: (relation: string) => string;
}

/** A lock the statement takes on a relation that is there before it. */
export interface TakenLock {
  readonly relation: RelationView;
  readonly mode: TableLockMode;
}

/** A statement setting lock_timeout: its value (null when turned off), and whether only for the transaction. */
export interface LockTimeoutSetting {
  readonly value: string | null;
  readonly local: boolean;
}

export interface StatementAnalysis {
  readonly hits: readonly Hit[];
  readonly locks: readonly TakenLock[];
  readonly lockTimeout: LockTimeoutSetting | null;
}

/** What an analysis of one statement offers the parts that read a kind of statement (alter-table.ts). */
export interface StatementScope {
  readonly state: RunState;
  /** How long a lock taken now is held, as the end of a sentence. */
  readonly held: string;
  readonly locks: TakenLock[];
  hit(
    rule: LintRuleId,
    relation: RelationView | null,
    lock: TableLockMode | null,
    message: (relation: string) => string,
  ): void;
  /** Records a lock on a relation; returns the relation as it stands before the statement. */
  lock(ref: RelationRef, mode: TableLockMode): RelationView;
  /** The referenced table of a foreign key, locked SHARE ROW EXCLUSIVE; null for another constraint. */
  referenced(constraint: Constraint, of: RelationRef): RelationView | null;
  concurrentlyInTransaction(what: string): void;
}

/**
 * What one statement risks, the locks it takes on relations that are there before it, and what it
 * changes in the run's picture of the schema (applied to `context.state` before returning: a later
 * statement sees this one's tables as new).
 */
export function analyseStatement(node: Node, context: StatementContext): StatementAnalysis {
  const analysis = new Analysis(context);
  analysis.statement(node);
  return { hits: analysis.hits, locks: analysis.locks, lockTimeout: analysis.lockTimeout };
}

class Analysis implements StatementScope {
  readonly hits: Hit[] = [];
  readonly locks: TakenLock[] = [];
  lockTimeout: LockTimeoutSetting | null = null;
  readonly state: RunState;

  constructor(private readonly context: StatementContext) {
    this.state = context.state;
  }

  /** How long a lock taken now is held, as the end of a sentence. */
  get held(): string {
    if (this.context.transactional) return "until the migration commits";
    return this.context.inDoBlock ? "until the block's transaction ends" : "while it runs";
  }

  hit(
    rule: LintRuleId,
    relation: RelationView | null,
    lock: TableLockMode | null,
    message: (relation: string) => string,
  ): void {
    this.hits.push({ rule, relation, lock, message });
  }

  /** Records a lock on a relation; returns the relation as it stands before the statement. */
  lock(ref: RelationRef, mode: TableLockMode): RelationView {
    const view = this.state.view(ref);
    if (view.existence === "existing") this.locks.push({ relation: view, mode });
    return view;
  }

  statement(node: Node): void {
    if ("IndexStmt" in node) this.createIndex(node.IndexStmt);
    else if ("AlterTableStmt" in node) analyseAlterTable(this, node.AlterTableStmt);
    else if ("RenameStmt" in node) this.rename(node.RenameStmt);
    else if ("DropStmt" in node) this.drop(node.DropStmt);
    else if ("CreateStmt" in node) this.createTable(node.CreateStmt);
    else if ("TruncateStmt" in node) {
      for (const ref of rangeVars(node.TruncateStmt.relations)) {
        const view = this.lock(ref, "ACCESS EXCLUSIVE");
        if (view.existence !== "existing") continue;
        this.hit(
          "truncate",
          view,
          "ACCESS EXCLUSIVE",
          (table) =>
            `TRUNCATE deletes every row of ${table} at once, and locks it ACCESS EXCLUSIVE ${this.held}: nothing can read or write it meanwhile.`,
        );
      }
    } else if ("LockStmt" in node) {
      const mode = lockModeOfNumber(node.LockStmt.mode);
      for (const ref of rangeVars(node.LockStmt.relations)) {
        const view = this.lock(ref, mode);
        if (view.existence !== "existing") continue;
        this.hit("lock-table", view, mode, (table) =>
          !this.context.transactional && !this.context.inDoBlock
            ? `LOCK TABLE ${table} outside a transaction block fails: PostgreSQL allows LOCK TABLE only in a transaction, and this migration runs statement by statement (transaction:false).`
            : `LOCK TABLE ${table} IN ${mode} MODE holds that lock ${this.held}: everything that conflicts with it waits for the rest of the ${this.context.inDoBlock ? "block's transaction" : "migration"}.`,
        );
      }
    } else if ("VacuumStmt" in node) this.vacuum(node.VacuumStmt);
    else if ("ClusterStmt" in node) {
      const ref = rangeVarRef(node.ClusterStmt.relation);
      if (ref === null) {
        this.hit(
          "rewrite-table",
          null,
          "ACCESS EXCLUSIVE",
          () =>
            "CLUSTER without a table rewrites every table clustered before, one after another, each under ACCESS EXCLUSIVE: reads and writes of each wait for its copy.",
        );
      } else {
        const view = this.lock(ref, "ACCESS EXCLUSIVE");
        if (view.existence === "existing") {
          this.hit(
            "rewrite-table",
            view,
            "ACCESS EXCLUSIVE",
            (table) =>
              `CLUSTER rewrites ${table} in index order under ACCESS EXCLUSIVE ${this.held}: reads and writes wait for the whole copy.`,
          );
        }
      }
    } else if ("ReindexStmt" in node) this.reindex(node.ReindexStmt);
    else if ("CreateTableAsStmt" in node) {
      const into = rangeVarRef(node.CreateTableAsStmt.into?.rel);
      if (into !== null) this.state.created(into, node.CreateTableAsStmt.if_not_exists === true);
    } else if ("ViewStmt" in node) {
      const view = rangeVarRef(node.ViewStmt.view);
      if (view !== null) this.state.created(view);
    } else if ("CreateSeqStmt" in node) {
      const sequence = rangeVarRef(node.CreateSeqStmt.sequence);
      if (sequence !== null)
        this.state.created(sequence, node.CreateSeqStmt.if_not_exists === true);
    } else if ("CreateTrigStmt" in node) {
      const ref = rangeVarRef(node.CreateTrigStmt.relation);
      if (ref !== null) this.lock(ref, "SHARE ROW EXCLUSIVE");
    } else if ("CreatePolicyStmt" in node || "AlterPolicyStmt" in node) {
      const ref = rangeVarRef(
        "CreatePolicyStmt" in node ? node.CreatePolicyStmt.table : node.AlterPolicyStmt.table,
      );
      if (ref !== null) this.lock(ref, "ACCESS EXCLUSIVE");
    } else if ("RuleStmt" in node) {
      const ref = rangeVarRef(node.RuleStmt.relation);
      if (ref !== null) this.lock(ref, "ACCESS EXCLUSIVE");
    } else if ("RefreshMatViewStmt" in node) {
      const ref = rangeVarRef(node.RefreshMatViewStmt.relation);
      if (ref !== null) {
        this.lock(ref, node.RefreshMatViewStmt.concurrent ? "EXCLUSIVE" : "ACCESS EXCLUSIVE");
      }
    } else if ("CommentStmt" in node) {
      const { objtype, object } = node.CommentStmt;
      const names = object !== undefined && "List" in object ? object.List.items : undefined;
      // COMMENT ON takes SHARE UPDATE EXCLUSIVE on the table it describes.
      const ref =
        objtype === "OBJECT_TABLE"
          ? namesRef(names)
          : objtype === "OBJECT_COLUMN"
            ? namesRef(names?.slice(0, -1))
            : null;
      if (ref !== null) this.lock(ref, "SHARE UPDATE EXCLUSIVE");
    } else if (
      "InsertStmt" in node ||
      "UpdateStmt" in node ||
      "DeleteStmt" in node ||
      "MergeStmt" in node
    ) {
      const target =
        "InsertStmt" in node
          ? node.InsertStmt.relation
          : "UpdateStmt" in node
            ? node.UpdateStmt.relation
            : "DeleteStmt" in node
              ? node.DeleteStmt.relation
              : node.MergeStmt.relation;
      const ref = rangeVarRef(target);
      const view = ref === null ? null : this.lock(ref, "ROW EXCLUSIVE");
      const everyRow =
        ("UpdateStmt" in node && node.UpdateStmt.whereClause === undefined) ||
        ("DeleteStmt" in node && node.DeleteStmt.whereClause === undefined);
      if (everyRow && view?.existence === "existing") {
        const verb = "UpdateStmt" in node ? "UPDATE" : "DELETE";
        this.hit(
          "full-table-update",
          view,
          "ROW EXCLUSIVE",
          (name) =>
            `${verb} without WHERE changes every row of ${name} in one statement: each changed row stays locked ${this.held} (writers of any of them wait), and every row leaves a dead copy behind until vacuum.`,
        );
      }
      this.setConfigCalls(node);
    } else if ("CreateFunctionStmt" in node) {
      const { funcname, options, is_procedure } = node.CreateFunctionStmt;
      const name = stringsOf(funcname).at(-1);
      if (name !== undefined && is_procedure !== true) {
        let volatility: "volatile" | "stable" | "immutable" = "volatile";
        for (const option of options ?? []) {
          if (!("DefElem" in option) || option.DefElem.defname !== "volatility") continue;
          const value = option.DefElem.arg;
          const said = value !== undefined && "String" in value ? value.String.sval : undefined;
          if (said === "stable" || said === "immutable" || said === "volatile") volatility = said;
        }
        this.state.declareFunction(name, volatility);
      }
    } else if ("VariableSetStmt" in node) {
      const { name, kind, args, is_local } = node.VariableSetStmt;
      if (name === "lock_timeout") {
        const value = kind === "VAR_SET_VALUE" ? constantText(args?.[0]) : null;
        this.lockTimeout = { value: timeoutValue(value), local: is_local === true };
      }
    } else {
      this.setConfigCalls(node);
    }
  }

  /** `set_config('lock_timeout', value, is_local)` anywhere in the statement (SELECT, PERFORM). */
  private setConfigCalls(node: Node): void {
    visitNodes(node, (inner) => {
      if (!("FuncCall" in inner)) return;
      const name = stringsOf(inner.FuncCall.funcname).at(-1)?.toLowerCase();
      const [setting, value, local] = inner.FuncCall.args ?? [];
      if (name !== "set_config" || constantText(setting) !== "lock_timeout") return;
      const localText = constantText(local);
      this.lockTimeout = {
        value: timeoutValue(constantText(value)),
        local: localText === "true" || localText === "t" || localText === "on",
      };
    });
  }

  concurrentlyInTransaction(what: string): void {
    if (!this.context.inDoBlock && !this.context.transactional) return;
    this.hit("concurrently-in-transaction", null, null, () =>
      this.context.inDoBlock
        ? `${what} cannot run inside a DO block: PostgreSQL refuses it in a function or transaction block, so the migration fails.`
        : `${what} cannot run in a transactional migration: PostgreSQL refuses it inside a transaction block, so the migration fails. Mark the migration -- migrate:up transaction:false.`,
    );
  }

  private createIndex(statement: IndexStmt): void {
    const table = rangeVarRef(statement.relation);
    if (table === null) return;
    const concurrent = statement.concurrent === true;
    const mode: TableLockMode = concurrent ? "SHARE UPDATE EXCLUSIVE" : "SHARE";
    const view = this.lock(table, mode);
    if (concurrent) this.concurrentlyInTransaction("CREATE INDEX CONCURRENTLY");
    const index = statement.idxname === undefined ? null : sibling(table, statement.idxname);
    // CREATE INDEX IF NOT EXISTS of an index that is there builds nothing.
    const noop =
      statement.if_not_exists === true && index !== null && this.state.knownToExist(index);
    if (!concurrent && !noop && view.existence === "existing") {
      this.hit(
        "index-not-concurrent",
        view,
        mode,
        (name) =>
          `CREATE INDEX without CONCURRENTLY locks ${name} SHARE ${this.held}: every INSERT, UPDATE and DELETE on it waits while the index is built.`,
      );
    }
    if (index !== null) this.state.created(index, statement.if_not_exists === true);
  }

  private createTable(statement: CreateStmt): void {
    const table = rangeVarRef(statement.relation);
    if (table === null) return;
    // Creating a table locks what it references (SHARE ROW EXCLUSIVE, for the foreign key's
    // triggers) and a partitioned parent (ACCESS EXCLUSIVE), though it scans neither.
    for (const element of statement.tableElts ?? []) {
      if ("ColumnDef" in element) {
        for (const constraint of constraintsOf(element.ColumnDef.constraints)) {
          this.referenced(constraint, table);
        }
      } else if ("Constraint" in element) {
        this.referenced(element.Constraint, table);
      }
    }
    if (statement.partbound !== undefined) {
      for (const parent of rangeVars(statement.inhRelations)) this.lock(parent, "ACCESS EXCLUSIVE");
    }
    this.state.created(table, statement.if_not_exists === true);
  }

  /** The referenced table of a foreign key, locked SHARE ROW EXCLUSIVE; null for another constraint. */
  referenced(constraint: Constraint, of: RelationRef): RelationView | null {
    if (constraint.contype !== "CONSTR_FOREIGN") return null;
    const target = rangeVarRef(constraint.pktable);
    if (target === null || target.key === of.key) return null;
    return this.lock(target, "SHARE ROW EXCLUSIVE");
  }

  private rename(statement: RenameStmt): void {
    const ref = rangeVarRef(statement.relation);
    if (ref === null) return;
    const view = this.lock(ref, "ACCESS EXCLUSIVE");
    const existing = view.existence === "existing";
    switch (statement.renameType) {
      case "OBJECT_TABLE":
        if (existing) {
          this.hit(
            "rename-table",
            view,
            "ACCESS EXCLUSIVE",
            (name) =>
              `RENAME TO ${statement.newname ?? ""}: code still using the name ${name} (the application version running during the deploy) fails.`,
          );
        }
        break;
      case "OBJECT_COLUMN":
        if (existing && statement.relationType === "OBJECT_TABLE") {
          this.hit(
            "rename-column",
            view,
            "ACCESS EXCLUSIVE",
            (name) =>
              `RENAME COLUMN ${statement.subname ?? ""} TO ${statement.newname ?? ""} on ${name}: code still using the old name (the application version running during the deploy) fails.`,
          );
        }
        return;
      case "OBJECT_INDEX":
      case "OBJECT_VIEW":
      case "OBJECT_MATVIEW":
      case "OBJECT_SEQUENCE":
      case "OBJECT_FOREIGN_TABLE":
        break;
      default:
        return;
    }
    if (statement.newname !== undefined) this.state.renamed(ref, statement.newname);
  }

  private drop(statement: DropStmt): void {
    const kind = statement.removeType;
    const relationKinds = [
      "OBJECT_TABLE",
      "OBJECT_INDEX",
      "OBJECT_VIEW",
      "OBJECT_MATVIEW",
      "OBJECT_SEQUENCE",
      "OBJECT_FOREIGN_TABLE",
    ];
    if (kind === undefined || !relationKinds.includes(kind)) return;
    const concurrent = statement.concurrent === true;
    if (concurrent) this.concurrentlyInTransaction("DROP INDEX CONCURRENTLY");
    for (const object of statement.objects ?? []) {
      const ref = "List" in object ? namesRef(object.List.items) : null;
      if (ref === null) continue;
      const view = this.lock(ref, concurrent ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE");
      if (kind === "OBJECT_TABLE" && view.existence === "existing") {
        this.hit(
          "drop-table",
          view,
          "ACCESS EXCLUSIVE",
          (name) =>
            `DROP TABLE ${name} deletes it and its data: code still using it (the application version running during the deploy) fails.`,
        );
      }
      this.state.dropped(ref);
    }
  }

  private vacuum(statement: VacuumStmt): void {
    const full =
      statement.is_vacuumcmd === true &&
      (statement.options ?? []).some(
        (option) =>
          "DefElem" in option && option.DefElem.defname === "full" && optionOn(option.DefElem.arg),
      );
    const refs: RelationRef[] = [];
    for (const item of statement.rels ?? []) {
      const ref = "VacuumRelation" in item ? rangeVarRef(item.VacuumRelation.relation) : null;
      if (ref !== null) refs.push(ref);
    }
    const mode: TableLockMode = full ? "ACCESS EXCLUSIVE" : "SHARE UPDATE EXCLUSIVE";
    if (full && refs.length === 0) {
      this.hit(
        "rewrite-table",
        null,
        mode,
        () =>
          "VACUUM FULL without a table rewrites every table of the database, one after another, each under ACCESS EXCLUSIVE: reads and writes of each wait for its copy.",
      );
    }
    for (const ref of refs) {
      const view = this.lock(ref, mode);
      if (full && view.existence === "existing") {
        this.hit(
          "rewrite-table",
          view,
          mode,
          (name) =>
            `VACUUM FULL rewrites ${name} under ACCESS EXCLUSIVE ${this.held}: reads and writes wait for the whole copy.`,
        );
      }
    }
  }

  private reindex(statement: ReindexStmt): void {
    const concurrent = (statement.params ?? []).some(
      (param) =>
        "DefElem" in param &&
        param.DefElem.defname === "concurrently" &&
        optionOn(param.DefElem.arg),
    );
    if (concurrent) this.concurrentlyInTransaction("REINDEX CONCURRENTLY");
    const ref = rangeVarRef(statement.relation);
    if (ref === null) {
      if (!concurrent) {
        const scope =
          statement.kind === "REINDEX_OBJECT_SCHEMA"
            ? `schema ${statement.name ?? ""}`
            : statement.kind === "REINDEX_OBJECT_SYSTEM"
              ? "the system catalogs"
              : "the database";
        this.hit(
          "reindex-not-concurrent",
          null,
          "SHARE",
          () =>
            `REINDEX without CONCURRENTLY rebuilds every index of ${scope}, each table's writes waiting while its indexes are rebuilt, and reads using an index waiting for it.`,
        );
      }
      return;
    }
    const onIndex = statement.kind === "REINDEX_OBJECT_INDEX";
    const mode: TableLockMode = concurrent
      ? "SHARE UPDATE EXCLUSIVE"
      : onIndex
        ? "ACCESS EXCLUSIVE"
        : "SHARE";
    const view = this.lock(ref, mode);
    if (!concurrent && view.existence === "existing") {
      this.hit("reindex-not-concurrent", view, mode, (name) =>
        onIndex
          ? `REINDEX INDEX ${name} without CONCURRENTLY locks the index ACCESS EXCLUSIVE and its table SHARE ${this.held}: writes to the table, and reads that would use the index, wait for the rebuild.`
          : `REINDEX TABLE ${name} without CONCURRENTLY locks it SHARE ${this.held}: writes wait while every index is rebuilt, and so do reads that would use the index being rebuilt.`,
      );
    }
  }
}

/** A lock_timeout as set: null when off (`0`, or not a constant the lint can read). */
function timeoutValue(text: string | null): string | null {
  if (text === null) return null;
  const trimmed = text.trim();
  if (/^0+(?:\.0*)?\s*(?:ms|s|min|h|d)?$/i.test(trimmed)) return null;
  return /^\d+(?:\.\d+)?$/.test(trimmed) ? `${trimmed}ms` : trimmed;
}

/** An option's value: on unless it says false, off or 0 (`FULL` alone is on). */
function optionOn(arg: Node | undefined): boolean {
  if (arg === undefined) return true;
  if ("Boolean" in arg) return arg.Boolean.boolval === true;
  const text = "String" in arg ? arg.String.sval : constantText(arg);
  return !(text === "false" || text === "off" || text === "0");
}
