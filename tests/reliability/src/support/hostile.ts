import { connect } from "node:net";
import fc from "fast-check";
import { REPO_ROOT } from "./config.ts";

/**
 * Hostile input and what a clean answer to it looks like: documented status, a JSON body with a
 * readable message, no stack frame, no server path, no secret.
 */

/** Every status the contract (SPEC §5) and its transport documents. */
export const DOCUMENTED_STATUSES: ReadonlySet<number> = new Set([
  200, 400, 401, 403, 404, 405, 409, 412, 413, 415, 422,
]);

/**
 * SPEC §2's name rule, restated here from the SPEC (not imported from the engine, so that the two
 * can be checked against each other): leading digits, then optionally `_` or `-` and letters of
 * either case, digits, `_`, `-`, `.`; at most 200 characters, and no `..`.
 */
export const NAME_RULE = /^[0-9]+([_-][A-Za-z0-9_.-]*)?$/;

export function isValidName(name: string): boolean {
  return name.length <= 200 && !name.includes("..") && NAME_RULE.test(name);
}

/**
 * Names crafted to escape `migrations/` or SQL quoting: traversal, absolute paths, NUL, very
 * long, unicode look-alikes (full-width digits, Cyrillic letters, zero-width and bidi marks),
 * SQL metacharacters, markers and line breaks. None is a valid migration name.
 */
export const ESCAPE_NAMES: readonly string[] = [
  "../../etc/passwd",
  "../013_escape",
  "../../013_escape",
  "..",
  "../",
  "./008_index_concurrently",
  "/etc/passwd",
  "/tmp/013_escape",
  "C:\\Windows\\win.ini",
  "..\\..\\013_escape",
  "file:///etc/passwd",
  "%2e%2e%2f013_escape",
  "008_index_concurrently/../../013_escape",
  "008_x\u0000",
  "008_index_concurrently\u0000.sql",
  "\u0000",
  `008_${"a".repeat(10_000)}`,
  "9".repeat(10_000),
  "００８_add",
  "008_аdd",
  "008_index_сoncurrently",
  "008_index_concurrently\u200b",
  "\u202e008_index_concurrently",
  "008_index_concurrently ",
  " 008_index_concurrently",
  "008_index_concurrently\n",
  "008_x\r\n-- migrate:down",
  "008_a'; drop table x; --",
  '008_a"; drop schema app cascade; --',
  "008_a$$; drop schema app cascade; $$",
  "008_a\\'; select pg_sleep(10); --",
  "008_a`rm -rf /`",
  "008_a$(id)",
  "008_a%s%s%n",
  "008_a..b",
  "008_index_concurrently/..",
  "008..sql",
  "008 dash",
  "008_a b",
  "008_a+b",
  "008_é",
  "_008_x",
  "-008_x",
  "008x",
  "v008_x",
  `1_${"a".repeat(199)}`,
  "",
];

/**
 * Well-formed names (SPEC §2) that are not migrations here; `013_escape` sits one level above the
 * dir. Some look like one that is (another case, the file name with `.sql`, its version alone or
 * with `-`): names are matched whole, never by version or case.
 */
export const UNKNOWN_NAMES: readonly string[] = [
  "013_escape",
  "999_nothing",
  "0013_escape",
  "000_platform_migrations_tracking",
  `123_${"a".repeat(190)}`,
  "008_INDEX_CONCURRENTLY",
  "008_index_concurrently.sql",
  "008-index_concurrently",
  "008",
  "08_too_short",
  "008-dash",
  "008_",
  "013",
  "20240101120000_create-users-table",
  `1_${"a".repeat(198)}`,
];

const longString = fc
  .tuple(
    fc.constantFrom("a", "9", "_", "'", "\u0000", "é", "😀"),
    fc.integer({ min: 201, max: 20_000 }),
  )
  .map(([c, n]) => c.repeat(n));

/** A string that is not a valid migration name, from every family above and from chance. */
export const badName: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 3, arbitrary: fc.constantFrom(...ESCAPE_NAMES) },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.stringMatching(/^[0-9]{3}_[a-z_]{1,12}$/), fc.constantFrom(...ESCAPE_NAMES))
        .map(([name, tail]) => `${name}${tail}`),
    },
    { weight: 1, arbitrary: longString },
  )
  .filter((s) => !isValidName(s));

/** Any JSON value that is not a string (a wrong type for a name). */
const nonString: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** Any JSON value that is not a boolean. */
const nonBoolean: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.constantFrom("true", "false", "1", "yes", "", "\u0000"),
  fc.constant(null),
  fc.array(fc.boolean(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.boolean(), { maxKeys: 2 }),
);

/** An array nested `depth` deep, to make recursive parsers and validators work hard. */
export function nested(depth: number): unknown {
  let value: unknown = "008_index_concurrently";
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { migration_name: value };
  return value;
}

const deep = fc.integer({ min: 20, max: 2_000 }).map(nested);

export type FieldKind = "name" | "boolean" | "limit" | "cursor" | "enum";
export type Shape = Record<string, FieldKind>;

function badValue(kind: FieldKind): fc.Arbitrary<unknown> {
  switch (kind) {
    case "name":
      return fc.oneof(badName, nonString, deep);
    case "boolean":
      return fc.oneof(nonBoolean, deep);
    case "limit":
      return fc.oneof(
        fc.integer({ min: -1_000_000, max: 0 }),
        fc.integer({ min: 501, max: 1e9 }),
        fc.double({ noInteger: true }),
        fc.constantFrom("10", "", null, true, [10], 1e308),
      );
    case "cursor":
      return fc.oneof(
        fc.string({ maxLength: 30 }).filter((s) => !/^[0-9]{1,19}$/.test(s)),
        fc.constantFrom("1 or 1=1", "-1", "1'; --", "9".repeat(20), "0x10", "1e3"),
        nonString,
      );
    case "enum":
      return fc.oneof(
        fc.constantFrom("APPLIED", "applied ", "rolled-back", "", "accept_checksum\u0000", "drop"),
        nonString,
      );
  }
}

function goodValue(kind: FieldKind): fc.Arbitrary<unknown> {
  switch (kind) {
    case "name":
      return fc.constantFrom("008_index_concurrently", "012_invoices", "999_nothing");
    case "boolean":
      return fc.constant(true);
    case "limit":
      return fc.integer({ min: 1, max: 500 });
    case "cursor":
      return fc.constantFrom("1", "42");
    case "enum":
      return fc.constantFrom("applied", "rolled_back", "accept_checksum");
  }
}

/** A key none of the schemas know, including prototype-polluting ones. */
const unknownKey = fc.oneof(
  fc.constantFrom(
    "__proto__",
    "constructor",
    "prototype",
    "migrationName ",
    "MIGRATION_NAME",
    "migration-name",
    "sql",
    "actor",
    "applied_by",
    "",
    "\u0000",
  ),
  fc.string({ maxLength: 12 }),
);

/**
 * An object body for `shape` that is invalid by construction: one field with a bad value, or
 * a key the schema does not know (besides well-formed values for some of the others).
 */
export function invalidObject(shape: Shape): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(shape);
  const others = (skip: string | null) =>
    fc.record(
      Object.fromEntries(
        keys.filter((k) => k !== skip).map((k) => [k, goodValue(shape[k] as FieldKind)]),
      ),
      { requiredKeys: [] },
    );
  const badField = fc
    .constantFrom(...(keys.length ? keys : ["_"]))
    .chain((key) =>
      fc
        .tuple(others(key), badValue(shape[key] as FieldKind))
        .map(([rest, bad]) => ({ ...rest, [key]: bad })),
    );
  const extraKey = fc
    .tuple(
      others(null),
      unknownKey.filter((k) => !keys.includes(k)),
      fc.oneof(fc.string({ maxLength: 20 }), nonString),
    )
    .map(([rest, key, value]) => {
      const body: Record<string, unknown> = { ...rest };
      Object.defineProperty(body, key, { value, enumerable: true, writable: true });
      return body;
    });
  return keys.length === 0 ? extraKey : fc.oneof(badField, extraKey);
}

/** A body that is not an object at all. */
export const nonObject: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.string({ maxLength: 30 }),
  fc.boolean(),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  deep.map((v) => [v]),
);

/** Raw request bodies that are not JSON, or barely: the text is sent as is. */
export const rawGarbage: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "{not json",
    "{",
    '{"migration_name": "008_index_concurrently"',
    '{"migration_name": 008}',
    "migration_name=008_index_concurrently",
    "migration_name=..%2F..%2Fetc%2Fpasswd&dry_run=true",
    "\u0000",
    "\u0000{}",
    "{}\u0000",
    "null",
    "[]",
    '"{}"',
    "NaN",
    "\ufeff{}x",
    "{'migration_name': '008_index_concurrently'}",
    '{"migration_name": "008_index_concurrently", "migration_name": "../x", "x": 1}',
    '--\r\n-- boundary\r\nContent-Disposition: form-data; name="migration_name"\r\n\r\n../x\r\n',
  ),
  fc.string({ minLength: 1, maxLength: 80 }).filter((s) => !parsesAsPlainObject(s)),
  fc.string({ unit: "binary", minLength: 1, maxLength: 80 }).filter((s) => !parsesAsPlainObject(s)),
  fc.integer({ min: 1_000, max: 200_000 }).map((n) => "[".repeat(n)),
  fc.integer({ min: 1_000, max: 20_000 }).map((n) => `${"[".repeat(n)}${"]".repeat(n)}`),
);

function parsesAsPlainObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

export const contentTypes: fc.Arbitrary<string | null> = fc.constantFrom(
  "application/json",
  "application/x-www-form-urlencoded",
  "text/plain",
  "multipart/form-data; boundary=boundary",
  "application/octet-stream",
  "application/json; charset=utf-16",
  "application/xml",
  null,
);

export interface Answer {
  status: number;
  text: string;
  headers: Headers;
  /** The parsed body, or undefined when it is not JSON. */
  body: unknown;
}

export async function send(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, text, headers: response.headers, body };
}

/** The human message of a REST body (`{ error }`) or of a tRPC error (single or batched). */
export function messageOf(body: unknown): string | null {
  const item = Array.isArray(body) ? body[0] : body;
  if (typeof item !== "object" || item === null) return null;
  const error = (item as { error?: unknown }).error;
  if (typeof error === "string") return error;
  if (typeof error === "object" && error !== null) {
    const json = (error as { json?: { message?: unknown } }).json;
    if (typeof json?.message === "string") return json.message;
  }
  return null;
}

const STACK_FRAME = /(^|\n)\s*at \S.*(\(|:\d+:\d+)|\bat (file:\/\/|node:|\/)\S*:\d+/;
const SERVER_PATHS = [REPO_ROOT, "node_modules", ".next/server", "webpack-internal:", "/work/"];

/**
 * What is wrong with an answer to hostile input: an undocumented status, a body that is not
 * JSON or has no readable message, a stack trace, a server path, or one of `secrets`. Empty when
 * the answer is clean. `expected` narrows the status further when given.
 */
export function answerProblems(
  answer: Answer,
  options: { expected?: readonly number[]; secrets?: readonly string[] } = {},
): string[] {
  const problems: string[] = [];
  const allowed = options.expected ?? [...DOCUMENTED_STATUSES];
  if (!allowed.includes(answer.status)) {
    problems.push(`status ${answer.status}, expected one of ${allowed.join("/")}`);
  }
  if (answer.body === undefined) problems.push("body is not JSON");
  if (answer.status >= 400) {
    const message = messageOf(answer.body);
    if (message === null || message.trim().length < 5) {
      problems.push(`no clear message (${JSON.stringify(message)})`);
    }
  }
  if (STACK_FRAME.test(answer.text)) problems.push("a stack frame");
  if (/"stack"\s*:\s*"/.test(answer.text)) problems.push("a stack property");
  for (const path of SERVER_PATHS) {
    if (answer.text.includes(path)) problems.push(`a server path (${path})`);
  }
  for (const secret of options.secrets ?? []) {
    if (secret !== "" && answer.text.includes(secret)) problems.push("the secret");
  }
  return problems.map((p) => `${p}: ${answer.status} ${answer.text.slice(0, 300)}`);
}

/** Raw tRPC over HTTP, as any client (not only ours) can send it: superjson's `{ json, meta }`. */
export function trpcQueryUrl(base: string, procedure: string, input?: unknown): string {
  const path = `${base}/api/trpc/migrations.${procedure}`;
  if (input === undefined) return path;
  return `${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
}

/**
 * One HTTP/1.1 request written byte for byte on a socket, for what fetch and node:http refuse to
 * send (control characters in header values). Returns the status and the raw response.
 */
export function rawRequest(
  base: string,
  head: string,
  body = "",
): Promise<{ status: number; raw: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      const bytes = Buffer.from(body, "utf8");
      socket.write(
        Buffer.concat([
          Buffer.from(
            `${head}\r\nhost: ${hostname}:${port}\r\ncontent-length: ${bytes.length}\r\nconnection: close\r\n\r\n`,
            "latin1",
          ),
          bytes,
        ]),
      );
    });
    let raw = "";
    socket.setTimeout(10_000, () => socket.destroy(new Error("raw request timed out")));
    socket.on("data", (chunk: Buffer) => {
      raw += chunk.toString("utf8");
    });
    socket.on("error", reject);
    socket.on("close", () => resolve({ status: Number(raw.split(" ")[1] ?? 0), raw }));
  });
}
