import type { Pair } from "./stats.ts";

/** One item's measurement and the floor it is paired with. */
export interface Bracketed<T> {
  readonly item: T;
  readonly pair: Pair;
}

export interface BracketedRun<T> {
  /** In the order they ran. */
  readonly measured: readonly Bracketed<T>[];
  /** Every floor measurement, in order: one more than there are items. */
  readonly floors: readonly number[];
}

/**
 * Runs `floor`, item 1, `floor`, item 2, …, item k, `floor`: every item between two floor runs,
 * and paired with their mean. The floor is measured right beside each item, so what the machine
 * does meanwhile (other processes, checkpoints, thermal limits) weighs on both; drift that is
 * linear over an item's two neighbours cancels exactly. k items cost k + 1 floor runs; none still
 * runs the floor once.
 */
export async function runBracketed<T>(
  items: readonly T[],
  run: (item: T) => Promise<number>,
  floor: () => Promise<number>,
): Promise<BracketedRun<T>> {
  const floors = [await floor()];
  const measured: Bracketed<T>[] = [];
  for (const item of items) {
    const ms = await run(item);
    const before = floors.at(-1) as number;
    const after = await floor();
    floors.push(after);
    measured.push({ item, pair: { tool: ms, floor: (before + after) / 2 } });
  }
  return { measured, floors };
}

/** `items` rotated left by `by` (mod its length): each repetition starts somewhere else. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const shift = ((by % items.length) + items.length) % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
