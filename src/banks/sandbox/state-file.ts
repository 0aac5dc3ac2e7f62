import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { sandboxStateSchema, type SandboxBank, type SandboxState } from './bank-server.js';

/**
 * The sandbox bank's users and movements in a file (`DATA_DIR/sandbox-bank.json`), so the bank
 * the quick start talks to is the same bank after a restart, as a real one would be: accounts
 * set up against a user created through the admin API still log in, and movements read before
 * are not seeded again with new times. Sessions, pending codes and lockouts end with the process.
 */

/** Far above any sandbox a person builds by hand; refuses to parse a runaway file. */
const MAX_BYTES = 64 * 1024 * 1024;

export type Restored = { restored: true } | { restored: false; problem?: string };

/** Loads the file into `bank`: `restored: false` when there is none, or (with `problem`) when it cannot be used; it is then moved aside. */
export function restoreSandboxState(bank: SandboxBank, file: string): Restored {
  if (!existsSync(file)) return { restored: false };
  try {
    const size = statSync(file).size;
    if (size > MAX_BYTES) throw new Error(`it is larger than ${MAX_BYTES / 1024 / 1024} MB`);
    bank.importState(sandboxStateSchema.parse(JSON.parse(readFileSync(file, 'utf8'))));
    return { restored: true };
  } catch (error) {
    const aside = `${file}.unreadable`;
    renameSync(file, aside);
    const why = error instanceof SyntaxError ? 'not JSON' : error instanceof z.ZodError ? 'not a sandbox state' : error instanceof Error ? error.message : String(error);
    return { restored: false, problem: `${path.basename(file)} could not be read (${why}); it was moved to ${path.basename(aside)}` };
  }
}

/** Writes the state aside, then renames it over the file: a crash never leaves half a bank. */
export function saveSandboxState(state: SandboxState, file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}
