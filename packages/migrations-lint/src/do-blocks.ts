import type { DoStmt, Node } from "libpg-query";
import { SqlError } from "libpg-query";
import type { SourceText } from "./source-text.ts";
import type { Parse } from "./statements.ts";

/**
 * What the lint can see inside a `DO` block. PostgreSQL's parser keeps a DO body as a string; its
 * PL/pgSQL parser (libpg-query's `parsePlPgSQL`) reads it into statements, and each static SQL
 * statement among them is SQL the main parser reads again. SQL built at run time (EXECUTE) stays
 * unseen, and so does a body in another language: both are said, never passed over silently.
 */
export type DoBlockBody =
  | { readonly kind: "opaque"; readonly reason: string }
  | { readonly kind: "plpgsql"; readonly steps: readonly DoStep[] };

/** A statement of a PL/pgSQL body, in the order written, at its line in the file. */
export type DoStep =
  | { readonly kind: "sql"; readonly node: Node; readonly line: number; readonly text: string }
  | { readonly kind: "dynamic"; readonly line: number; readonly text: string }
  | { readonly kind: "transaction-end"; readonly line: number }
  | {
      readonly kind: "syntax-error";
      readonly line: number;
      readonly text: string;
      readonly message: string;
    };

export type ParsePlPgSql = (sql: string) => unknown;

/** The statements of a DO block, with `source` the text its statement was parsed from. */
export function readDoBlock(
  statement: DoStmt,
  source: SourceText,
  parse: Parse,
  parsePlPgSql: ParsePlPgSql,
): DoBlockBody {
  let language = "plpgsql";
  let body: string | undefined;
  let bodyLine = source.firstLine;
  for (const arg of statement.args ?? []) {
    if (!("DefElem" in arg)) continue;
    const { defname, arg: value, location } = arg.DefElem;
    const text = value !== undefined && "String" in value ? value.String.sval : undefined;
    if (defname === "language" && text !== undefined) language = text.toLowerCase();
    if (defname === "as" && text !== undefined) {
      body = text;
      // The body string's opening quote: PL/pgSQL numbers the body's lines from that line.
      if (location !== undefined) bodyLine = source.lineOf(source.charIndexOfByte(location));
    }
  }
  if (body === undefined) return { kind: "opaque", reason: "it has no body" };
  if (language !== "plpgsql") {
    return { kind: "opaque", reason: `it is written in ${language}, not PL/pgSQL` };
  }

  let tree: unknown;
  try {
    tree = parsePlPgSql(
      `create function pg_temp.lint_do_block() returns void language plpgsql as ${dollarQuote(body)}`,
    );
  } catch (error) {
    return {
      kind: "opaque",
      reason: `PL/pgSQL does not read its body: ${error instanceof Error ? error.message : String(error)}`,
    };
  }

  const steps: DoStep[] = [];
  const lineOf = (lineno: unknown) =>
    typeof lineno === "number" && lineno > 0 ? bodyLine + lineno - 1 : bodyLine;
  const sql = (query: string, lineno: unknown) => {
    const line = lineOf(lineno);
    try {
      const node = parse(query).stmts?.[0]?.stmt;
      if (node !== undefined) steps.push({ kind: "sql", node, line, text: query.trim() });
    } catch (error) {
      if (!(error instanceof SqlError)) throw error;
      steps.push({ kind: "syntax-error", line, text: query.trim(), message: error.message });
    }
  };
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (!isRecord(value)) return;
    for (const [key, inner] of Object.entries(value)) {
      if (!isRecord(inner)) {
        visit(inner);
        continue;
      }
      switch (key) {
        case "PLpgSQL_stmt_execsql":
          sql(queryOf(inner.sqlstmt) ?? "", inner.lineno);
          break;
        case "PLpgSQL_stmt_perform":
          // PERFORM runs a SELECT; set_config('lock_timeout', …) is said this way.
          sql(queryOf(inner.expr) ?? "", inner.lineno);
          break;
        case "PLpgSQL_stmt_call":
          sql(queryOf(inner.expr) ?? "", inner.lineno);
          break;
        case "PLpgSQL_stmt_dynexecute":
        case "PLpgSQL_stmt_dynfors":
          steps.push({
            kind: "dynamic",
            line: lineOf(inner.lineno),
            text: queryOf(inner.query) ?? "",
          });
          visit(inner.body);
          break;
        case "PLpgSQL_stmt_open":
        case "PLpgSQL_stmt_return_query":
          if (inner.dynquery !== undefined) {
            steps.push({
              kind: "dynamic",
              line: lineOf(inner.lineno),
              text: queryOf(inner.dynquery) ?? "",
            });
          }
          break;
        case "PLpgSQL_stmt_commit":
        case "PLpgSQL_stmt_rollback":
          steps.push({ kind: "transaction-end", line: lineOf(inner.lineno) });
          break;
        default:
          visit(inner);
      }
    }
  };
  const functions = isRecord(tree) && Array.isArray(tree.plpgsql_funcs) ? tree.plpgsql_funcs : [];
  for (const fn of functions) {
    if (isRecord(fn) && isRecord(fn.PLpgSQL_function)) visit(fn.PLpgSQL_function.action);
  }
  return { kind: "plpgsql", steps };
}

function queryOf(expression: unknown): string | undefined {
  if (!isRecord(expression) || !isRecord(expression.PLpgSQL_expr)) return undefined;
  const query = expression.PLpgSQL_expr.query;
  return typeof query === "string" ? query : undefined;
}

/** The body as a dollar-quoted string whose tag it does not contain. */
function dollarQuote(body: string): string {
  let tag = "$lint$";
  for (let k = 0; body.includes(tag); k++) tag = `$lint${k}$`;
  return `${tag}${body}${tag}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
