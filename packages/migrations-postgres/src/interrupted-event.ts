import {
  INTERRUPTED_EVENT_PREFIX,
  interruptedMessage,
  rollbackStartedMessageParts,
} from "@studio/migrations-core";
import { trackingSql as t } from "./tracking-sql.generated.ts";
import { inline } from "./tracking-sql.ts";

/**
 * The core's `interruptedMessage` as a `format()` string whose four `%s` take, in order, who
 * started the attempt, when, who found it interrupted, and when: filled in by the SQL, from the
 * row as it is under the unit lock, rather than from a read that may be stale by then.
 */
function interruptedTemplate(rollback: boolean): string {
  const slots = ["\u0001", "\u0002", "\u0003", "\u0004"] as const;
  const text = interruptedMessage({
    startedBy: slots[0],
    startedAt: slots[1],
    rollback,
    detectedBy: slots[2],
    detectedAt: slots[3],
  }).replaceAll("%", "%%");
  // `%s` are filled in order: each part must appear once, in the order the SQL passes them.
  const at = slots.map((slot) => text.indexOf(slot));
  if (
    slots.some((slot) => text.split(slot).length !== 2) ||
    at.some((i, n) => n > 0 && i < (at[n - 1] ?? 0))
  ) {
    throw new Error("interruptedMessage must name each part of the attempt once, in order.");
  }
  return slots.reduce((template, slot) => template.replace(slot, "%s"), text);
}

const [startedBefore, startedAfter] = rollbackStartedMessageParts();

/**
 * The statement recording the failed event of a `transaction:false` attempt found interrupted
 * (the core's `record_interrupted` bookkeeping), or nothing: whether it is owed — the attempt still
 * unfinished, its runner gone, its event not yet written — is decided by the statement itself
 * (see `insertInterruptedEvent`), so it belongs after the unit lock of the batch it is in.
 */
export function interruptedEventSql(
  migrationName: string,
  action: "apply" | "rollback",
  detectedBy: string,
): string {
  return inline(
    t.insertInterruptedEvent({
      migrationName,
      action,
      startedBefore,
      startedAfter,
      interruptedPrefix: INTERRUPTED_EVENT_PREFIX,
      template: interruptedTemplate(action === "rollback"),
      detectedBy,
    }),
  );
}
