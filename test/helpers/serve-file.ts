import type { ServerResponse } from 'node:http';

/** One request for a file's bytes, as a fake platform saw it: how much went out, and whether the reader took it all. */
export type Download = { path: string; sent: number; complete: boolean; headers: Record<string, string | string[] | undefined> };

/**
 * Writes a file's bytes in pieces, honouring back-pressure, so a reader that stops early
 * leaves the rest unsent (and `complete` false): what a download that respects its limit
 * looks like from the platform's side.
 */
export async function serveInPieces(res: ServerResponse, bytes: Buffer, record: Download, headers: Record<string, string> = {}): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/octet-stream', ...headers });
  for (let at = 0; at < bytes.length && !res.destroyed; at += 64 * 1024) {
    const piece = bytes.subarray(at, at + 64 * 1024);
    record.sent += piece.length;
    if (!res.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!res.destroyed) res.end(() => (record.complete = record.sent === bytes.length));
}
