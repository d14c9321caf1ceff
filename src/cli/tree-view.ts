/**
 * The tree view of a torrent's files for `tessera info` (`├─`, `└─`), written as UTF-8 straight
 * into one growing buffer: a torrent of 100,000 files prints 100,000 lines, and keeping them as
 * strings until the end costs more in garbage collection than the rest of the command.
 */
import type { FileTable } from '../metainfo/file-table.js';
import { humanBytes, safeText } from './context.js';

/** A folder of the tree; `children` holds folders and file indices in first-seen order. */
interface Folder {
  readonly name: string;
  readonly folders: Map<string, Folder>;
  readonly children: (Folder | number)[];
}

function folder(name: string): Folder {
  return { name, folders: new Map(), children: [] };
}

/** Folders by name, files as indices into the table: no object per file. */
function buildTree(table: FileTable): Folder {
  const root = folder('');
  for (let i = 0; i < table.count; i++) {
    const path = table.path(i);
    let node = root;
    for (let c = 0; c < path.length - 1; c++) {
      const name = path[c]!;
      let next = node.folders.get(name);
      if (next === undefined) {
        next = folder(name);
        node.folders.set(name, next);
        node.children.push(next);
      }
      node = next;
    }
    node.children.push(i);
  }
  return root;
}

/** UTF-8 text appended to a buffer that doubles when full. */
export class TextSink {
  private buf: Buffer;
  private pos = 0;

  constructor(expectedBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(expectedBytes);
  }

  write(s: string): void {
    // A UTF-16 unit takes at most 3 bytes of UTF-8.
    if (this.pos + s.length * 3 > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + s.length * 3));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
    this.pos += this.buf.write(s, this.pos);
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Writes one line per folder and file below the top folder, each ending in a newline. */
export function writeTree(table: FileTable, out: TextSink): void {
  const root = buildTree(table);
  // The number `download --select` takes: padding files have none.
  const dataIndex = new Int32Array(table.count);
  for (let i = 0, k = 0; i < table.count; i++) dataIndex[i] = table.isPad(i) ? -1 : k++;
  const stack: { node: Folder; next: number; prefix: string }[] = [{ node: root, next: 0, prefix: '' }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const child = top.node.children[top.next++];
    if (child === undefined) {
      stack.pop();
      continue;
    }
    const last = top.next === top.node.children.length;
    const head = `${top.prefix}${last ? '└─ ' : '├─ '}`;
    if (typeof child === 'number') {
      const link = table.symlinkPath(child);
      out.write(
        `${head}${dataIndex[child]! < 0 ? '' : `[${dataIndex[child]}] `}${safeText(table.name(child))}  ${humanBytes(table.length(child))}` +
          `${table.isPad(child) ? ' [padding]' : ''}${link === undefined ? '' : ` -> ${safeText(link.join('/'))}`}\n`,
      );
    } else {
      out.write(`${head}${safeText(child.name)}/\n`);
      stack.push({ node: child, next: 0, prefix: top.prefix + (last ? '   ' : '│  ') });
    }
  }
}
