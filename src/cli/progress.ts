/**
 * The live progress display: one line redrawn in place on a terminal, a plain line every few
 * seconds otherwise (logs, pipes, `TERM=dumb`, tests).
 *
 * The live line never wraps (a wrapped line cannot be redrawn with `\r`): it is fitted to the
 * terminal's width, measured in columns, and refitted when the terminal is resized. What gives
 * way first is the torrent's name (shortened in the middle), then the bar, then the least
 * useful figures. A seeder's line speaks of seeding (uploaded, ratio, peers), never of an ETA
 * or of downloading.
 */
import { humanBytes, safeText } from './context.js';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** What the display reads from a running torrent (a subset of its stats). */
export interface ProgressSnapshot {
  readonly state: string;
  readonly bytesVerified: number;
  readonly totalBytes: number;
  readonly uploaded: number;
  readonly downRate: number;
  readonly upRate: number;
  readonly peers: number;
  readonly knownPeers: number;
}

export type ProgressMode = 'download' | 'seed';

export interface LineOptions {
  /** The torrent's name; shortened first when the line is too long. */
  readonly name?: string;
  readonly mode?: ProgressMode;
}

/** Columns a string takes on a terminal: wide (CJK, emoji) characters take two, combining marks none. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch.codePointAt(0)!);
  return w;
}

function charWidth(cp: number): number {
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || cp === 0xfe0f) return 0;
  const wide =
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd);
  return wide ? 2 : 1;
}

/** Cut `s` to at most `width` columns, keeping its start and end around an ellipsis. */
export function shortenMiddle(s: string, width: number): string {
  if (displayWidth(s) <= width) return s;
  if (width <= 0) return '';
  if (width === 1) return '…';
  const chars = [...s];
  const budget = width - 1;
  let head = '';
  let tail = '';
  let used = 0;
  for (let i = 0, j = chars.length - 1; i <= j; ) {
    // Alternate: one from the front, one from the back, while they fit.
    const front = chars[i]!;
    const fw = charWidth(front.codePointAt(0)!);
    if (used + fw > budget) break;
    head += front;
    used += fw;
    i++;
    if (i > j) break;
    const back = chars[j]!;
    const bw = charWidth(back.codePointAt(0)!);
    if (used + bw > budget) break;
    tail = back + tail;
    used += bw;
    j--;
  }
  return `${head}…${tail}`;
}

/** The figures of the line, most important first: the last ones are dropped first when space is short. */
function fields(st: ProgressSnapshot, mode: ProgressMode): string[] {
  const rate = (n: number): string => `${humanBytes(n)}/s`;
  if (mode === 'seed') {
    const ratio = st.totalBytes === 0 ? 0 : st.uploaded / st.totalBytes;
    return [`seeding`, `uploaded ${humanBytes(st.uploaded)}`, `ratio ${ratio.toFixed(2)}`, `up ${rate(st.upRate)}`, `peers ${st.peers}/${st.knownPeers}`];
  }
  const pct = st.totalBytes === 0 ? 100 : (st.bytesVerified / st.totalBytes) * 100;
  const left = st.totalBytes - st.bytesVerified;
  const eta = st.state === 'seeding' || left <= 0 ? '00:00' : formatDuration(st.downRate > 0 ? left / st.downRate : Infinity);
  return [
    `${pct.toFixed(1).padStart(5)}%`,
    `ETA ${eta}`,
    `down ${rate(st.downRate)}`,
    `${humanBytes(st.bytesVerified)} / ${humanBytes(st.totalBytes)}`,
    `peers ${st.peers}/${st.knownPeers}`,
    `up ${rate(st.upRate)}`,
  ];
}

/** Display order of the download figures (their priority order above is not the reading order). */
const DOWNLOAD_ORDER = [0, 3, 2, 5, 4, 1];

function joinFields(all: string[], keep: number, mode: ProgressMode): string {
  const order = mode === 'seed' ? all.map((_, i) => i) : DOWNLOAD_ORDER;
  return order.filter((i) => i < keep).map((i) => all[i]!).join('  ');
}

/**
 * One progress line. `width` 0 means unbounded (plain output: no bar, nothing dropped);
 * otherwise the result is at most `width` columns.
 */
export function progressLine(st: ProgressSnapshot, width: number, opts: LineOptions = {}): string {
  const mode = opts.mode ?? 'download';
  const all = fields(st, mode);
  const name = opts.name === undefined ? '' : safeText(opts.name);
  const named = (n: string, text: string): string => (n === '' ? text : `${n}  ${text}`);
  if (width <= 0) return named(name, joinFields(all, all.length, mode));

  for (let keep = all.length; keep >= 1; keep--) {
    const text = joinFields(all, keep, mode);
    const room = width - displayWidth(text);
    if (room < 0) continue;
    if (name === '' || displayWidth(name) + 2 <= room) {
      const line = named(name, text);
      // A bar only when everything else fits whole and it can be at least 10 wide.
      const barWidth = mode === 'download' && keep === all.length ? Math.min(30, width - displayWidth(line) - 3) : 0;
      if (barWidth < 10) return line;
      const pct = st.totalBytes === 0 ? 1 : st.bytesVerified / st.totalBytes;
      const filled = Math.round(pct * barWidth);
      const bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`;
      return name === '' ? `${bar} ${text}` : `${name} ${bar} ${text}`;
    }
    // The name gives way before any figure does, down to a few recognisable characters.
    if (room - 2 >= 8) return named(shortenMiddle(name, room - 2), text);
  }
  return shortenMiddle(all[0]!, width);
}

type ProgressStream = NodeJS.WritableStream & {
  isTTY?: boolean;
  columns?: number;
  on?(event: 'resize', fn: () => void): unknown;
  off?(event: 'resize', fn: () => void): unknown;
};

export interface DisplayOptions extends LineOptions {
  /** Plain output: one line per this many ms. Default 2000. */
  readonly plainEveryMs?: number;
  /** The environment (for `TERM`); default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/** A terminal that can redraw a line in place: a TTY whose TERM is not `dumb`. */
export function isLiveTerminal(out: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return out.isTTY === true && env.TERM !== 'dumb';
}

export class ProgressDisplay {
  private timer: NodeJS.Timeout | undefined;
  private lastPlain = 0;
  private drawn = false;
  private readonly live: boolean;
  private readonly onResize = (): void => {
    if (this.drawn) this.draw();
  };

  constructor(
    private readonly out: ProgressStream,
    private readonly stats: () => ProgressSnapshot,
    private readonly opts: DisplayOptions = {},
  ) {
    this.live = isLiveTerminal(out, opts.env);
  }

  start(): void {
    this.timer = setInterval(() => this.draw(), 250);
    this.timer.unref();
    if (this.live) this.out.on?.('resize', this.onResize);
  }

  /** Print a message above the progress line. */
  note(line: string): void {
    if (this.live && this.drawn) this.out.write('\r\x1b[2K');
    this.out.write(`${line}\n`);
    if (this.live && this.drawn) this.draw();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.live) this.out.off?.('resize', this.onResize);
    if (this.live && this.drawn) {
      this.draw();
      this.out.write('\n');
    }
    this.drawn = false;
  }

  /** Draw now (the display also draws on its own every 250 ms once started). */
  draw(): void {
    const st = this.stats();
    if (this.live) {
      // One column spare: some terminals wrap as soon as the last column is written.
      const width = Math.max(1, (this.out.columns ?? 80) - 1);
      this.out.write(`\r\x1b[2K${progressLine(st, width, this.opts)}`);
      this.drawn = true;
      return;
    }
    const now = Date.now();
    if (now - this.lastPlain < (this.opts.plainEveryMs ?? 2000)) return;
    this.lastPlain = now;
    this.out.write(`${progressLine(st, 0, this.opts)}\n`);
  }
}
