import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * The TCP ports a process listens on (Linux: its socket inodes matched against
 * /proc/net/tcp and tcp6 entries in state LISTEN). Other platforms: undefined.
 */
export function listeningPorts(pid: number): number[] | undefined {
  if (process.platform !== 'linux') return undefined;
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address rem_address st ... inode (field 9)
      if (fields.length < 10 || fields[3] !== '0A') continue;
      if (inodes.has(fields[9] as string)) ports.push(parseInt((fields[1] as string).split(':')[1] as string, 16));
    }
  }
  return ports.sort((a, b) => a - b);
}
