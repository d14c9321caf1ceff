/**
 * Child processes for tests: spawn with PID tracking, keep a bounded copy of their output,
 * wait for a line with a deadline, and stop them by PID (SIGTERM, then SIGKILL after a grace
 * period). Every process started here is in a registry so `stopAll()` in `after()` can end
 * whatever a test left running, even when the test failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Grace period between SIGTERM and SIGKILL in `stop()`; default 5 s. */
  readonly graceMs?: number;
}

/** Output kept per stream; older output is dropped so a chatty process cannot exhaust memory. */
const MAX_KEPT = 4 * 1024 * 1024;

class OutputBuffer {
  private text = '';
  private readonly waiters = new Set<() => void>();

  append(chunk: string): void {
    this.text += chunk;
    if (this.text.length > MAX_KEPT) this.text = this.text.slice(this.text.length - MAX_KEPT);
    for (const wake of this.waiters) wake();
  }

  get value(): string {
    return this.text;
  }

  onChange(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }
}

export class Proc {
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private readonly out = new OutputBuffer();
  private readonly err = new OutputBuffer();

  constructor(
    readonly name: string,
    child: ChildProcess,
    private readonly graceMs: number,
  ) {
    if (child.pid === undefined) throw new Error(`${name}: spawn failed (no pid)`);
    this.pid = child.pid;
    child.stdout?.setEncoding('utf8').on('data', (s: string) => this.out.append(s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => this.err.append(s));
    child.on('error', (e) => this.err.append(`\n[${name}: ${e.message}]\n`));
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exitInfo = { code, signal };
        this.out.append('');
        resolve(this.exitInfo);
      });
    });
  }

  get stdout(): string {
    return this.out.value;
  }

  get stderr(): string {
    return this.err.value;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** The last `max` characters of both streams, for failure messages. */
  tail(max = 3000): string {
    const cut = (s: string): string => (s.length > max ? `…${s.slice(s.length - max)}` : s);
    return `--- ${this.name} (pid ${this.pid}) stdout:\n${cut(this.stdout)}\n--- stderr:\n${cut(this.stderr)}`;
  }

  /** Send a signal to this process by its PID (no-op once it has exited). */
  signal(sig: NodeJS.Signals): void {
    if (this.running) {
      try {
        process.kill(this.pid, sig);
      } catch {
        // it exited between the check and the kill
      }
    }
  }

  /**
   * Resolve with the first line of stdout or stderr that matches `re`. Rejects when the
   * process exits first or after `timeoutMs`, with the process's output in the message.
   */
  waitForLine(re: RegExp, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const find = (): string | undefined =>
        `${this.stdout}\n${this.stderr}`.split(/\r?\n|\r/).find((line) => re.test(line));
      let timer: NodeJS.Timeout | undefined;
      const offs: Array<() => void> = [];
      const finish = (fn: () => void): void => {
        clearTimeout(timer);
        for (const off of offs) off();
        fn();
      };
      const check = (): void => {
        const line = find();
        if (line !== undefined) finish(() => resolve(line));
        else if (!this.running) finish(() => reject(new Error(`${this.name} exited before printing ${re}\n${this.tail()}`)));
      };
      timer = setTimeout(() => finish(() => reject(new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms\n${this.tail()}`))), timeoutMs);
      offs.push(this.out.onChange(check), this.err.onChange(check));
      check();
    });
  }

  /** Resolve with the exit info, or reject after `timeoutMs` (the process keeps running). */
  async waitForExit(timeoutMs: number): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} still running after ${timeoutMs} ms\n${this.tail()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM by PID, then SIGKILL if it is still running after the grace period. */
  async stop(): Promise<ExitInfo> {
    if (!this.running) return this.exited;
    this.signal('SIGTERM');
    try {
      return await this.waitForExit(this.graceMs);
    } catch {
      this.signal('SIGKILL');
      return this.waitForExit(5000);
    }
  }
}

const registry = new Set<Proc>();

// Last resort when a test file exits without its `after()` (an uncaught error, a timeout):
// SIGKILL by PID whatever this process started and is still running.
process.once('exit', () => {
  for (const proc of registry) proc.signal('SIGKILL');
});

let stateHome: string | undefined;

/**
 * The environment of a child: as given (default ours), but with `XDG_STATE_HOME` in a private
 * temporary folder of this test process unless the caller chose one, so that no test ever
 * writes resume records (or any other state) into the real home; and with
 * `TESSERA_NO_PORT_MAPPING` set unless the caller set it (to '' to map), so that no `tessera`
 * a test starts asks the machine's router for anything.
 */
export function childEnv(env: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const base = env ?? process.env;
  const noMapping = { TESSERA_NO_PORT_MAPPING: base.TESSERA_NO_PORT_MAPPING ?? '1' };
  const chosen = env?.XDG_STATE_HOME;
  if (chosen !== undefined && chosen !== process.env.XDG_STATE_HOME) return { ...env, ...noMapping };
  if (stateHome === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-test-state-'));
    stateHome = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return { ...base, XDG_STATE_HOME: stateHome, ...noMapping };
}

/** Start a process whose stdin is closed and whose output is collected. */
export function startProc(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): Proc {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) {
    // the 'error' event follows asynchronously; without a listener it would crash the test
    child.once('error', () => undefined);
    throw new Error(`${name}: cannot start '${command}' (is it installed and on PATH?)`);
  }
  const proc = new Proc(name, child, options.graceMs ?? 5000);
  registry.add(proc);
  void proc.exited.then(() => registry.delete(proc));
  return proc;
}

/** Run a short command to completion; rejects on a non-zero exit or after `timeoutMs`. */
export async function run(command: string, args: readonly string[], timeoutMs: number, options: SpawnOptions = {}): Promise<Proc> {
  const proc = startProc(command, command, args, options);
  let info: ExitInfo;
  try {
    info = await proc.waitForExit(timeoutMs);
  } finally {
    await proc.stop();
  }
  if (info.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (code ${info.code}, signal ${info.signal})\n${proc.tail()}`);
  return proc;
}

/** Stop every process started through this module that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...registry].map((p) => p.stop()));
}

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
