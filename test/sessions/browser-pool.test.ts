import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { pruneArtifacts, safeUrl } from '../../src/sessions/artifacts.js';
import { createBrowserPool, detectSandboxHost, sandboxPlan, type SandboxHost } from '../../src/sessions/browser-pool.js';
import { SessionFailure } from '../../src/domain/session-outcome.js';
import { capturingLogger } from '../helpers/log-capture.js';
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

  describe("Chromium's sandbox", () => {
    /** Debian's Chromium behind a script that records each launch's arguments (one line per launch). */
    function recordingChromium(): { path: string; launches(): string[] } {
      const dir = mkdtempSync(path.join(tmpdir(), 'rb-chromium-'));
      const record = path.join(dir, 'launches');
      const script = path.join(dir, 'chromium');
      writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${record}'\nexec '${CHROMIUM_PATH}' "$@"\n`);
      chmodSync(script, 0o755);
      return { path: script, launches: () => (existsSync(record) ? readFileSync(record, 'utf8').trim().split('\n') : []) };
    }
    const isRoot = process.getuid?.() === 0;
    const allows: SandboxHost = { uid: 1000, userNamespaces: true };

    it('decides from the host: kept where allowed, off for root or without user namespaces, as configured otherwise', () => {
      expect(sandboxPlan('auto', allows)).to.deep.include({ sandbox: true, fallback: true });
      expect(sandboxPlan('auto', { uid: 0, userNamespaces: true })).to.deep.include({ sandbox: false });
      expect(sandboxPlan('auto', { uid: 1000, userNamespaces: false })).to.deep.include({ sandbox: false });
      expect(sandboxPlan('on', { uid: 0, userNamespaces: false })).to.deep.include({ sandbox: true, fallback: false });
      expect(sandboxPlan('off', allows)).to.deep.include({ sandbox: false });
      expect(sandboxPlan('auto', { uid: 0, userNamespaces: true }).reason).to.match(/root/);
    });

    it('launches with the sandbox where the host allows it, and falls back (with a warning) where Chromium refuses it', async () => {
      const chromium = recordingChromium();
      const capture = capturingLogger();
      const pool = createBrowserPool({ executablePath: chromium.path, maxContexts: 1, log: capture.log, sandbox: 'auto', host: allows });
      try {
        const title = await pool.withContext(async (context) => {
          const page = await context.newPage();
          await page.setContent('<title>sandboxed?</title>');
          return page.title();
        });
        expect(title).to.equal('sandboxed?');
        const launches = chromium.launches();
        expect(launches[0], 'the first launch keeps the sandbox').not.to.include('--no-sandbox');
        // Here as root Chromium refuses its sandbox: one more launch, without it, and a warning.
        expect(pool.sandboxed).to.equal(launches.length === 1);
        if (isRoot) {
          expect(launches).to.have.length(2);
          expect(launches[1]).to.include('--no-sandbox');
          expect(capture.text()).to.match(/sandbox is not available on this host/);
        }
      } finally {
        await pool.close();
      }
    });

    it('a non-root Chromium on a host with user namespaces really is sandboxed (chrome://sandbox)', async () => {
      // Run as root here: Chromium is started as "nobody" (setpriv), as the image's non-root user would run it.
      let executablePath = CHROMIUM_PATH;
      if (isRoot) {
        const dir = mkdtempSync(path.join(tmpdir(), 'rb-nobody-'));
        chmodSync(dir, 0o777);
        executablePath = path.join(dir, 'chromium');
        writeFileSync(
          executablePath,
          `#!/bin/sh\nfor a in "$@"; do case "$a" in --user-data-dir=*) chown -R 65534:65534 "\${a#--user-data-dir=}";; esac; done\nexec setpriv --reuid=65534 --regid=65534 --clear-groups env HOME='${dir}' '${CHROMIUM_PATH}' "$@"\n`,
        );
        chmodSync(executablePath, 0o755);
      }
      const host = { uid: isRoot ? 65534 : process.getuid?.(), userNamespaces: detectSandboxHost().userNamespaces };
      const pool = createBrowserPool({ executablePath, maxContexts: 1, log: pino({ level: 'silent' }), sandbox: 'auto', host });
      try {
        const report = await pool.withContext(async (context) => {
          const page = await context.newPage();
          await page.goto('chrome://sandbox');
          return (await page.textContent('body')) ?? '';
        });
        if (pool.sandboxed) expect(report).to.include('You are adequately sandboxed');
        else expect(report).not.to.include('You are adequately sandboxed');
        // This machine (root, user namespaces, no seccomp filter) allows it: the sandbox must be kept.
        if (isRoot && host.userNamespaces) expect(pool.sandboxed).to.equal(true);
      } finally {
        await pool.close();
      }
    });

    it('CHROMIUM_SANDBOX=off and root go without it from the first launch', async () => {
      for (const [sandbox, host] of [['off', allows], ['auto', { uid: 0, userNamespaces: true }]] as const) {
        const chromium = recordingChromium();
        const pool = createBrowserPool({ executablePath: chromium.path, maxContexts: 1, log: pino({ level: 'silent' }), sandbox, host });
        try {
          await pool.withContext(async () => undefined);
          expect(chromium.launches()).to.have.length(1);
          expect(chromium.launches()[0]).to.include('--no-sandbox');
          expect(pool.sandboxed).to.equal(false);
        } finally {
          await pool.close();
        }
      }
    });

    it('CHROMIUM_SANDBOX=on never runs without it: a host that cannot is a clear launch failure', async () => {
      const chromium = recordingChromium();
      const pool = createBrowserPool({ executablePath: chromium.path, maxContexts: 1, log: pino({ level: 'silent' }), sandbox: 'on' });
      try {
        const outcome = await pool.withContext(async () => 'launched').then(
          (value) => value,
          (error: unknown) => error,
        );
        expect(chromium.launches().length).to.be.greaterThan(0);
        for (const launch of chromium.launches()) expect(launch).not.to.include('--no-sandbox');
        if (outcome === 'launched') expect(pool.sandboxed).to.equal(true);
        else {
          expect(outcome).to.be.instanceOf(SessionFailure);
          expect((outcome as Error).message).to.match(/CHROMIUM_SANDBOX=on/);
        }
        // As root, Chromium always refuses its sandbox.
        if (isRoot) expect(outcome).to.be.instanceOf(SessionFailure);
      } finally {
        await pool.close();
      }
    });
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
