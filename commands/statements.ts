import { z } from 'zod';
import { COMMAND_ROOT } from '../src/chat/router.js';
import { defineCommand, memberOf, type CommandContext } from '../src/chat/command.js';
import { fileTooLargeText } from '../src/chat/download.js';
import type { ChatAttachment } from '../src/chat/port.js';
import { CSV_PRESETS } from '../src/domain/csv-mapping.js';
import { UserError } from '../src/domain/errors.js';
import { STATEMENT_BANK_CODE } from '../src/statements/statement-bank.js';
import { importSummaryText, previewText } from '../src/statements/summary-text.js';
import { bufferSource, fileSource, type StatementSource } from '../src/statements/text.js';
import { accountRef, bullet } from './format.js';

/**
 * The file a statement command works on: the one sent with it (chat), or, in the console only,
 * a path on this machine — the console is the operator at the server; a path typed on a chat
 * platform would let anyone who can write to the bot read the server's files.
 */
async function statementFile(ctx: CommandContext, path: string | undefined, maxBytes: number): Promise<{ source: StatementSource; name: string }> {
  if (path !== undefined) {
    if (ctx.actor.platform !== 'console') throw new UserError('A file path works in the console only; here, send the statement file with the command.');
    const name = path.split(/[\\/]/).pop() ?? 'file';
    return { source: fileSource(path, name), name };
  }
  const file = onlyFile(ctx);
  // Refused on the size the platform reports, before a byte is fetched; the download stops at the limit too.
  if (file.size !== null && file.size > maxBytes) throw new UserError(fileTooLargeText(file.name, maxBytes));
  const bytes = await file.download(maxBytes);
  return { source: bufferSource(bytes, file.name), name: file.name };
}

/** How a file comes with a command here, in the platform adapter's words. */
function howToSend(ctx: CommandContext): string {
  return ctx.filesHowTo ?? `attach it to the message that says ${COMMAND_ROOT} statement import <account>`;
}

function onlyFile(ctx: CommandContext): ChatAttachment {
  const files = ctx.attachments;
  if (files.length === 0) throw new UserError(`Send the statement file with the command: ${howToSend(ctx)}.`);
  if (files.length > 1) throw new UserError('Send one statement file at a time.');
  return files[0] as ChatAttachment;
}

/**
 * The account a file goes to: the one named (a statement account of theirs), or — a file sent
 * without saying (a document alone in a private chat) — the person's only statement account.
 * With none or several, the answer lists them and how to name one; nothing is fetched.
 */
async function targetAccount(ctx: CommandContext, account: string | undefined): Promise<string> {
  // A name that is no statement account of theirs is refused before anything is fetched.
  if (account !== undefined) return (await ctx.services.statements.importer.accountFor(memberOf(ctx).userId, account)).id;
  const statements = (await ctx.services.accounts.list(memberOf(ctx).userId)).filter((a) => a.bank === STATEMENT_BANK_CODE);
  if (statements.length === 1) return (statements[0] as (typeof statements)[number]).id;
  if (statements.length === 0) {
    throw new UserError(`You have no statement account to read this file into. Add one with ${COMMAND_ROOT} account add <name> statement, then send the file: ${howToSend(ctx)}.`);
  }
  const names = statements.map((a) => (/\s/.test(a.name) ? `"${a.name}"` : a.name)).join(', ');
  throw new UserError(`Which account is this statement for? Your statement accounts: ${names}. Send the file again, naming one: ${howToSend(ctx)}.`);
}

async function existsOrRefuse(path: string): Promise<void> {
  const { stat } = await import('node:fs/promises');
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new UserError(`There is no file at ${path}.`);
}

const STATEMENT_FILE = { description: 'the statement file (camt, MT940, OFX, CSV)', consolePath: 'path' };

export const statementImportCommand = defineCommand({
  path: ['statement', 'import'],
  usage: 'statement import <account> (with the statement file attached; the account may be left out when you have only one statement account; in the console: a file path)',
  summary: 'read a bank statement file (camt, MT940, OFX, CSV) into a statement account',
  access: 'operator',
  positionals: ['account', 'path'],
  file: STATEMENT_FILE,
  args: z.object({ account: accountRef.optional(), path: z.string().min(1).max(1024).optional() }).strict(),
  async handler(ctx, { account: named, path }) {
    const maxBytes = ctx.services.statements.maxBytes;
    if (path !== undefined && ctx.actor.platform === 'console') await existsOrRefuse(path);
    if (path === undefined) onlyFile(ctx);
    const account = await targetAccount(ctx, named);
    const file = await statementFile(ctx, path, maxBytes);
    await ctx.progress({ text: `Reading ${file.name}…` });
    const summary = await ctx.services.statements.importer.importFile({ userId: memberOf(ctx).userId, account, source: file.source, fileName: file.name, via: 'chat' });
    return { text: importSummaryText(summary) };
  },
});

export const statementPreviewCommand = defineCommand({
  path: ['statement', 'preview'],
  usage: 'statement preview <account> (with the statement file attached; in the console: a file path)',
  summary: 'show how a statement file would be read, storing nothing',
  access: 'viewer',
  positionals: ['account', 'path'],
  file: STATEMENT_FILE,
  args: z.object({ account: accountRef.optional(), path: z.string().min(1).max(1024).optional() }).strict(),
  async handler(ctx, { account: named, path }) {
    if (path !== undefined && ctx.actor.platform === 'console') await existsOrRefuse(path);
    if (path === undefined) onlyFile(ctx);
    const account = await targetAccount(ctx, named);
    const file = await statementFile(ctx, path, ctx.services.statements.maxBytes);
    return { text: previewText(await ctx.services.statements.importer.preview({ userId: memberOf(ctx).userId, account, source: file.source })) };
  },
});

export const statementImportsCommand = defineCommand({
  path: ['statement', 'imports'],
  usage: 'statement imports <account>',
  summary: 'the latest statement files read into an account',
  access: 'viewer',
  positionals: ['account'],
  args: z.object({ account: accountRef }).strict(),
  async handler(ctx, { account }) {
    const imports = await ctx.services.statements.importer.recent(memberOf(ctx).userId, account, 10);
    if (imports.length === 0) return { text: `No statement files were read into "${account}" yet. Send one with: ${COMMAND_ROOT} statement import "${account}"` };
    const lines = imports.map((i) => {
      const summary = i.summary as { creditsStored?: number; duplicatesSkipped?: number; refusedCount?: number } | null;
      const what = i.status === 'done' ? `${summary?.creditsStored ?? 0} stored, ${summary?.duplicatesSkipped ?? 0} duplicates, ${summary?.refusedCount ?? 0} refused` : i.status === 'refused' ? `refused: ${i.error ?? ''}` : i.status;
      return `${i.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC · ${i.fileName ?? '(no name)'} · by ${i.via} · ${what}`;
    });
    return { text: `Statement imports of "${account}":\n${bullet(lines)}` };
  },
});

export const statementPresetsCommand = defineCommand({
  path: ['statement', 'presets'],
  usage: 'statement presets',
  summary: 'CSV column mappings ready to use (csv_preset=…)',
  access: 'viewer',
  args: z.object({}).strict(),
  async handler() {
    const lines = Object.entries(CSV_PRESETS).map(([name, preset]) => `${name} — ${preset.summary}`);
    return { text: `CSV presets (set one with ${COMMAND_ROOT} account set <account> csv_preset=<name>; override keys with csv_mapping={…}):\n${bullet(lines)}` };
  },
});
