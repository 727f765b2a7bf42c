/**
 * The floor as a whole process: `node dist/scripts/floor.js <url> <dir> [--one-transaction]`.
 * Node's start, loading `pg`, connecting, reading the files, and the SQL; nothing else.
 */
import { applyFloor } from "../tools/floor.ts";

const [url, dir, flag] = process.argv.slice(2);
if (!url || !dir) throw new Error("usage: floor.js <database url> <dir> [--one-transaction]");
await applyFloor(url, dir, flag === "--one-transaction");
