/**
 * A deterministic clock for tests: time moves only when the test calls `advance`, and timers
 * fire in due order (ties in the order they were set), each seeing `now()` at its due time.
 */
import type { Clock, TimerHandle } from '../../src/util/clock.js';

interface Entry {
  id: number;
  due: number;
  every: number | undefined;
  fn: () => void;
}

export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, Entry>();

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, undefined);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  /** Timers still pending. */
  get pending(): number {
    return this.timers.size;
  }

  /** Move time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (let fired = 0; ; fired++) {
      if (fired > 1_000_000) throw new Error('FakeClock: runaway timers');
      let next: Entry | undefined;
      for (const e of this.timers.values()) if (e.due <= end && (next === undefined || e.due < next.due || (e.due === next.due && e.id < next.id))) next = e;
      if (next === undefined) break;
      this.current = Math.max(this.current, next.due);
      if (next.every !== undefined) next.due += next.every;
      else this.timers.delete(next.id);
      next.fn();
    }
    this.current = end;
  }

  private add(fn: () => void, ms: number, every: number | undefined): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, due: this.current + Math.max(0, ms), every, fn });
    return { cancel: () => void this.timers.delete(id) };
  }
}
