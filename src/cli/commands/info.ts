/**
 * `tessera info <file.torrent|magnet:> [--json]`: what a torrent or magnet link holds, with no
 * network. Every string that came from the torrent passes through `safeText` before printing.
 *
 * `--fetch` (magnets only) is the one networked form: it fetches the metadata from peers
 * (BEP 9; the link's trackers and `x.pe` peers, `--peer`, and the DHT unless `--no-dht`) and
 * prints it as for a .torrent file. It is opt-in so that `info` stays offline by default.
 */
import { parseTorrentOrMagnet } from '../../metainfo/magnet.js';
import type { MagnetLink, Metainfo } from '../../metainfo/types.js';
import { CliError, ExitCode, humanBytes, safeText, type CliContext, type Command } from '../context.js';
import { parseCommandLine, type OptionValues } from '../options.js';
import { infoSpec } from '../specs.js';
import { TextSink, writeTree } from '../tree-view.js';

/** The options that only make sense with --fetch, as the user may have typed them. */
const FETCH_ONLY = new Set(['--save-torrent', '--peer', '--dht-bootstrap', '--no-dht', '--timeout', '--port', '-p']);

function networkOnlyFlag(argv: readonly string[]): string | undefined {
  for (const a of argv) {
    if (a === '--') return undefined;
    const flag = a.startsWith('--') ? a.split('=')[0]! : a.slice(0, 2);
    if (FETCH_ONLY.has(flag)) return flag;
  }
  return undefined;
}

/** 1234567 -> "1,234,567" (without Intl, whose first use costs a tenth of a second). */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
}

function size(n: number): string {
  return `${humanBytes(n)} (${grouped(n)} bytes)`;
}

function hashLines(meta: Metainfo): string[] {
  if (meta.v2 === undefined) return [`info hash:     ${meta.infoHashHex}`];
  const v2 = [`v2 info hash:  ${meta.v2.infoHashHex}`];
  if (!meta.v2.layersComplete) v2.push('piece layers:  incomplete (the missing ones come from peers)');
  if (meta.hybrid) return [`version:       v1+v2 hybrid (BEP 52)`, `info hash:     ${meta.infoHashHex}`, ...v2];
  return [`version:       v2 only (BEP 52)`, ...v2, `swarm hash:    ${meta.infoHashHex} (truncated, for trackers and the DHT)`];
}

function torrentText(meta: Metainfo): Buffer {
  const { info } = meta;
  const out = [
    `name:          ${safeText(info.name)}`,
    ...hashLines(meta),
    `total size:    ${size(info.length)}`,
    `pieces:        ${info.pieceCount} x ${humanBytes(info.pieceLength)} (${info.pieceLength} bytes)`,
    `private:       ${info.private ? 'yes' : 'no'}`,
  ];
  if (info.source !== undefined) out.push(`source:        ${safeText(info.source)}`);
  if (meta.createdBy !== undefined) out.push(`created by:    ${safeText(meta.createdBy)}`);
  if (meta.creationDate !== undefined) {
    const d = new Date(meta.creationDate * 1000);
    out.push(`created on:    ${Number.isNaN(d.getTime()) ? meta.creationDate : d.toISOString()}`);
  }
  if (meta.comment !== undefined) out.push(`comment:       ${safeText(meta.comment)}`);
  out.push(meta.announce.length === 0 ? 'trackers:      none' : 'trackers:');
  meta.announce.forEach((tier, i) => out.push(`  tier ${i + 1}: ${tier.map(safeText).join(', ')}`));
  if (meta.urlList.length > 0) {
    out.push('web seeds:');
    for (const url of meta.urlList) out.push(`  ${safeText(url)}`);
  }
  const table = info.fileTable;
  // About a line of 60 bytes per file.
  const text = new TextSink(4096 + table.count * 64);
  if (info.multiFile) {
    out.push(`files (${table.count - table.padCount}):`, `${safeText(info.name)}/`);
    text.write(`${out.join('\n')}\n`);
    writeTree(table, text);
  } else {
    out.push(`file:          ${safeText(info.name)}  ${humanBytes(info.length)}`);
    text.write(`${out.join('\n')}\n`);
  }
  if (meta.warnings.length > 0) {
    text.write(`warnings (${meta.warnings.length}):\n`);
    for (const w of meta.warnings) text.write(`  ${safeText(w)}\n`);
  }
  return text.bytes();
}

function torrentJson(meta: Metainfo): object {
  let dataIndex = 0;
  const { info } = meta;
  return {
    kind: 'torrent',
    name: safeText(info.name),
    infoHash: meta.infoHashHex,
    length: info.length,
    pieceLength: info.pieceLength,
    pieceCount: info.pieceCount,
    private: info.private,
    hybrid: meta.hybrid,
    version: meta.v2 === undefined ? 1 : meta.hybrid ? 'hybrid' : 2,
    ...(meta.v2 === undefined ? {} : { infoHashV2: meta.v2.infoHashHex }),
    multiFile: info.multiFile,
    ...(info.source === undefined ? {} : { source: safeText(info.source) }),
    ...(meta.comment === undefined ? {} : { comment: safeText(meta.comment) }),
    ...(meta.createdBy === undefined ? {} : { createdBy: safeText(meta.createdBy) }),
    ...(meta.creationDate === undefined ? {} : { creationDate: meta.creationDate }),
    announce: meta.announce.map((tier) => tier.map(safeText)),
    urlList: meta.urlList.map(safeText),
    files: Array.from(info.fileTable, (f) => ({
      ...(f.pad ? {} : { index: dataIndex++ }),
      path: f.path.map(safeText),
      length: f.length,
      offset: f.offset,
      ...(f.pad ? { pad: true } : {}),
      ...(f.attr === '' ? {} : { attr: f.attr }),
      ...(f.symlinkPath === undefined ? {} : { symlinkPath: f.symlinkPath.map(safeText) }),
    })),
    warnings: meta.warnings.map(safeText),
  };
}

function magnetText(m: MagnetLink): string {
  const out = ['magnet link (nothing fetched: the name and files come from peers)'];
  if (m.infoHashHex !== undefined) out.push(`info hash:     ${m.infoHashHex}`);
  if (m.btmh !== undefined) out.push(`v2 multihash:  ${m.btmh}`);
  out.push(`name:          ${m.name === undefined ? '(not given)' : safeText(m.name)}`);
  out.push(m.trackers.length === 0 ? 'trackers:      none' : 'trackers:');
  for (const t of m.trackers) out.push(`  ${safeText(t)}`);
  if (m.peers.length > 0) out.push('peers:', ...m.peers.map((p) => `  ${p.host.includes(':') ? `[${p.host}]` : safeText(p.host)}:${p.port}`));
  if (m.webSeeds.length > 0) out.push('web seeds:', ...m.webSeeds.map((w) => `  ${safeText(w)}`));
  if (m.select !== undefined) out.push(`selected files: ${m.select.join(', ')}`);
  return `${out.join('\n')}\n`;
}

function magnetJson(m: MagnetLink): object {
  return {
    kind: 'magnet',
    ...(m.infoHashHex === undefined ? {} : { infoHash: m.infoHashHex }),
    ...(m.btmh === undefined ? {} : { btmh: m.btmh }),
    ...(m.name === undefined ? {} : { name: safeText(m.name) }),
    trackers: m.trackers.map(safeText),
    peers: m.peers.map((p) => ({ host: safeText(p.host), port: p.port })),
    webSeeds: m.webSeeds.map(safeText),
    ...(m.select === undefined ? {} : { select: m.select }),
  };
}

type FetchFlags = OptionValues<typeof infoSpec.options>;

async function fetchAndSave(magnet: MagnetLink, ctx: CliContext, v: FetchFlags): Promise<Metainfo | undefined> {
  // Loaded only for --fetch: reading a torrent file needs none of the engine (nor the
  // argument parsers, whose module brings the encryption layer).
  const { parseDuration, parsePeerArg, parsePort } = await import('../args.js');
  const port = parsePort(v.port, '--port');
  const timeoutS = parseDuration(v.timeout, '--timeout');
  const [{ fetchMetadataOnly, saveTorrentFile }, { dhtOptionsOf }] = await Promise.all([import('../run-torrents.js'), import('./download.js')]);
  const fetched = await fetchMetadataOnly({ kind: 'magnet', magnet }, ctx, {
    peers: v.peer.map(parsePeerArg),
    dht: dhtOptionsOf(v['no-dht'], v['dht-bootstrap']),
    port,
    idleTimeoutS: timeoutS,
  });
  if (fetched === undefined) return undefined;
  if (v['save-torrent'] !== undefined) await saveTorrentFile(v['save-torrent'], fetched.torrentBytes);
  return fetched.meta;
}

export const infoCommand: Command = async (argv: string[], ctx: CliContext): Promise<number> => {
  const { values: v, positionals } = parseCommandLine(argv, infoSpec);
  const target = positionals[0]!;
  const networkFlag = networkOnlyFlag(argv);
  if (!v.fetch && networkFlag !== undefined) throw new CliError(ExitCode.usage, `${networkFlag} needs --fetch (it only applies when fetching a magnet's metadata)`);
  const what = await parseTorrentOrMagnet(target);
  const json = v.json;
  if (v.fetch && what.kind !== 'magnet') throw new CliError(ExitCode.usage, '--fetch is for magnet links: a .torrent file already holds the metadata');
  if (what.kind === 'torrent') {
    ctx.stdout.write(json ? `${JSON.stringify(torrentJson(what.meta))}\n` : torrentText(what.meta));
  } else if (v.fetch) {
    const meta = await fetchAndSave(what.magnet, ctx, v);
    if (meta === undefined) return ExitCode.interrupted;
    ctx.stdout.write(json ? `${JSON.stringify(torrentJson(meta))}\n` : torrentText(meta));
  } else {
    ctx.stdout.write(json ? `${JSON.stringify(magnetJson(what.magnet))}\n` : magnetText(what.magnet));
  }
  return ExitCode.ok;
};
