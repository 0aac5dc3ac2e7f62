#!/usr/bin/env node
/**
 * An SMS relay for Reconbanker's External API, as the "Automate OTP submission" guide
 * describes it (Option B: poll). It waits until an account's login asks for a bank code
 * (GET /v1/accounts/:id/status, scope status:read), reads the code from where your SMS
 * arrive (here: a URL that answers {"code": "…"}, such as the sandbox bank's phone,
 * http://127.0.0.1:4010/sandbox/users/demo-otp/otp) and submits it
 * (POST /v1/accounts/:id/otp, scope otp:write). Plain fetch, nothing else.
 *
 *   RECONBANKER_API_KEY=rbk_… node tools/sms-relay.mjs --api http://127.0.0.1:3000 \
 *     --account <account id> --phone http://127.0.0.1:4010/sandbox/users/demo-otp/otp [--once] [--timeout 300]
 *
 * With --once it exits after one code (0 when the API took it); otherwise it keeps relaying.
 */
const args = new Map();
for (let i = 2; i < process.argv.length; i++) {
  const name = process.argv[i];
  if (!name.startsWith('--')) continue;
  const next = process.argv[i + 1];
  if (next === undefined || next.startsWith('--')) args.set(name.slice(2), true);
  else args.set(name.slice(2), next), i++;
}
const api = String(args.get('api') ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const account = args.get('account');
const phone = args.get('phone');
const key = process.env.RECONBANKER_API_KEY;
const once = args.get('once') === true;
const timeoutMs = Number(args.get('timeout') ?? 300) * 1000;
if (!account || !phone || !key) {
  console.error('usage: RECONBANKER_API_KEY=rbk_… node tools/sms-relay.mjs --api <url> --account <id> --phone <url> [--once] [--timeout <s>]');
  process.exit(2);
}
const headers = { 'x-api-key': key, accept: 'application/json' };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function status() {
  const response = await fetch(`${api}/v1/accounts/${account}/status`, { headers });
  const body = await response.json();
  if (!response.ok) throw new Error(`status: ${response.status} ${body?.error?.code ?? ''} ${body?.error?.message ?? ''}`);
  return body;
}

const deadline = Date.now() + timeoutMs;
let lastRequest = null;
let lastAttempts = -1;
while (Date.now() < deadline) {
  const current = await status();
  const pending = current.assistance;
  // A new request, or the same one asking again after the bank refused a code.
  if (pending && (pending.id !== lastRequest || pending.attempts !== lastAttempts)) {
    const sms = await (await fetch(phone)).json();
    if (typeof sms.code === 'string' && sms.code.length === pending.descriptor.length) {
      const response = await fetch(`${api}/v1/accounts/${account}/otp`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ code: sms.code }) });
      const body = await response.json();
      if (response.status === 202) {
        console.log(`submitted a ${pending.descriptor.length}-character code for request ${pending.id}`);
        lastRequest = pending.id;
        lastAttempts = pending.attempts;
        if (once) process.exit(0);
      } else {
        console.error(`refused: ${response.status} ${body?.error?.code ?? ''} ${body?.error?.message ?? ''}`);
        if (response.status === 429) await sleep(Number(response.headers.get('retry-after') ?? 60) * 1000);
      }
    }
  }
  await sleep(500);
}
console.error('no code was asked for in time');
process.exit(once ? 1 : 0);
