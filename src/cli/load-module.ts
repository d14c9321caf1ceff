/**
 * Loads a command's module and everything it imports in one synchronous pass where Node can
 * (`require` of an ES module, Node 20.19 and later), else through `import()`.
 *
 * `download` starts from about 150 of the project's files. `import()` reads each one through
 * the thread pool and links the graph over many promise turns; `require` reads, links and
 * evaluates it in one go. The modules are the same either way (Node keeps one module map), and
 * so is what they do: no module of the project awaits at its top level, which `require` refuses.
 * Measured with `bench/startup.mjs` (BENCHMARKS.md): the first connection leaves 13-38 ms sooner
 * (medians of two batches).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** `require` as Node gives it (the parameter lets a test stand in for an older Node). */
export type Requirer = (path: string) => unknown;

const requireHere: Requirer = createRequire(import.meta.url);

/** How `require` refuses an ES module that `import()` still loads: too old a Node, or a top-level await. */
const REFUSALS: ReadonlySet<string> = new Set(['ERR_REQUIRE_ESM', 'ERR_REQUIRE_ASYNC_MODULE']);

/** The namespace of the module at `url`. An error the module throws as it runs passes through. */
export async function loadModule<T>(url: URL, req: Requirer = requireHere): Promise<T> {
  try {
    return req(fileURLToPath(url)) as T;
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !REFUSALS.has(code)) throw err;
    return (await import(url.href)) as T;
  }
}
