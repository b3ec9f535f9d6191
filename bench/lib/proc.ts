// CPU time and resident memory of a whole process tree, read from /proc
// (Linux), so a benchmark can measure the server it started from outside.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of the utime/stime fields (usually 100). */
export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface Stat {
  ppid: number;
  /** utime + stime + cutime + cstime: the process's own CPU and that of its reaped children. */
  ticks: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined; // gone meanwhile
  }
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
}

/** `root` and every live descendant. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (!stat) continue;
    const list = children.get(stat.ppid);
    if (list) list.push(pid);
    else children.set(stat.ppid, [pid]);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

/**
 * CPU milliseconds (user + system, all threads) spent so far by the tree
 * under `root`, including descendants that already exited and were reaped.
 * Resolution: one clock tick (10 ms at 100 Hz) per process.
 */
export function treeCpuMs(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) ticks += readStat(pid)?.ticks ?? 0;
  return (ticks * 1000) / CLOCK_TICKS;
}

/** Resident memory (VmRSS) summed over the tree under `root`, in bytes. */
export function treeRssBytes(root: number): number {
  let kb = 0;
  for (const pid of processTree(root)) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
      kb += m ? Number(m[1]) : 0;
    } catch {
      // gone meanwhile
    }
  }
  return kb * 1024;
}

export interface IoCounters {
  /** Bytes and calls of read-like and write-like system calls (sockets included), from /proc/PID/io. */
  readBytes: number;
  writeBytes: number;
  readCalls: number;
  writeCalls: number;
}

/** I/O system call counters summed over the live tree under `root`. */
export function treeIo(root: number): IoCounters {
  const sum: IoCounters = { readBytes: 0, writeBytes: 0, readCalls: 0, writeCalls: 0 };
  for (const pid of processTree(root)) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/io`, 'latin1');
    } catch {
      continue; // gone meanwhile
    }
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    sum.readBytes += field('rchar');
    sum.writeBytes += field('wchar');
    sum.readCalls += field('syscr');
    sum.writeCalls += field('syscw');
  }
  return sum;
}

/** CPU ms the whole machine has spent busy (all CPUs, steal included), from /proc/stat. */
export function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!.trim().split(/\s+/).map(Number);
  // cpu user nice system idle iowait irq softirq steal ...
  const busy = f[1]! + f[2]! + f[3]! + f[6]! + f[7]! + f[8]!;
  return (busy * 1000) / CLOCK_TICKS;
}
