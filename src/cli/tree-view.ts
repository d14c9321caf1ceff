/**
 * The tree view of a torrent's files for `tessera info` (`├─`, `└─`), written as UTF-8 straight
 * into one growing buffer. A torrent of 100,000 files prints 100,000 lines, so the common line
 * costs no string: folders are found by hashing their names' bytes, and a name the .torrent
 * holds verbatim (`FileTable.verbatimSpans`: printable ASCII, which `safeText` leaves as it is)
 * is copied from there. Other names take the string path, through `safeText`.
 */
import type { FileTable } from '../metainfo/file-table.js';
import { humanBytes, safeText } from './context.js';

/** UTF-8 text appended to a buffer that doubles when full. */
export class TextSink {
  private buf: Buffer;
  private pos = 0;

  constructor(expectedBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(expectedBytes);
  }

  /** Room for `n` more bytes. */
  private reserve(n: number): Buffer {
    if (this.pos + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
    return this.buf;
  }

  write(s: string): void {
    // A UTF-16 unit takes at most 3 bytes of UTF-8.
    const buf = this.reserve(s.length * 3);
    // Short ASCII text byte by byte: cheaper than a call into the encoder for each line's pieces.
    if (s.length <= 64) {
      let p = this.pos;
      let k = 0;
      for (; k < s.length; k++) {
        const c = s.charCodeAt(k);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      this.pos = p;
      if (k === s.length) return;
      s = s.slice(k);
    }
    this.pos += buf.write(s, this.pos);
  }

  /** Appends `src[from, to)` as it is. */
  copy(src: Uint8Array, from: number, to: number): void {
    const buf = this.reserve(to - from);
    let p = this.pos;
    if (to - from > 64) {
      buf.set(src.subarray(from, to), p);
      p += to - from;
    } else for (let k = from; k < to; k++) buf[p++] = src[k]!;
    this.pos = p;
  }

  /** Appends a non-negative integer in decimal. */
  digits(n: number): void {
    if (n >= 10) this.digits(Math.floor(n / 10));
    this.reserve(1)[this.pos++] = 0x30 + (n % 10);
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** A folder id `f` among a folder's children, where files are their indices (>= 0). */
const asChild = (f: number): number => ~f;

/**
 * The folders of the tree, by parent and name in one open-addressing table: no string per
 * file to look a folder up. Folder 0 is the top folder; children keep their first-seen order.
 */
class Folders {
  readonly names: string[] = [''];
  readonly children: number[][] = [[]];
  private readonly parents: number[] = [-1];
  private readonly hashes: number[] = [0];
  private slots = new Int32Array(256).fill(-1);

  /** The folder named by the code units `src[from, to)` in `parent`, added if new. */
  child(parent: number, src: string | Uint8Array, from: number, to: number): number {
    let h = Math.imul(parent ^ 0x811c9dc5, 0x01000193);
    if (typeof src === 'string') for (let k = from; k < to; k++) h = Math.imul(h ^ src.charCodeAt(k), 0x01000193);
    else for (let k = from; k < to; k++) h = Math.imul(h ^ src[k]!, 0x01000193);
    h >>>= 0;
    const mask = this.slots.length - 1;
    let slot = h & mask;
    for (let id = this.slots[slot]!; id >= 0; slot = (slot + 1) & mask, id = this.slots[slot]!) {
      if (this.hashes[id] === h && this.parents[id] === parent && sameUnits(this.names[id]!, src, from, to)) return id;
    }
    const id = this.names.length;
    this.names.push(typeof src === 'string' ? src.slice(from, to) : Buffer.from(src.buffer, src.byteOffset, src.byteLength).toString('latin1', from, to));
    this.children.push([]);
    this.parents.push(parent);
    this.hashes.push(h);
    this.children[parent]!.push(asChild(id));
    this.slots[slot] = id;
    if (this.names.length * 2 > this.slots.length) this.rehash();
    return id;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2).fill(-1);
    const mask = this.slots.length - 1;
    for (let id = 1; id < this.names.length; id++) {
      let slot = this.hashes[id]! & mask;
      while (this.slots[slot]! >= 0) slot = (slot + 1) & mask;
      this.slots[slot] = id;
    }
  }
}

function sameUnits(name: string, src: string | Uint8Array, from: number, to: number): boolean {
  if (name.length !== to - from) return false;
  if (typeof src === 'string') return src.startsWith(name, from);
  for (let k = 0; k < name.length; k++) if (name.charCodeAt(k) !== src[from + k]) return false;
  return true;
}

const TEE = Buffer.from('├─ ');
const ELBOW = Buffer.from('└─ ');
const BAR = Buffer.from('│  ');
const GAP = Buffer.from('   ');

/** Folders, and where each file's name is in `source` when it is held verbatim (else -1). */
interface Tree {
  readonly folders: Folders;
  readonly source: Buffer | undefined;
  readonly nameFrom: Int32Array;
  readonly nameTo: Int32Array;
}

function buildTree(table: FileTable): Tree {
  const folders = new Folders();
  const nameFrom = new Int32Array(table.count);
  const nameTo = new Int32Array(table.count);
  const spans: number[] = [];
  let source: Buffer | undefined;
  for (let i = 0; i < table.count; i++) {
    let node = 0;
    const verbatim = table.verbatimSpans(i, spans);
    if (verbatim !== undefined) {
      source = verbatim;
      const n = spans.length;
      for (let k = 0; k < n - 2; k += 2) node = folders.child(node, verbatim, spans[k]!, spans[k + 1]!);
      nameFrom[i] = spans[n - 2]!;
      nameTo[i] = spans[n - 1]!;
    } else {
      const path = table.path(i);
      for (let c = 0; c < path.length - 1; c++) node = folders.child(node, path[c]!, 0, path[c]!.length);
      nameFrom[i] = -1;
    }
    folders.children[node]!.push(i);
  }
  return { folders, source, nameFrom, nameTo };
}

function writeFile(table: FileTable, tree: Tree, i: number, dataIndex: number, out: TextSink): void {
  if (dataIndex >= 0) {
    out.write('[');
    out.digits(dataIndex);
    out.write('] ');
  }
  if (tree.nameFrom[i]! >= 0) out.copy(tree.source!, tree.nameFrom[i]!, tree.nameTo[i]!);
  else out.write(safeText(table.name(i)));
  out.write('  ');
  out.write(humanBytes(table.length(i)));
  if (table.isPad(i)) out.write(' [padding]');
  const link = table.symlinkPath(i);
  if (link !== undefined) out.write(` -> ${safeText(link.join('/'))}`);
  out.write('\n');
}

/** Writes one line per folder and file below the top folder, each ending in a newline. */
export function writeTree(table: FileTable, out: TextSink): void {
  const tree = buildTree(table);
  // The number `download --select` takes: padding files have none.
  const dataIndex = new Int32Array(table.count);
  for (let i = 0, k = 0; i < table.count; i++) dataIndex[i] = table.isPad(i) ? -1 : k++;
  const stack: { children: number[]; next: number; prefix: Buffer }[] = [{ children: tree.folders.children[0]!, next: 0, prefix: Buffer.alloc(0) }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next === top.children.length) {
      stack.pop();
      continue;
    }
    const child = top.children[top.next++]!;
    const last = top.next === top.children.length;
    out.copy(top.prefix, 0, top.prefix.length);
    out.copy(last ? ELBOW : TEE, 0, TEE.length);
    if (child >= 0) writeFile(table, tree, child, dataIndex[child]!, out);
    else {
      const f = asChild(child);
      out.write(`${safeText(tree.folders.names[f]!)}/\n`);
      stack.push({ children: tree.folders.children[f]!, next: 0, prefix: Buffer.concat([top.prefix, last ? GAP : BAR]) });
    }
  }
}
