/**
 * Time, injected. Every layer that waits (request and idle timeouts, keep-alives, choking
 * rounds, announce intervals, retransmissions) takes a `Clock` instead of calling
 * `Date.now`/`setTimeout`, so its behaviour over time is tested on a fake clock in
 * milliseconds rather than with sleeps.
 *
 * The system clock's timers are unref'd: engine timers never keep a process alive on their
 * own; open sockets and pending work do.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch (wall time, as `Date.now`). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  setInterval(fn: () => void, ms: number): TimerHandle;
}

/** Node caps timer delays at 2^31−1 ms and fires longer ones at once: clamp instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

function clampDelay(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) return 0;
  return Math.min(ms, MAX_TIMER_MS);
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, clampDelay(ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, Math.max(1, clampDelay(ms)));
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
};

/** A promise that resolves after `ms` on the given clock (never holds the process open). */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
