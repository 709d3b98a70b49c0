/** At most `max` sends in any `perMs` window (a sliding log of send times). */
export class SlidingWindowLimit {
  private sent: number[] = [];

  constructor(
    private readonly max: number,
    private readonly perMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes `n` sends if the window has room for all of them. */
  tryTake(n = 1): boolean {
    const t = this.now();
    this.sent = this.sent.filter((s) => t - s < this.perMs);
    if (this.sent.length + n > this.max) return false;
    for (let i = 0; i < n; i++) this.sent.push(t);
    return true;
  }

  /** When the oldest send in the window leaves it. */
  nextFreeAt(): number {
    return (this.sent[0] ?? this.now()) + this.perMs;
  }
}
