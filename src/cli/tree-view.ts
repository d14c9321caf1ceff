/**
 * The tree view of a torrent's files for `tessera info` (`├─`, `└─`), written as UTF-8 straight
 * into one growing buffer. A torrent of 100,000 files prints 100,000 lines, so the common line
 * costs no string: folders are known by the numbers the file-list reader gave them
 * (`FileTable.pathIndex`), else found by hashing their names' bytes, and a name the .torrent
 * holds verbatim (`FileTable.verbatimSpans`: printable ASCII, which `safeText` leaves as it is)
 * is copied from there. Other names take the string path, through `safeText`.
 */
import { NO_FOLDER, type FileTable } from '../metainfo/file-table.js';
import { KeySet } from '../metainfo/key-set.js';
import { humanBytes, safeText } from './context.js';

/** UTF-8 text appended to a buffer that doubles when full. */
export class TextSink {
  private buf: Buffer;
  /** Where the next byte goes. */
  pos = 0;

  constructor(expectedBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(expectedBytes);
  }

  /** Room for `n` more bytes: the caller writes them into the buffer returned, from `pos`, and moves `pos` past them. */
  reserve(n: number): Buffer {
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
    this.pos += buf.write(s, this.pos);
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Copies `src[from, to)` to `buf[p]`; returns where it ends. Byte by byte: the runs are short. */
function putBytes(buf: Buffer, p: number, src: Uint8Array, from: number, to: number): number {
  for (let k = from; k < to; k++) buf[p++] = src[k]!;
  return p;
}

/**
 * Writes `n`, a whole number below 2^31, in decimal at `buf[p]`; returns where it ends. In
 * int32 arithmetic: `%` on a double is a call into the C library.
 */
function putDigits(buf: Buffer, p: number, n: number): number {
  let len = 1;
  for (let m = n; m >= 10; m = (m / 10) | 0) len++;
  for (let k = p + len - 1, m = n; k >= p; k--) {
    const q = (m / 10) | 0;
    buf[k] = 0x30 + m - q * 10;
    m = q;
  }
  return p + len;
}

const UNIT_NAMES = [' B', ' KiB', ' MiB', ' GiB', ' TiB'];
const UNIT_BYTES = [1, 2 ** 10, 2 ** 20, 2 ** 30, 2 ** 40];

/**
 * Writes `humanBytes(n)` at `buf[p]` (at most 12 bytes) without making the string; returns where
 * it ends, or -1 for a value it leaves to humanBytes. humanBytes rounds with toFixed, which
 * rounds the exact value v = n / 2^(10u) half up: for a whole n below 2^50 that is exact in
 * integers.
 */
function putSize(buf: Buffer, p: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) return -1;
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNIT_NAMES.length - 1) {
    v /= 1024;
    u++;
  }
  if (v >= 1024) return -1;
  let scale = 1;
  let fixed = n;
  if (u > 0) {
    const unit = UNIT_BYTES[u]!;
    const whole = Math.floor(v);
    scale = v < 10 ? 100 : v < 100 ? 10 : 1;
    fixed = whole * scale + Math.floor(((n - whole * unit) * scale + unit / 2) / unit);
  }
  // Now fixed < 1024 · 100: int32 arithmetic.
  const integer = (fixed / scale) | 0;
  const fraction = fixed - integer * scale;
  let q = putDigits(buf, p, integer);
  if (scale > 1) {
    const tens = (fraction / 10) | 0;
    buf[q++] = 0x2e;
    if (scale === 100) buf[q++] = 0x30 + tens;
    buf[q++] = 0x30 + fraction - tens * 10;
  }
  const name = UNIT_NAMES[u]!;
  for (let k = 0; k < name.length; k++) buf[q++] = name.charCodeAt(k);
  return q;
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
    // The name's hash seeded with the parent's id: one folder name under many parents spreads.
    const h = KeySet.hash(src, from, to, Math.imul(parent ^ 0x811c9dc5, 0x01000193)) >>> 0;
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
  /** The number `download --select` takes: padding files have none (-1). */
  readonly dataIndex: Int32Array;
}

/**
 * Places each file in its folder. A file whose folder the reader numbered (`PathIndex`) is
 * placed by that number once another file of the folder has been; the first file of each
 * folder, and every file of a table without an index, walks its path from the top.
 */
function buildTree(table: FileTable): Tree {
  const folders = new Folders();
  const index = table.pathIndex;
  const nameFrom = index?.nameFrom ?? new Int32Array(table.count).fill(-1);
  const nameTo = index?.nameTo ?? new Int32Array(table.count).fill(-1);
  const dataIndex = new Int32Array(table.count);
  // The tree's folder for each of the reader's numbers, once known (else -1).
  const placed = new Int32Array(index?.folderCount ?? 0).fill(-1);
  const spans: number[] = [];
  for (let i = 0, data = 0; i < table.count; i++) {
    dataIndex[i] = table.isPad(i) ? -1 : data++;
    const known = index === undefined ? NO_FOLDER : index.folder[i]!;
    let node = known === -1 ? 0 : known >= 0 ? placed[known]! : -1;
    if (node < 0) {
      node = 0;
      const verbatim = table.verbatimSpans(i, spans);
      if (verbatim !== undefined) {
        for (let k = 0; k < spans.length - 2; k += 2) node = folders.child(node, verbatim, spans[k]!, spans[k + 1]!);
      } else {
        const path = table.path(i);
        for (let c = 0; c < path.length - 1; c++) node = folders.child(node, path[c]!, 0, path[c]!.length);
      }
      if (known >= 0) placed[known] = node;
    }
    folders.children[node]!.push(i);
  }
  return { folders, source: index?.source, nameFrom, nameTo, dataIndex };
}

/** Room for a file line besides its head and name: `[index] `, two spaces, the size, a newline. */
const LINE_EXTRA = 40;

function writeFile(table: FileTable, tree: Tree, i: number, head: Buffer, out: TextSink): void {
  const dataIndex = tree.dataIndex[i]!;
  const from = tree.nameFrom[i]!;
  const to = tree.nameTo[i]!;
  let buf = out.reserve(head.length + (from >= 0 ? to - from : 0) + LINE_EXTRA);
  let p = putBytes(buf, out.pos, head, 0, head.length);
  if (dataIndex >= 0) {
    buf[p++] = 0x5b; // [
    p = putDigits(buf, p, dataIndex);
    buf[p++] = 0x5d; // ]
    buf[p++] = 0x20;
  }
  if (from >= 0) p = putBytes(buf, p, tree.source!, from, to);
  else {
    out.pos = p;
    out.write(safeText(table.name(i)));
    buf = out.reserve(LINE_EXTRA);
    p = out.pos;
  }
  buf[p++] = 0x20;
  buf[p++] = 0x20;
  const length = table.length(i);
  const sized = putSize(buf, p, length);
  out.pos = sized < 0 ? p : sized;
  if (sized < 0) out.write(humanBytes(length));
  const link = table.symlinkPath(i);
  if (table.isPad(i) || link !== undefined) {
    out.write(`${table.isPad(i) ? ' [padding]' : ''}${link === undefined ? '' : ` -> ${safeText(link.join('/'))}`}\n`);
  } else out.reserve(1)[out.pos++] = 0x0a;
}

/** Writes one line per folder and file below the top folder, each ending in a newline. */
export function writeTree(table: FileTable, out: TextSink): void {
  const tree = buildTree(table);
  const stack = [frame(tree.folders.children[0]!, Buffer.alloc(0))];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next === top.children.length) {
      stack.pop();
      continue;
    }
    const child = top.children[top.next++]!;
    const last = top.next === top.children.length;
    const head = last ? top.elbow : top.tee;
    if (child >= 0) writeFile(table, tree, child, head, out);
    else {
      const f = asChild(child);
      out.pos = putBytes(out.reserve(head.length), out.pos, head, 0, head.length);
      out.write(`${safeText(tree.folders.names[f]!)}/\n`);
      stack.push(frame(tree.folders.children[f]!, Buffer.concat([top.prefix, last ? GAP : BAR])));
    }
  }
}

/** A folder being printed: its children, the next one, and the starts of their lines. */
interface Frame {
  readonly children: number[];
  next: number;
  readonly prefix: Buffer;
  readonly tee: Buffer;
  readonly elbow: Buffer;
}

function frame(children: number[], prefix: Buffer): Frame {
  return { children, next: 0, prefix, tee: Buffer.concat([prefix, TEE]), elbow: Buffer.concat([prefix, ELBOW]) };
}
