import { createServer } from 'node:http';
import { expect } from 'chai';
import { downloadCapped, fileTooLargeText, sizeText } from '../../src/chat/download.js';
import { listenOnLoopback } from '../../src/http/loopback.js';
import { unusedPort } from '../helpers/ports.js';

/** Fetching a file sent with a command, against a real HTTP server: capped, no redirects, sentences that name no URL. */
describe('downloadCapped (real HTTP server)', () => {
  const TOKEN = '777000:secret-token-in-the-path-ABCDEFGHIJKLMNOPQRSTU';
  let server: Awaited<ReturnType<typeof listenOnLoopback>>;
  let redirectedTo = 0;

  before(async () => {
    server = await listenOnLoopback(
      createServer((req, res) => {
        if (req.url?.startsWith('/ok/')) return res.writeHead(200, { 'content-type': 'text/csv' }).end('date,amount\n');
        if (req.url?.startsWith('/missing/')) return res.writeHead(404).end('not here');
        if (req.url?.startsWith('/moved/')) return res.writeHead(302, { location: '/elsewhere' }).end();
        if (req.url === '/elsewhere') {
          redirectedTo += 1;
          return res.writeHead(200).end('x');
        }
        if (req.url?.startsWith('/page/')) return res.writeHead(200, { 'content-type': 'text/html' }).end('<html>Sign in</html>');
        res.writeHead(500).end();
      }),
    );
  });

  after(async () => {
    await server?.close();
  });

  const options = { maxBytes: 1024, name: 'march.csv', platform: 'Telegram' };
  async function failure(url: string, extra: Partial<Parameters<typeof downloadCapped>[1]> = {}): Promise<Error> {
    try {
      await downloadCapped(url, { ...options, ...extra });
    } catch (error) {
      return error as Error;
    }
    throw new Error('the download did not fail');
  }

  it('reads a file within the limit', async () => {
    expect((await downloadCapped(`${server.url}/ok/bot${TOKEN}/f.csv`, options)).toString()).to.equal('date,amount\n');
  });

  it('every failure is one sentence for the person, naming neither the URL nor its token', async () => {
    const refused = await failure(`http://127.0.0.1:${await unusedPort()}/file/bot${TOKEN}/f.csv`);
    const missing = await failure(`${server.url}/missing/bot${TOKEN}/f.csv`);
    const moved = await failure(`${server.url}/moved/bot${TOKEN}/f.csv`);
    expect(refused.message).to.equal('Could not fetch march.csv from Telegram (connection refused); send it again in a moment.');
    expect(missing.message).to.equal('Could not fetch march.csv from Telegram (it answered 404); send it again.');
    expect(moved.message, 'a redirect is not followed').to.equal('Could not fetch march.csv from Telegram (it answered 302); send it again.');
    expect(redirectedTo).to.equal(0);
    for (const error of [refused, missing, moved]) {
      expect(error.name).to.equal('UserError');
      expect(`${error.message} ${error.stack ?? ''}`).not.to.include(TOKEN);
      expect(error.cause).to.equal(undefined);
    }
  });

  it('a content type that is not the file gives the caller\'s sentence', async () => {
    const page = await failure(`${server.url}/page/x`, { refuse: (type) => (type.startsWith('text/html') ? 'Not the file.' : undefined) });
    expect(page.message).to.equal('Not the file.');
  });

  it('says a limit as people read it', () => {
    expect(sizeText(50 * 1024 * 1024)).to.equal('50 MB');
    expect(sizeText(1.5 * 1024 * 1024)).to.equal('1.5 MB');
    expect(sizeText(64 * 1024)).to.equal('64 KB');
    expect(fileTooLargeText('a.xml', 20 * 1024 * 1024)).to.equal('a.xml is larger than 20 MB; split it or drop it in the watched folder.');
  });
});
