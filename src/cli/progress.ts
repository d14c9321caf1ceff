/**
 * The live progress display: one line redrawn in place on a terminal, a plain line every
 * few seconds otherwise (logs, pipes, tests).
 */
import type { TorrentStats } from '../session/torrent.js';
import { humanBytes } from './context.js';

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

export function progressLine(st: TorrentStats, width: number): string {
  const pct = st.totalBytes === 0 ? 100 : (st.bytesVerified / st.totalBytes) * 100;
  const left = st.totalBytes - st.bytesVerified;
  const eta = st.downRate > 0 ? left / st.downRate : Infinity;
  const text =
    `${pct.toFixed(1).padStart(5)}%  ${humanBytes(st.bytesVerified)} / ${humanBytes(st.totalBytes)}` +
    `  down ${humanBytes(st.downRate)}/s  up ${humanBytes(st.upRate)}/s` +
    `  peers ${st.peers}/${st.knownPeers}  ETA ${st.state === 'seeding' ? '00:00' : formatDuration(eta)}`;
  const barWidth = Math.max(0, Math.min(30, width - text.length - 4));
  if (barWidth < 10) return text;
  const filled = Math.round((pct / 100) * barWidth);
  return `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${text}`;
}

export class ProgressDisplay {
  private timer: NodeJS.Timeout | undefined;
  private lastPlain = 0;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly stats: () => TorrentStats,
    private readonly plainEveryMs = 2000,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.draw(), 250);
    this.timer.unref();
  }

  /** Print a message above the progress line. */
  note(line: string): void {
    if (this.out.isTTY === true && this.drawn) this.out.write('\r\x1b[2K');
    this.out.write(`${line}\n`);
    if (this.out.isTTY === true && this.drawn) this.draw();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.out.isTTY === true && this.drawn) {
      this.draw();
      this.out.write('\n');
    }
  }

  private draw(): void {
    const st = this.stats();
    if (this.out.isTTY === true) {
      this.out.write(`\r\x1b[2K${progressLine(st, this.out.columns ?? 80)}`);
      this.drawn = true;
      return;
    }
    const now = Date.now();
    if (now - this.lastPlain < this.plainEveryMs) return;
    this.lastPlain = now;
    this.out.write(`${progressLine(st, 0)}\n`);
  }
}
