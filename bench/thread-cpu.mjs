// CPU per thread of one command (Linux /proc), to see how many cores a download uses:
//   node bench/thread-cpu.mjs <command> [args...]
// Samples /proc/<pid>/task/*/stat every 100 ms until the command exits, then prints each
// thread's user+sys CPU seconds (as last seen), the process total and the wall time.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const [cmd, ...args] = process.argv.slice(2);
if (cmd === undefined) {
  console.error('usage: node bench/thread-cpu.mjs <command> [args...]');
  process.exit(2);
}
/** Linux's USER_HZ: /proc counts CPU time in 1/100 s. */
const TICK = 100;
const threads = new Map();
let total = 0;
const start = process.hrtime.bigint();
const child = spawn(cmd, args, { stdio: 'inherit' });

function sample() {
  try {
    for (const tid of readdirSync(`/proc/${child.pid}/task`)) {
      const stat = readFileSync(`/proc/${child.pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.set(tid, { name, cpu: (Number(f[11]) + Number(f[12])) / TICK });
    }
    const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    total = (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    // The process (or a thread) ended between the listing and the read.
  }
}

const timer = setInterval(sample, 100);
child.on('exit', (code) => {
  clearInterval(timer);
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const rows = [...threads.entries()].filter(([, t]) => t.cpu >= 0.05).sort((a, b) => b[1].cpu - a[1].cpu);
  for (const [tid, t] of rows) console.log(`thread ${tid.padStart(7)} ${(Number(tid) === child.pid ? 'main' : t.name).padEnd(16)} ${t.cpu.toFixed(2)} CPU s`);
  console.log(`process: ${total.toFixed(2)} CPU s (last sample) in ${wall.toFixed(2)} s wall: ${(total / wall).toFixed(2)} cores on average; exit ${code}`);
  process.exit(code ?? 1);
});
