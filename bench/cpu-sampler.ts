import { readFileSync } from 'node:fs';

/** Linux reports process times in USER_HZ ticks, 100 per second on every mainstream platform. */
const TICK_MS = 10;

/** A reading of CPU counters at one instant. */
export interface CpuReading {
  /** CPU time of each watched process (user + system, all threads), in ms; undefined off Linux. */
  processMs: (number | undefined)[];
  /** The whole machine's busy and total time, in ticks; undefined off Linux. */
  machine: { busy: number; total: number } | undefined;
}

/** The CPU spent between two readings. */
export interface CpuSpent {
  processMs: (number | undefined)[];
  /** The share of the machine's CPU (all cores) that was busy, 0..1. */
  machineBusy: number | undefined;
}

/** Reads the CPU counters of the given processes and of the machine (`/proc`). */
export function readCpu(pids: number[]): CpuReading {
  return { processMs: pids.map(processCpuMs), machine: machineTicks() };
}

/** The CPU spent from `before` to `after`. */
export function cpuBetween(before: CpuReading, after: CpuReading): CpuSpent {
  const processMs = after.processMs.map((ms, i) => {
    const start = before.processMs[i];
    return ms === undefined || start === undefined ? undefined : ms - start;
  });
  const a = after.machine;
  const b = before.machine;
  const machineBusy =
    a && b && a.total > b.total ? (a.busy - b.busy) / (a.total - b.total) : undefined;
  return { processMs, machineBusy };
}

function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = values.reduce((sum, v) => sum + v, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}
