/**
 * One summary line per suite, printed when it ends: what was tried and what held. The README's
 * reliability figures are copied from these lines.
 */
export class Figures {
  private readonly counts = new Map<string, number>();

  constructor(private readonly suite: string) {}

  add(name: string, by = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  line(): string {
    const parts = [...this.counts].map(([name, value]) => `${name}=${value}`);
    return `[reliability] ${this.suite}: ${parts.join(", ") || "nothing ran"}`;
  }

  print(): void {
    console.log(this.line());
  }
}
