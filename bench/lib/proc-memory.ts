import { readdirSync, readFileSync } from 'node:fs';

/**
 * Memory of a process and all its descendants (Chromium's many processes), from /proc,
 * leaving out the subtrees of `exclude` (the embedded database, a separate service in production).
 */
export function treeMemoryMb(rootPid: number, exclude: number[] = []): { rssMb: number; pssMb: number; processes: number } {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(entry), ppid);
    } catch {
      // the process ended meanwhile
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (exclude.includes(p)) return false;
      if (p === rootPid) return true;
    }
    return false;
  };
  let rss = 0;
  let pss = 0;
  let processes = 0;
  const byType = new Map<string, { n: number; pss: number }>();
  for (const pid of parent.keys()) {
    if (!inTree(pid)) continue;
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      rss += Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      const p = Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      pss += p;
      processes += 1;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const type = /--type=([a-z-]+)/.exec(cmd)?.[1] ?? (cmd.includes('chromium') ? 'browser' : cmd.split('\0')[0]!.split('/').pop()!);
      const t = byType.get(type) ?? { n: 0, pss: 0 };
      t.n += 1;
      t.pss += p / 1024;
      byType.set(type, t);
    } catch {
      // ended meanwhile
    }
  }
  if (process.env.BENCH_DEBUG) console.log([...byType].map(([k, v]) => `${k}: ${v.n} proc, ${v.pss.toFixed(0)} MB`).join('; '));
  return { rssMb: rss / 1024, pssMb: pss / 1024, processes };
}
