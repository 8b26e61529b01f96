/**
 * The simulation's agenda: actions ordered by virtual time, and by insertion order among equal
 * times. That second key is what makes runs reproducible: two timers due at the same
 * millisecond always fire in the order they were armed.
 */
export interface Scheduled {
  t: number;
  seq: number;
  run: () => void;
  cancelled: boolean;
}

export class EventQueue {
  private heap: Scheduled[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(t: number, run: () => void): Scheduled {
    const item: Scheduled = { t, seq: this.nextSeq++, run, cancelled: false };
    this.heap.push(item);
    this.up(this.heap.length - 1);
    return item;
  }

  /** Time of the earliest live entry, dropping cancelled ones on the way. */
  peekTime(): number | undefined {
    while (this.heap.length && this.heap[0]!.cancelled) this.pop();
    return this.heap[0]?.t;
  }

  pop(): Scheduled | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (top && last && top !== last) {
      this.heap[0] = last;
      this.down(0);
    }
    return top;
  }

  private before(a: Scheduled, b: Scheduled): boolean {
    return a.t < b.t || (a.t === b.t && a.seq < b.seq);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.before(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
