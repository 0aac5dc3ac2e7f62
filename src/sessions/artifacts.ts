import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';

/**
 * Failure screenshots. Inputs are emptied first (a password or code typed in a field must not
 * end up in a picture), and file names are made of ids only.
 */
export async function saveFailureScreenshot(page: Page, options: { dir: string; accountId: string; runId: string; stage: string; keep: number }): Promise<string | null> {
  try {
    // Source text, not a function: the TypeScript loader's helpers do not exist in the page.
    await page.evaluate(`for (const input of document.querySelectorAll('input, textarea')) input.value = ''`);
    const dir = path.join(options.dir, options.accountId);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${options.runId}-${options.stage}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: 10_000 });
    pruneArtifacts(dir, options.keep);
    return file;
  } catch {
    return null;
  }
}

/** Keeps the newest `keep` files of a folder. */
export function pruneArtifacts(dir: string, keep: number): void {
  const files = readdirSync(dir)
    .map((name) => ({ name, at: statSync(path.join(dir, name)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const file of files.slice(keep)) rmSync(path.join(dir, file.name), { force: true });
}

/** The URL of a failure without its query string (which could carry anything). */
export function safeUrl(url: string): string | null {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return null;
  }
}
