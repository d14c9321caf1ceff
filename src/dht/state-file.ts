/**
 * The routing table saved between runs (BEP 5 suggests restarting from the nodes known last
 * time instead of the bootstrap routers). JSON with hex ids, written to a temporary file and
 * renamed so a crash never leaves a torn file; read with a size cap and full validation.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { NODE_ID_LENGTH, type NodeContact, isIpv4 } from './compact.js';
import { DhtError } from './errors.js';

const MAX_STATE_BYTES = 1024 * 1024;
export const MAX_SAVED_NODES = 2000;

export interface DhtState {
  readonly id: Uint8Array;
  readonly nodes: readonly NodeContact[];
}

export function serializeState(state: DhtState): string {
  const nodes = state.nodes.slice(0, MAX_SAVED_NODES).map((n) => ({ id: Buffer.from(n.id).toString('hex'), host: n.host, port: n.port }));
  return `${JSON.stringify({ version: 1, id: Buffer.from(state.id).toString('hex'), nodes })}\n`;
}

function parseId(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string' || !/^[0-9a-f]{40}$/.test(value)) return undefined;
  const id = Buffer.from(value, 'hex');
  return id.length === NODE_ID_LENGTH ? new Uint8Array(id) : undefined;
}

/** Parses a state file; invalid node entries are skipped, an invalid file is a `DhtError`. */
export function parseState(text: string): DhtState {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (err) {
    throw new DhtError('bad-state-file', 'DHT state file is not valid JSON', { cause: err });
  }
  if (typeof root !== 'object' || root === null) throw new DhtError('bad-state-file', 'DHT state file is not an object');
  const record = root as { version?: unknown; id?: unknown; nodes?: unknown };
  const id = parseId(record.id);
  if (record.version !== 1 || id === undefined || !Array.isArray(record.nodes)) {
    throw new DhtError('bad-state-file', 'DHT state file has an unknown version or no valid id');
  }
  const nodes: NodeContact[] = [];
  for (const entry of record.nodes.slice(0, MAX_SAVED_NODES) as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const e = entry as { id?: unknown; host?: unknown; port?: unknown };
    const nodeId = parseId(e.id);
    if (nodeId === undefined || typeof e.host !== 'string' || !isIpv4(e.host)) continue;
    if (typeof e.port !== 'number' || !Number.isInteger(e.port) || e.port < 1 || e.port > 0xffff) continue;
    nodes.push({ id: nodeId, host: e.host, port: e.port });
  }
  return { id, nodes };
}

/** Reads the state file; undefined when it does not exist yet. */
export async function loadState(path: string): Promise<DhtState | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DhtError('state-file-unreadable', `cannot read DHT state file ${path}`, { cause: err });
  }
  if (bytes.length > MAX_STATE_BYTES) throw new DhtError('bad-state-file', `DHT state file is larger than ${MAX_STATE_BYTES} bytes`);
  return parseState(bytes.toString('utf8'));
}

export async function saveState(path: string, state: DhtState): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, serializeState(state), { mode: 0o600 });
  await rename(tmp, path);
}
