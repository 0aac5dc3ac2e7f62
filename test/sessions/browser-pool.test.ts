import { mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { pruneArtifacts, safeUrl } from '../../src/sessions/artifacts.js';
import { createBrowserPool } from '../../src/sessions/browser-pool.js';
import { CHROMIUM_PATH } from '../helpers/services.js';

describe('browser pool and failure artifacts', function () {
  this.timeout(60_000);

  it('relaunches Chromium after it crashed', async () => {
    const pool = createBrowserPool({ executablePath: CHROMIUM_PATH, maxContexts: 2, log: pino({ level: 'silent' }) });
    try {
      const first = await pool.acquire();
      await first.context.browser()?.close(); // as if the browser died
      await first.release();
      const title = await pool.withContext(async (context) => {
        const page = await context.newPage();
        await page.setContent('<title>alive</title>');
        return page.title();
      });
      expect(title).to.equal('alive');
    } finally {
      await pool.close();
    }
  });

  it('bounds open contexts and frees a slot on release', async () => {
    const pool = createBrowserPool({ executablePath: CHROMIUM_PATH, maxContexts: 1, log: pino({ level: 'silent' }) });
    try {
      const a = await pool.acquire();
      let second = false;
      const waiting = pool.acquire().then((b) => {
        second = true;
        return b;
      });
      await new Promise((resolve) => setImmediate(resolve));
      expect(second).to.equal(false);
      expect(pool.openContexts).to.equal(1);
      await a.release();
      const b = await waiting;
      expect(second).to.equal(true);
      await b.release();
    } finally {
      await pool.close();
    }
  });

  it('keeps only the newest screenshots per account', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rb-prune-'));
    for (let i = 0; i < 5; i++) {
      const file = path.join(dir, `run${i}-read.png`);
      writeFileSync(file, 'x');
      utimesSync(file, 1_000 + i, 1_000 + i);
    }
    pruneArtifacts(dir, 2);
    expect(readdirSync(dir).sort()).to.deep.equal(['run3-read.png', 'run4-read.png']);
  });

  it('records failure URLs without their query string', () => {
    expect(safeUrl('https://bank.example/movements?token=abc&page=2')).to.equal('https://bank.example/movements');
    expect(safeUrl('not a url')).to.equal(null);
  });
});
