/**
 * A typed event emitter for the session boundary (only there: inside the engine, layers
 * call narrow interfaces). Listeners are called synchronously in the order they were added;
 * a listener that throws does not stop the others, and its error is reported on the next tick
 * as an uncaught exception would be — a bug in the embedder, not in the engine. Unlike
 * Node's EventEmitter, an `error` event without a listener is dropped: the same error also
 * rejects `whenDone()`, so a torrent that fails never takes the process down by itself.
 */
/** Event name → the arguments its listeners receive. */
export type EventMap<E> = { [K in keyof E]: unknown[] };

type Listener = (...args: unknown[]) => void;

export class TypedEmitter<E extends EventMap<E>> {
  private readonly listeners = new Map<keyof E, Set<Listener>>();

  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): this {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(listener as unknown as Listener);
    return this;
  }

  off<K extends keyof E>(event: K, listener: (...args: E[K]) => void): this {
    this.listeners.get(event)?.delete(listener as unknown as Listener);
    return this;
  }

  once<K extends keyof E>(event: K, listener: (...args: E[K]) => void): this {
    const wrapped = (...args: E[K]): void => {
      this.off(event, wrapped);
      listener(...args);
    };
    return this.on(event, wrapped);
  }

  listenerCount(event: keyof E): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const l of [...set]) {
      try {
        l(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
