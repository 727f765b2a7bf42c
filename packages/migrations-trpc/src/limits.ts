/**
 * The limits of the wire, known to client and server alike (a module of its own: the typed client
 * loads it without any of the server's code).
 */

/**
 * The most calls one HTTP request may batch. A host mounts the router with tRPC's
 * `maxBatchSize: MAX_BATCH_SIZE` (Studio's mount does): beyond it the request is a 400 that names
 * the limit, before any call runs — one GET could otherwise carry a thousand. The typed client
 * never batches more.
 */
export const MAX_BATCH_SIZE = 10;

/** `migrations.progress`: the heartbeat interval by default, and the bounds a subscriber may choose. */
export const DEFAULT_HEARTBEAT_MS = 3_000;
export const MIN_HEARTBEAT_MS = 200;
export const MAX_HEARTBEAT_MS = 30_000;
