import { request } from 'undici';
import { UserError } from '../domain/errors.js';

/**
 * Fetching a file a person sent with a command (a statement posted in chat), as the adapters
 * do when the command asks for it: never past `maxBytes` (a declared length over it is refused
 * unread; a body that runs past it is cut off there), no redirects (a platform's download URL
 * answers itself; following one could carry the bot's token elsewhere), and every failure a
 * sentence for the person that names neither the URL (it may hold the bot token) nor anything
 * of the request.
 */

const MiB = 1024 * 1024;

/** "50 MB", "1.5 MB", "64 KB": a limit as people read it. */
export function sizeText(bytes: number): string {
  if (bytes >= MiB) return `${Number((bytes / MiB).toFixed(1))} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** The one sentence for a file over the limit, wherever that is found (declared size, header, body). */
export function fileTooLargeText(name: string, maxBytes: number): string {
  return `${name} is larger than ${sizeText(maxBytes)}; split it or drop it in the watched folder.`;
}

export type DownloadOptions = {
  maxBytes: number;
  /** The file's name as the person sees it (for the sentences). */
  name: string;
  /** The platform, as people call it ("Telegram"). */
  platform: string;
  headers?: Record<string, string>;
  /** Until the headers arrive, and between two pieces of the body. */
  timeoutMs?: number;
  /** A content type that means "not the file" (Slack answers its sign-in page when the token lacks files:read): the sentence to say instead. */
  refuse?(contentType: string): string | undefined;
};

export async function downloadCapped(url: string, options: DownloadOptions): Promise<Buffer> {
  const { maxBytes, name, platform } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(url, { method: 'GET', headers: options.headers ?? {}, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  } catch (error) {
    throw new UserError(`Could not fetch ${name} from ${platform} (${reasonOf(error)}); send it again in a moment.`);
  }
  const body = response.body;
  // Abandoning the body early (over the limit) destroys it, which undici reports as an error
  // event: the reason was already given. Reading goes through the iterator, which still throws.
  body.on('error', () => undefined);
  try {
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new UserError(`Could not fetch ${name} from ${platform} (it answered ${response.statusCode}); send it again.`);
    }
    const type = String(response.headers['content-type'] ?? '');
    const refused = options.refuse?.(type);
    if (refused) throw new UserError(refused);
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) throw new UserError(fileTooLargeText(name, maxBytes));
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw new UserError(fileTooLargeText(name, maxBytes));
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, size);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`Could not fetch ${name} from ${platform} (${reasonOf(error)}); send it again in a moment.`);
  } finally {
    // What was not read is not read: the connection closes instead.
    if (!body.readableEnded && !body.destroyed) body.destroy();
  }
}

function reasonOf(error: unknown): string {
  const code = (error as { code?: string }).code ?? '';
  if (/TIMEOUT/.test(code)) return 'no answer in time';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'the connection was closed';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name does not resolve';
  return 'the download failed';
}
