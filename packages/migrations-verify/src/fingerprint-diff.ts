import {
  type AttributeValue,
  type CatalogFingerprint,
  type CatalogObject,
  compareObjects,
  type ObjectKind,
  objectKey,
} from "./fingerprint.ts";

/**
 * One way two fingerprints differ, named precisely: an object only in the actual schema
 * (`extra`), one only in the expected schema (`missing`), or one attribute of an object in both
 * (`changed`, from the expected value to the actual one).
 */
export type FingerprintDifference =
  | {
      readonly change: "extra" | "missing";
      readonly kind: ObjectKind;
      readonly identity: string;
      /** `column platform.users.active_org_id: left behind by the down section` */
      readonly message: string;
    }
  | {
      readonly change: "changed";
      readonly kind: ObjectKind;
      readonly identity: string;
      readonly attribute: string;
      readonly expected: AttributeValue;
      readonly actual: AttributeValue;
      /** `column platform.t.c: default now() → 'x'::text`, or `function …: body differs …` */
      readonly message: string;
    };

/** How a comparison names an object found on one side only. */
export interface DifferenceWording {
  /** For an object in the actual fingerprint only: `left behind by the down section`. */
  readonly extra: string;
  /** For an object in the expected fingerprint only: `dropped by the down section`. */
  readonly missing: string;
}

const NEUTRAL: DifferenceWording = { extra: "unexpected", missing: "missing" };

/** A value longer than this, or on several lines, is said to differ rather than quoted whole. */
const INLINE_LIMIT = 80;
/** How much of a differing line of a long value a message quotes. */
const QUOTE_LIMIT = 60;

/**
 * Every way `actual` differs from `expected`, in fingerprint order. An object on one side only is
 * reported once, without what it contains: a table left behind is one difference, not one per
 * column, index and grant of it.
 */
export function compareFingerprints(
  expected: CatalogFingerprint,
  actual: CatalogFingerprint,
  wording: DifferenceWording = NEUTRAL,
): FingerprintDifference[] {
  const expectedByKey = byKey(expected);
  const actualByKey = byKey(actual);
  const onOneSide = (
    side: Map<string, CatalogObject>,
    other: Map<string, CatalogObject>,
    object: CatalogObject,
  ): boolean => {
    // Reported only when no container of it is on that side alone too.
    for (let parent = object.parent; parent !== null; ) {
      if (!other.has(parent)) return false;
      parent = side.get(parent)?.parent ?? null;
    }
    return true;
  };

  const found: { object: CatalogObject; differences: FingerprintDifference[] }[] = [];
  for (const object of actual.objects) {
    const key = objectKey(object);
    const before = expectedByKey.get(key);
    if (before === undefined) {
      if (onOneSide(actualByKey, expectedByKey, object)) {
        found.push({ object, differences: [oneSided("extra", object, wording.extra)] });
      }
      continue;
    }
    const changed = changedAttributes(before, object);
    if (changed.length > 0) found.push({ object, differences: changed });
  }
  for (const object of expected.objects) {
    if (actualByKey.has(objectKey(object))) continue;
    if (onOneSide(expectedByKey, actualByKey, object)) {
      found.push({ object, differences: [oneSided("missing", object, wording.missing)] });
    }
  }
  found.sort((a, b) => compareObjects(a.object, b.object));
  return found.flatMap((entry) => entry.differences);
}

function byKey(fingerprint: CatalogFingerprint): Map<string, CatalogObject> {
  return new Map(fingerprint.objects.map((object) => [objectKey(object), object]));
}

function oneSided(
  change: "extra" | "missing",
  object: CatalogObject,
  words: string,
): FingerprintDifference {
  return {
    change,
    kind: object.kind,
    identity: object.identity,
    message: `${objectKey(object)}: ${words}`,
  };
}

function changedAttributes(
  expected: CatalogObject,
  actual: CatalogObject,
): FingerprintDifference[] {
  const names = [
    ...new Set([...Object.keys(expected.attributes), ...Object.keys(actual.attributes)]),
  ].sort();
  const differences: FingerprintDifference[] = [];
  for (const attribute of names) {
    const before = expected.attributes[attribute] ?? null;
    const after = actual.attributes[attribute] ?? null;
    if (sameValue(before, after)) continue;
    differences.push({
      change: "changed",
      kind: actual.kind,
      identity: actual.identity,
      attribute,
      expected: before,
      actual: after,
      message: `${objectKey(actual)}: ${describeChange(attribute, before, after)}`,
    });
  }
  return differences;
}

function sameValue(a: AttributeValue, b: AttributeValue): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => item === b[i]);
  }
  return a === b;
}

/** `default now() → 'x'::text`; for long values, `body differs at line 3: "…" → "…"`. */
function describeChange(attribute: string, before: AttributeValue, after: AttributeValue): string {
  const from = rendered(before);
  const to = rendered(after);
  if (from.length <= INLINE_LIMIT && to.length <= INLINE_LIMIT && !/[\r\n]/.test(from + to)) {
    return `${attribute} ${from} → ${to}`;
  }
  if (typeof before === "string" && typeof after === "string") {
    const beforeLines = before.split("\n");
    const afterLines = after.split("\n");
    let line = 0;
    while (line < beforeLines.length && beforeLines[line] === afterLines[line]) line++;
    const quote = (text: string | undefined) =>
      text === undefined ? "(no line)" : JSON.stringify(shortened(text.trim()));
    return `${attribute} differs at line ${line + 1}: ${quote(beforeLines[line])} → ${quote(afterLines[line])}`;
  }
  return `${attribute} differs`;
}

function rendered(value: AttributeValue): string {
  if (value === null) return "none";
  if (typeof value === "boolean") return String(value);
  if (typeof value === "string") return value === "" ? '""' : value;
  return `[${value.join(", ")}]`;
}

function shortened(text: string): string {
  return text.length <= QUOTE_LIMIT ? text : `${text.slice(0, QUOTE_LIMIT - 1)}…`;
}
