/**
 * The command-line tables of every `tessera` command: one place that says which options a
 * command takes, what they mean and what they default to. The parser and `--help` both read
 * these (options.ts); the commands read the parsed values.
 */
import type { CommandSpec } from './options.js';

const PORT_DEFAULT = 'first free of 6881-6889, else any';

export const downloadSpec = {
  name: 'download',
  args: '<source>...',
  summary:
    'Download torrents (.torrent files, magnet links, info hashes or http(s) URLs of .torrent files) in one session, verify every piece, and exit 0 once every content is complete on disk.',
  positionals: { min: 1, max: 64 },
  options: {
    output: { type: 'string', short: 'o', value: 'DIR', default: '.', help: 'folder to download into' },
    port: { type: 'string', short: 'p', value: 'N', defaultText: PORT_DEFAULT, help: 'listen port (0 picks a free one)' },
    peer: { type: 'string', multiple: true, value: 'HOST:PORT', help: 'dial this peer directly' },
    timeout: { type: 'string', value: 'DURATION', default: '120s', help: 'give up when no peer has been reachable, or none has sent data, for this long' },
    seed: { type: 'boolean', help: 'keep seeding after completion, until Ctrl-C' },
    ratio: { type: 'string', value: 'R', help: 'stop seeding at this upload ratio (implies --seed)' },
    'seed-time': { type: 'string', value: 'DURATION', help: 'stop seeding after this long (implies --seed)' },
    'no-dht': { type: 'boolean', help: 'do not use the DHT' },
    'dht-bootstrap': { type: 'string', multiple: true, value: 'HOST:PORT', defaultText: 'the public routers', help: 'DHT bootstrap node' },
    lsd: { type: 'boolean', help: 'find peers on the local network (BEP 14)' },
    'save-torrent': { type: 'string', value: 'FILE', help: 'for a single magnet link, also write the fetched metadata as a .torrent file' },
    recheck: { type: 'boolean', help: 'ignore the resume record: read and hash all data already on disk' },
    encryption: { type: 'string', value: 'POLICY', default: 'prefer', help: 'protocol encryption (MSE/PE): prefer, require or off' },
    'no-port-mapping': { type: 'boolean', help: 'do not ask the router to forward the listen port (UPnP IGD, PCP, NAT-PMP)' },
    'no-utp': { type: 'boolean', help: 'TCP only: no uTP (BEP 29) in or out' },
    'max-peers-per-ip': { type: 'string', value: 'N', defaultText: '3', help: 'connections one IP address may hold (raise it where peers share an address, as on 127.0.0.1)' },
    quiet: { type: 'boolean', short: 'q', help: 'no progress display' },
    'max-down': { type: 'string', value: 'RATE', default: '0', help: 'download limit in bytes/s: 500k, 20M (K/M/G = 1024^n; 0 = none)' },
    'max-up': { type: 'string', value: 'RATE', default: '0', help: 'upload limit in bytes/s: 500k, 20M (K/M/G = 1024^n; 0 = none)' },
    json: { type: 'boolean', help: 'one JSON object per line on standard output (schema in README)' },
    sequential: { type: 'boolean', help: 'fetch pieces in order instead of rarest first' },
    'on-done': { type: 'string', value: 'CMD', help: 'run this shell command when the download completes, with the output path as $1' },
    select: { type: 'string', value: 'LIST', defaultText: "every file, or a magnet link's so=", help: "download only these files, numbered from 0 as 'tessera info' lists them: 0,2-4 (one source only)" },
    only: { type: 'string', multiple: true, value: 'GLOB', help: "download only files matching GLOB ('*.mkv' matches names, 'sub/**' paths below the torrent's folder)" },
    exclude: { type: 'string', multiple: true, value: 'GLOB', help: 'do not download files matching GLOB (same patterns as --only)' },
    'web-seed': { type: 'string', multiple: true, value: 'URL', help: 'also download from this web seed (BEP 19, http or https)' },
    'no-web-seeds': { type: 'boolean', help: "ignore the torrent's own web seeds (url-list)" },
  },
} as const satisfies CommandSpec;

export const seedSpec = {
  name: 'seed',
  args: '<file.torrent>... <dir>',
  summary:
    "Seed torrents whose content is already in <dir> (the folder given to 'download -o'), in one session. Every piece is verified first (trusted from the resume record where the files are unchanged).",
  positionals: { min: 2, max: 65 },
  options: {
    port: { type: 'string', short: 'p', value: 'N', defaultText: PORT_DEFAULT, help: 'listen port (0 picks a free one)' },
    peer: { type: 'string', multiple: true, value: 'HOST:PORT', help: 'dial this peer directly' },
    recheck: { type: 'boolean', help: 'ignore the resume record: read and hash all data in <dir>' },
    encryption: { type: 'string', value: 'POLICY', default: 'prefer', help: 'protocol encryption (MSE/PE): prefer, require or off' },
    'no-port-mapping': { type: 'boolean', help: 'do not ask the router to forward the listen port (UPnP IGD, PCP, NAT-PMP)' },
    'no-utp': { type: 'boolean', help: 'TCP only: no uTP (BEP 29) in or out' },
    'max-peers-per-ip': { type: 'string', value: 'N', defaultText: '3', help: 'connections one IP address may hold (raise it where peers share an address, as on 127.0.0.1)' },
    quiet: { type: 'boolean', short: 'q', help: 'no progress display' },
    'max-down': { type: 'string', value: 'RATE', default: '0', help: 'download limit in bytes/s: 500k, 20M (K/M/G = 1024^n; 0 = none)' },
    'max-up': { type: 'string', value: 'RATE', default: '0', help: 'upload limit in bytes/s: 500k, 20M (K/M/G = 1024^n; 0 = none)' },
    json: { type: 'boolean', help: 'one JSON object per line on standard output (schema in README)' },
  },
} as const satisfies CommandSpec;

export const streamSpec = {
  name: 'stream',
  args: '<file.torrent|magnet:>',
  summary: 'Download a torrent while serving its files over HTTP on 127.0.0.1, the bytes being read first; prints one URL per file and serves until Ctrl-C.',
  positionals: { min: 1, max: 1 },
  options: {
    output: { type: 'string', short: 'o', value: 'DIR', default: '.', help: 'folder to download into' },
    file: { type: 'string', value: 'N', defaultText: 'every file', help: "download and serve only file N (numbered from 0 as 'tessera info' lists them)" },
    'http-port': { type: 'string', value: 'P', default: '0', help: 'HTTP port on 127.0.0.1 (0 picks a free one)' },
    player: { type: 'string', value: 'mpv|vlc', help: 'open the first URL in this player when it is installed' },
    port: { type: 'string', short: 'p', value: 'N', defaultText: PORT_DEFAULT, help: 'listen port for peers (0 picks a free one)' },
    peer: { type: 'string', multiple: true, value: 'HOST:PORT', help: 'dial this peer directly' },
    timeout: { type: 'string', value: 'DURATION', default: '120s', help: "give up on a magnet's metadata after this long without it" },
    'no-dht': { type: 'boolean', help: 'do not use the DHT' },
    'dht-bootstrap': { type: 'string', multiple: true, value: 'HOST:PORT', defaultText: 'the public routers', help: 'DHT bootstrap node' },
    'no-utp': { type: 'boolean', help: 'TCP only: no uTP (BEP 29) in or out' },
    quiet: { type: 'boolean', short: 'q', help: 'no progress display' },
    'max-down': { type: 'string', value: 'RATE', default: '0', help: 'download limit in bytes/s: 500k, 20M (K/M/G = 1024^n; 0 = none)' },
    'max-up': { type: 'string', value: 'RATE', default: '0', help: 'upload limit in bytes/s: 500k, 20M (K/M/G = 1024^n; 0 = none)' },
    json: { type: 'boolean', help: 'one JSON object per line on standard output (schema in README)' },
  },
} as const satisfies CommandSpec;

export const createSpec = {
  name: 'create',
  args: '<file-or-folder>',
  summary: 'Make a .torrent file for a file or a folder.',
  positionals: { min: 1, max: 1 },
  options: {
    output: { type: 'string', short: 'o', value: 'FILE', defaultText: 'required', help: 'where to write the .torrent file' },
    tracker: { type: 'string', short: 't', multiple: true, value: 'URL[,URL…]', help: 'announce URL; commas make one tier, each flag a new tier' },
    'piece-length': { type: 'string', short: 'l', value: 'SIZE', defaultText: 'chosen from the total size', help: 'piece length: 262144, 256KiB, 4MiB' },
    private: { type: 'boolean', short: 'p', help: 'mark the torrent private (BEP 27: trackers only)' },
    comment: { type: 'string', short: 'c', value: 'TEXT', help: 'comment stored in the torrent' },
    'web-seed': { type: 'string', short: 'w', multiple: true, value: 'URL', help: 'web seed URL (BEP 19)' },
    source: { type: 'string', short: 's', value: 'TEXT', help: 'source tag in the info dictionary' },
    v2: { type: 'boolean', help: 'BitTorrent v2 only (BEP 52): SHA-256 merkle trees; v1-only clients cannot read it' },
    hybrid: { type: 'boolean', help: 'v1 and v2 in one torrent (BEP 52): joins both swarms, adds pad files' },
  },
} as const satisfies CommandSpec;

export const infoSpec = {
  name: 'info',
  args: '<file.torrent|magnet:>',
  summary: 'Show what a torrent or magnet link holds, without touching the network unless --fetch is given.',
  positionals: { min: 1, max: 1 },
  options: {
    json: { type: 'boolean', help: 'print one JSON object instead of text' },
    fetch: { type: 'boolean', help: 'for a magnet link, fetch the metadata from peers and show it' },
    'save-torrent': { type: 'string', value: 'FILE', help: 'with --fetch, write the metadata as a .torrent file' },
    peer: { type: 'string', multiple: true, value: 'HOST:PORT', help: 'with --fetch, dial this peer directly' },
    'dht-bootstrap': { type: 'string', multiple: true, value: 'HOST:PORT', defaultText: 'the public routers', help: 'with --fetch, DHT bootstrap node' },
    'no-dht': { type: 'boolean', help: 'with --fetch, do not use the DHT' },
    port: { type: 'string', short: 'p', value: 'N', default: '0', help: 'with --fetch, listen port (0 picks a free one)' },
    timeout: { type: 'string', value: 'DURATION', default: '120s', help: 'with --fetch, give up when no peer has been reachable for this long' },
  },
} as const satisfies CommandSpec;

export const peersSpec = {
  name: 'peers',
  args: '<file.torrent|magnet:>',
  summary: 'Announce to every tracker of a torrent or magnet link and print the peers each returned.',
  positionals: { min: 1, max: 1 },
  options: {
    json: { type: 'boolean', help: 'print one JSON object instead of text' },
  },
} as const satisfies CommandSpec;

export const trackerSpec = {
  name: 'tracker',
  args: '',
  summary: 'Run the built-in tracker (HTTP and UDP, any info hash, in memory) until Ctrl-C.',
  positionals: { min: 0, max: 0 },
  options: {
    'http-port': { type: 'string', value: 'N', default: '6969', help: 'HTTP port (0 picks a free one)' },
    'udp-port': { type: 'string', value: 'N', default: '6969', help: 'UDP port (0 picks a free one)' },
    host: { type: 'string', value: 'IP', default: '127.0.0.1', help: 'address to listen on' },
    interval: { type: 'string', value: 'SECONDS', default: '1800', help: 'announce interval given to clients' },
  },
} as const satisfies CommandSpec;

export const demoSpec = {
  name: 'demo',
  args: '',
  summary: 'Download a sample torrent from local seeders and a built-in tracker, all on 127.0.0.1.',
  positionals: { min: 0, max: 0 },
  options: {
    seeders: { type: 'string', short: 'n', value: 'N', default: '3', help: 'number of seeders' },
    size: { type: 'string', short: 's', value: 'MiB', default: '64', help: 'size of the sample data' },
    keep: { type: 'boolean', short: 'k', help: 'keep the temporary folder afterwards' },
  },
} as const satisfies CommandSpec;

export const daemonSpec = {
  name: 'daemon',
  args: '',
  summary:
    "Run as a service: torrents added over Transmission's RPC (transmission-remote, media tools), Tessera's HTTP API or the web interface at http://127.0.0.1:9091/, kept across restarts.",
  positionals: { min: 0, max: 0 },
  options: {
    'download-dir': { type: 'string', value: 'DIR', defaultText: '~/Downloads', help: 'folder torrents download into' },
    'config-dir': { type: 'string', value: 'DIR', defaultText: '$XDG_CONFIG_HOME/tessera/daemon', help: 'folder of settings.json, the saved torrent list and resume records' },
    'watch-dir': { type: 'string', value: 'DIR', help: '.torrent files dropped here are added (then renamed *.added)' },
    'allow-dir': { type: 'string', multiple: true, value: 'DIR', help: 'another folder a request may choose as download folder' },
    'rpc-port': { type: 'string', value: 'N', defaultText: '9091', help: 'HTTP port of the RPC, API and web interface (0 picks a free one)' },
    'rpc-bind': { type: 'string', value: 'ADDR', defaultText: '127.0.0.1', help: 'HTTP address; any other than loopback needs --rpc-username and a password' },
    'rpc-username': { type: 'string', value: 'USER', help: 'require HTTP basic authentication; the password comes from $TESSERA_RPC_PASSWORD or settings.json' },
    'rpc-host-whitelist': { type: 'string', multiple: true, value: 'NAME', help: 'host name the HTTP server answers to besides IP addresses and localhost (*.example.org allowed)' },
    port: { type: 'string', short: 'p', value: 'N', defaultText: PORT_DEFAULT, help: 'listen port for peers (0 picks a free one)' },
    'no-dht': { type: 'boolean', help: 'do not use the DHT' },
    'max-down': { type: 'string', value: 'RATE', defaultText: '0', help: 'download limit in bytes/s: 500k, 20M (K/M/G = 1024^n; 0 = none)' },
    'max-up': { type: 'string', value: 'RATE', defaultText: '0', help: 'upload limit in bytes/s: 500k, 20M (K/M/G = 1024^n; 0 = none)' },
    encryption: { type: 'string', value: 'POLICY', defaultText: 'prefer', help: 'protocol encryption (MSE/PE): prefer, require or off' },
    'max-peers-per-ip': { type: 'string', value: 'N', defaultText: '3', help: 'connections one IP address may hold (raise it where peers share an address, as on 127.0.0.1)' },
    'start-paused': { type: 'boolean', help: 'torrents added without saying otherwise start paused' },
  },
} as const satisfies CommandSpec;

/** Every command, in the order the top-level help lists them. */
export const COMMAND_SPECS: readonly CommandSpec[] = [downloadSpec, seedSpec, streamSpec, daemonSpec, createSpec, infoSpec, peersSpec, trackerSpec, demoSpec];
