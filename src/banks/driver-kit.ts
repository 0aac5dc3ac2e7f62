import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { listenOnLoopback } from '../http/loopback.js';

/**
 * Driver kit: serves saved bank pages on 127.0.0.1 so a driver can be tested against the
 * exact HTML a bank produced, without the bank. A route matches a method, a path and (some)
 * query parameters; the first route that matches answers.
 */
export type SavedRoute = { method?: 'GET' | 'POST'; path: string; query?: Record<string, string>; file: string; status?: number };

export type SavedPortal = { url: string; requests: string[]; close(): Promise<void> };

export async function serveSavedPages(dir: string, routes: SavedRoute[]): Promise<SavedPortal> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://saved');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const route = routes.find(
      (r) => (r.method ?? 'GET') === req.method && r.path === url.pathname && Object.entries(r.query ?? {}).every(([k, v]) => url.searchParams.get(k) === v),
    );
    // Drain any form body before answering.
    req.resume();
    req.on('end', () => {
      if (!route) {
        res.writeHead(404, { 'content-type': 'text/html' });
        res.end('<p>not saved</p>');
        return;
      }
      res.writeHead(route.status ?? 200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(readFileSync(path.join(dir, route.file)));
    });
  });
  return { ...(await listenOnLoopback(server)), requests };
}
