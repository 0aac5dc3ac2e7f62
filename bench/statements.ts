import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { cacheDir } from '../src/paths.js';
import { readStatement } from '../src/statements/read.js';
import { fileSource } from '../src/statements/text.js';
import { connectDatabase } from '../src/store/database.js';
import { startEmbeddedDatabase } from '../src/store/embedded/index.js';
import { report } from './lib/report.js';
import { benchServices } from './lib/services.js';

/**
 * Statement reading (SPEC §8): entries per second and peak memory for a 100k-entry camt.053 and
 * MT940, read streamed from disk. Files are written first (not timed); each is read in a
 * process of its own so its memory peak is its own.
 *
 * Then the whole import of a 20k-entry camt.053 into a statement account on the embedded database
 * (read, identities, upserts in chunks, reconciliation hand-over): entries per second.
 *
 * Targets: a large business's day is at most some tens of thousands of entries, and an import is
 * interactive (an operator posted the file and waits for the summary): 100k entries in ≤ 5 s, i.e.
 * ≥ 20,000 entries/s. Memory: the file streams, so only the entries read are held (~1 KB each
 * with their texts): ≤ 250 MB of growth for 100k, however large the file. The whole import is
 * bound by the offline engine's writes (mongo-java-server acknowledges each only once it is in its
 * file, at roughly 0.3–0.5 ms a document for bulk upserts here): ≥ 500 entries/s, so a large
 * business's 10k-entry day imports in 20 s on it (a MongoDB server is many times faster).
 */
const ENTRIES = 100_000;
const IMPORT_ENTRIES = 20_000;
const here = fileURLToPath(import.meta.url);

function write(file: string, parts: Iterable<string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(file);
    out.on('error', reject);
    out.on('finish', () => resolve());
    let buffer = '';
    for (const part of parts) {
      buffer += part;
      if (buffer.length > 1 << 20) {
        out.write(buffer);
        buffer = '';
      }
    }
    out.end(buffer);
  });
}

function* camt(n: number): Iterable<string> {
  yield '<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><GrpHdr><MsgId>B</MsgId></GrpHdr><Stmt><Id>S</Id><Acct><Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>EUR</Ccy></Acct>\n';
  for (let i = 0; i < n; i++) {
    const day = String(1 + (i % 28)).padStart(2, '0');
    yield `<Ntry><Amt Ccy="EUR">${(1000 + (i % 5000)) / 100}</Amt><CdtDbtInd>${i % 7 === 0 ? 'DBIT' : 'CRDT'}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-${day}</Dt></BookgDt><AcctSvcrRef>R${i}</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>E2E-${i}</EndToEndId></Refs><Amt Ccy="EUR">${(1000 + (i % 5000)) / 100}</Amt><RltdPties><Dbtr><Pty><Nm>Payer Número ${i % 977}</Nm></Pty></Dbtr></RltdPties><RmtInf><Ustrd>Order O-${i} thank you</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n`;
  }
  yield '</Stmt></BkToCstmrStmt></Document>\n';
}

function* mt940(n: number): Iterable<string> {
  yield ':20:STARTUMSE\r\n:25:10020030/0012345678\r\n:28C:00001/001\r\n:60F:C261101EUR0,00\r\n';
  for (let i = 0; i < n; i++) {
    const day = String(1 + (i % 28)).padStart(2, '0');
    const amount = `${Math.floor((1000 + (i % 5000)) / 100)},${String((1000 + (i % 5000)) % 100).padStart(2, '0')}`;
    yield `:61:2611${day}11${day}${i % 7 === 0 ? 'D' : 'C'}${amount}NTRFNONREF//B${i}\r\n:86:166?00SEPA-GUTSCHRIFT?20EREF+O-${i}?21SVWZ+Order O-${i} thank you?32Payer Nummer ${i % 977}\r\n`;
  }
  yield ':62F:C261128EUR0,00\r\n-';
}

async function importWhole(file: string): Promise<{ seconds: number; stored: number }> {
  const log = pino({ level: 'silent' });
  const embedded = await startEmbeddedDatabase({ engine: 'auto', port: 0, memoFile: path.join(cacheDir, 'test-engine.json'), cacheDir, log });
  const database = await connectDatabase({ uri: embedded.uri, dbName: `bench_statements_${Date.now()}`, timeoutMs: 10_000, log });
  try {
    const services = benchServices(database, log);
    const owner = await services.users.createTenant({ platform: 'bench', teamId: 'T', userId: 'U', displayName: 'bench' }, 'Bench');
    await services.users.setOperationMode(owner.userId, 'passthrough');
    const account = await services.accounts.create(owner.userId, { name: 'Statements', bank: 'statement' });
    await services.accounts.configure(owner.userId, account.id, { silent_ingestion: true });
    const started = performance.now();
    const summary = await services.statements.importer.importForAccount(account.id, { source: fileSource(file), fileName: 'statement.xml' });
    return { seconds: (performance.now() - started) / 1000, stored: summary.creditsStored };
  } finally {
    await database.connection.dropDatabase().catch(() => undefined);
    await database.close();
    await embedded.stop();
  }
}

if (process.argv[2] === '--import') {
  console.log(JSON.stringify(await importWhole(process.argv[3] as string)));
} else if (process.argv[2] === '--read') {
  const file = process.argv[3] as string;
  const before = process.resourceUsage().maxRSS * 1024;
  const started = performance.now();
  const result = await readStatement(fileSource(file), { format: 'auto' });
  const seconds = (performance.now() - started) / 1000;
  const peak = process.resourceUsage().maxRSS * 1024 - before;
  if (result.entries.length !== ENTRIES || result.refused.length !== 0) throw new Error(`read ${result.entries.length} entries, refused ${result.refused.length}`);
  console.log(JSON.stringify({ seconds, peak }));
} else {
  const dir = mkdtempSync(path.join(tmpdir(), 'rb-statements-'));
  try {
    console.log(`engine: Node ${process.version}; ${ENTRIES.toLocaleString('en')} entries per file, read streamed from disk`);
    for (const [name, parts, ext] of [['camt.053', camt(ENTRIES), 'xml'], ['MT940', mt940(ENTRIES), 'sta']] as const) {
      const file = path.join(dir, `statement.${ext}`);
      await write(file, parts);
      const run = spawnSync(process.execPath, ['--import', 'tsx', here, '--read', file], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`${name}: ${run.stderr.slice(0, 500)}`);
      const { seconds, peak } = JSON.parse(run.stdout.trim().split('\n').at(-1) as string) as { seconds: number; peak: number };
      const size = statSync(file).size / 1024 / 1024;
      report(`${name} (${size.toFixed(0)} MB): entries read per second`, ENTRIES / seconds, '/s', { min: 20_000 });
      report(`${name}: peak memory growth while reading`, peak / 1024 / 1024, 'MB', { max: 250 });
      if (name === 'camt.053') {
        const smaller = path.join(dir, 'import.xml');
        await write(smaller, camt(IMPORT_ENTRIES));
        const whole = spawnSync(process.execPath, ['--import', 'tsx', here, '--import', smaller], { encoding: 'utf8' });
        if (whole.status !== 0) throw new Error(`import: ${whole.stderr.slice(0, 500)}`);
        const { seconds: importSeconds, stored } = JSON.parse(whole.stdout.trim().split('\n').at(-1) as string) as { seconds: number; stored: number };
        report(`camt.053 whole import, ${IMPORT_ENTRIES.toLocaleString('en')} entries (${stored.toLocaleString('en')} credits stored, embedded db)`, IMPORT_ENTRIES / importSeconds, '/s', { min: 500 });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
