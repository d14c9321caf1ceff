/**
 * A lookup in a table keyed by names that come from outside (a command line, a settings
 * file, an RPC request): own entries only, so `toString`, `constructor` or `__proto__` find
 * nothing rather than what every object inherits.
 */
export function ownEntry<T>(table: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}
