import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Another live Reconbanker runs its embedded database on this data folder. */
export class DataFolderInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number | undefined,
  ) {
    super(
      `the data folder is in use by another Reconbanker${pid ? ` (pid ${pid})` : ''}: ${dataDir}. Stop that one first, or give this one another DATA_DIR.`,
    );
    this.name = 'DataFolderInUseError';
  }
}

type Owner = { pid: number; started?: string };

/** The kernel's start time of a process (Linux), so a pid reused after a crash is not taken for its owner. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(owner: Owner): boolean {
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // Where the start time is known on both sides, it must match; elsewhere a live pid counts.
  const now = startTimeOf(owner.pid);
  return !owner.started || !now || owner.started === now;
}

function readOwner(file: string): Owner | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Owner>;
    return typeof parsed.pid === 'number' && Number.isInteger(parsed.pid) && parsed.pid > 0
      ? { pid: parsed.pid, ...(typeof parsed.started === 'string' ? { started: parsed.started } : {}) }
      : undefined;
  } catch {
    return undefined;
  }
}

export const OWNER_FILE = 'reconbanker.pid';

/** Who holds the data folder now, if a live process does. */
export function dataFolderOwner(dataDir: string): number | undefined {
  const owner = readOwner(path.join(dataDir, OWNER_FILE));
  return owner && isAlive(owner) ? owner.pid : undefined;
}

/**
 * Claims the data folder for this process by writing its pid (created exclusively, so of two
 * starts at once only one wins); a file left by a process that is gone is taken over. This says
 * *who* holds the folder; the database's own file lock (H2, mongod) is what keeps two servers
 * off the same files. Throws DataFolderInUseError when a live Reconbanker holds it.
 */
export function claimDataFolder(dataDir: string): { release(): void } {
  const file = path.join(dataDir, OWNER_FILE);
  const me: Owner = { pid: process.pid, ...(startTimeOf(process.pid) ? { started: startTimeOf(process.pid) as string } : {}) };
  // Written whole aside, then linked into place: the link fails if the file exists, and a
  // reader never sees a half-written one.
  const draft = `${file}.${process.pid}`;
  writeFileSync(draft, `${JSON.stringify(me)}\n`);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(draft, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 3) throw error;
        const owner = readOwner(file);
        if (owner && isAlive(owner)) throw new DataFolderInUseError(dataDir, owner.pid);
        // Left by a process that is gone: taken over.
        rmSync(file, { force: true });
      }
    }
  } finally {
    rmSync(draft, { force: true });
  }
  return {
    release() {
      if (readOwner(file)?.pid === process.pid) rmSync(file, { force: true });
    },
  };
}
