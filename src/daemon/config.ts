/**
 * The daemon's settings: one table of defaults, the config file (`settings.json` in the
 * config folder, the same names as the command-line flags) read and checked key by key, and
 * the merge (command-line flags win over the file, the file over the defaults).
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { EncryptionPolicy } from '../mse/index.js';
import { ENCRYPTION_POLICIES } from '../mse/index.js';
import { ownEntry } from '../util/own.js';
import { DaemonError } from './errors.js';

export interface DaemonSettings {
  /** Where torrents are downloaded unless a request names another allowed folder. */
  downloadDir: string;
  /** Other folders an RPC or API request may name as a torrent's download folder. */
  allowedDirs: string[];
  /** `.torrent` files dropped here are added (and renamed `*.added`). */
  watchDir: string | undefined;
  rpcPort: number;
  rpcBind: string;
  rpcUsername: string | undefined;
  rpcPassword: string | undefined;
  /** Host names (besides IP literals and `localhost`) a request's Host header may carry. */
  rpcHostWhitelist: string[];
  /** Largest request body accepted, in bytes. */
  rpcMaxBody: number;
  /** BitTorrent listen port; undefined: the first free of 6881–6889. */
  port: number | undefined;
  dht: boolean;
  /** Session-wide limits in bytes per second; 0: none. */
  maxDown: number;
  maxUp: number;
  encryption: EncryptionPolicy;
  maxPeersPerIp: number | undefined;
  /** Torrents added without a `paused` flag start at once. */
  startAddedTorrents: boolean;
}

/** `$XDG_CONFIG_HOME/tessera/daemon`, else `~/.config/tessera/daemon`. */
export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME !== undefined && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(homedir(), '.config');
  return path.join(base, 'tessera', 'daemon');
}

export function defaultSettings(): DaemonSettings {
  return {
    downloadDir: path.join(homedir(), 'Downloads'),
    allowedDirs: [],
    watchDir: undefined,
    rpcPort: 9091,
    rpcBind: '127.0.0.1',
    rpcUsername: undefined,
    rpcPassword: undefined,
    rpcHostWhitelist: [],
    rpcMaxBody: 16 * 1024 * 1024,
    port: undefined,
    dht: true,
    maxDown: 0,
    maxUp: 0,
    encryption: 'prefer',
    maxPeersPerIp: undefined,
    startAddedTorrents: true,
  };
}

export const SETTINGS_FILE = 'settings.json';
const MAX_SETTINGS_BYTES = 1024 * 1024;

type Kind = 'string' | 'strings' | 'port' | 'count' | 'boolean' | 'encryption';

/** The file's names (as the flags spell them) and the settings they fill. */
const KEYS: Record<string, { key: keyof DaemonSettings; kind: Kind }> = {
  'download-dir': { key: 'downloadDir', kind: 'string' },
  'allowed-dirs': { key: 'allowedDirs', kind: 'strings' },
  'watch-dir': { key: 'watchDir', kind: 'string' },
  'rpc-port': { key: 'rpcPort', kind: 'port' },
  'rpc-bind': { key: 'rpcBind', kind: 'string' },
  'rpc-username': { key: 'rpcUsername', kind: 'string' },
  'rpc-password': { key: 'rpcPassword', kind: 'string' },
  'rpc-host-whitelist': { key: 'rpcHostWhitelist', kind: 'strings' },
  'rpc-max-body': { key: 'rpcMaxBody', kind: 'count' },
  port: { key: 'port', kind: 'port' },
  dht: { key: 'dht', kind: 'boolean' },
  'max-down': { key: 'maxDown', kind: 'count' },
  'max-up': { key: 'maxUp', kind: 'count' },
  encryption: { key: 'encryption', kind: 'encryption' },
  'max-peers-per-ip': { key: 'maxPeersPerIp', kind: 'count' },
  'start-added-torrents': { key: 'startAddedTorrents', kind: 'boolean' },
};

function checked(name: string, kind: Kind, v: unknown): unknown {
  const bad = (want: string): DaemonError => new DaemonError('bad-config', `${SETTINGS_FILE}: '${name}' wants ${want}`);
  switch (kind) {
    case 'string':
      if (typeof v !== 'string' || v === '' || v.includes('\0')) throw bad('a non-empty string');
      return v;
    case 'strings':
      if (!Array.isArray(v) || v.length > 256 || !v.every((s) => typeof s === 'string' && s !== '' && !s.includes('\0'))) throw bad('a list of strings');
      return [...(v as string[])];
    case 'port':
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 65535) throw bad('a port number 0–65535');
      return v;
    case 'count':
      if (!Number.isSafeInteger(v) || (v as number) < 0) throw bad('a whole number ≥ 0');
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw bad('true or false');
      return v;
    case 'encryption':
      if (!(ENCRYPTION_POLICIES as readonly unknown[]).includes(v)) throw bad('prefer, require or off');
      return v;
  }
}

/** Settings given in a file: only the keys present, each checked. Unknown keys are an error (a typo would otherwise pass silently). */
export function parseSettings(text: string): Partial<DaemonSettings> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new DaemonError('bad-config', `${SETTINGS_FILE} is not valid JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new DaemonError('bad-config', `${SETTINGS_FILE} must hold a JSON object`);
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    const def = ownEntry(KEYS, name);
    if (def === undefined) throw new DaemonError('bad-config', `${SETTINGS_FILE}: unknown setting '${name}'`);
    if (name === 'max-peers-per-ip' && ((value as number) < 1 || (value as number) > 1000)) throw new DaemonError('bad-config', `${SETTINGS_FILE}: 'max-peers-per-ip' wants 1–1000`);
    out[def.key] = checked(name, def.kind, value);
  }
  return out as Partial<DaemonSettings>;
}

/** The config file's settings, or none when the file does not exist. */
export async function readSettingsFile(configDir: string): Promise<Partial<DaemonSettings>> {
  let text: string;
  try {
    const buf = await readFile(path.join(configDir, SETTINGS_FILE));
    if (buf.length > MAX_SETTINGS_BYTES) throw new DaemonError('bad-config', `${SETTINGS_FILE} is larger than 1 MiB`);
    text = buf.toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    if (err instanceof DaemonError) throw err;
    throw new DaemonError('bad-config', `cannot read ${SETTINGS_FILE}: ${(err as Error).message}`);
  }
  return parseSettings(text);
}

/** Defaults, then the file, then the flags; folders made absolute. */
export function mergeSettings(file: Partial<DaemonSettings>, flags: Partial<DaemonSettings>): DaemonSettings {
  const merged = { ...defaultSettings() } as DaemonSettings;
  for (const layer of [file, flags]) {
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  }
  merged.downloadDir = path.resolve(merged.downloadDir);
  merged.allowedDirs = merged.allowedDirs.map((d) => path.resolve(d));
  if (merged.watchDir !== undefined) merged.watchDir = path.resolve(merged.watchDir);
  return merged;
}
