/**
 * The BEP 52 `file tree`: nested dictionaries keyed by path component, each file a dictionary
 * whose only key is the empty string, holding `length` and (for non-empty files) a 32-byte
 * `pieces root`. Walked iteratively in key order (the order of files in piece space), with
 * the file count bounded; depth is bounded by the bencode decoder and by the path limit.
 */
import { asBytes, asDict, asList, type BDict, type BValue } from '../bencode/index.js';
import { MetainfoError, quote } from './errors.js';
import { MAX_PATH_COMPONENTS } from './safe-path.js';

/** A file of the tree before sanitizing: raw path components, as in the file. */
export interface TreeFile {
  readonly path: readonly Uint8Array[];
  readonly length: number;
  /** Absent for empty files and symlinks. */
  readonly root: Uint8Array | undefined;
  /** BEP 47 attribute letters. */
  readonly attr: string;
  readonly symlinkPath?: readonly Uint8Array[];
}

function fail(code: string, message: string): never {
  throw new MetainfoError(code, message);
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

function showPath(path: readonly string[]): string {
  return quote(path.map((c) => Buffer.from(c, 'latin1').toString('utf8')).join('/'));
}

function fileLength(v: BValue | undefined, where: string): number {
  if (typeof v === 'bigint') fail('invalid-length', `${where}: length ${v} is too large`);
  if (typeof v !== 'number' || v < 0) fail('invalid-length', `${where}: missing or invalid length`);
  return v;
}

function leaf(node: BDict, path: string[]): TreeFile {
  const where = `'file tree' entry ${showPath(path)}`;
  const attrBytes = asBytes(node.get('attr'));
  const attr = attrBytes === undefined ? '' : latin1(attrBytes).replace(/[^a-z]/g, '');
  const symlink = attr.includes('l');
  const length = symlink && !node.has('length') ? 0 : fileLength(node.get('length'), where);
  const rootValue = node.get('pieces root');
  const root = asBytes(rootValue);
  if (rootValue !== undefined && root?.length !== 32) fail('pieces-root', `${where}: 'pieces root' is not 32 bytes`);
  if (attr.includes('p')) fail('pad-file', `${where}: a v2 file tree holds no pad files`);
  const raw = path.map((c) => Buffer.from(c, 'latin1'));
  if (symlink) {
    const target = asList(node.get('symlink path')) ?? fail('invalid-symlink', `${where}: no valid 'symlink path'`);
    const symlinkPath = target.map((c) => asBytes(c) ?? fail('invalid-symlink', `${where}: 'symlink path' holds a non-string`));
    return { path: raw, length: 0, root: undefined, attr, symlinkPath };
  }
  if (length > 0) {
    if (root === undefined) fail('pieces-root', `${where}: missing 'pieces root'`);
    if (root.every((b) => b === 0)) fail('pieces-root', `${where}: 'pieces root' is all zeros`);
  }
  return { path: raw, length, root: length > 0 ? root : undefined, attr };
}

/** The files of a `file tree` in piece-space order. Throws MetainfoError on any malformed node. */
export function walkFileTree(tree: BDict, maxFiles: number): TreeFile[] {
  const files: TreeFile[] = [];
  const stack: { node: BDict; path: string[] }[] = [{ node: tree, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    const children: { node: BDict; path: string[] }[] = [];
    for (const [key, value] of node) {
      const child = asDict(value) ?? fail('file-tree', `'file tree' entry ${showPath([...path, key])} is not a dictionary`);
      if (key === '') {
        if (node.size !== 1 || path.length === 0) fail('file-tree', `malformed 'file tree' node at ${showPath(path)}`);
        if (files.length >= maxFiles) fail('too-many-files', `'file tree' has more than ${maxFiles} files`);
        files.push(leaf(child, path));
      } else {
        if (path.length >= MAX_PATH_COMPONENTS) fail('file-tree', `'file tree' deeper than ${MAX_PATH_COMPONENTS}`);
        if (child.size === 0) fail('file-tree', `'file tree' entry ${showPath([...path, key])} is empty`);
        children.push({ node: child, path: [...path, key] });
      }
    }
    // Pushed in reverse so that the walk visits keys in file order.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  if (files.length === 0) fail('no-files', "'file tree' holds no files");
  return files;
}
