import { z } from 'zod';
import { defineCommand } from '../src/chat/command.js';
import { bullet } from './format.js';

export const banksCommand = defineCommand({
  path: ['banks'],
  usage: 'banks',
  summary: 'banks Reconbanker can log into',
  access: 'viewer',
  args: z.object({}).strict(),
  async handler(ctx) {
    const banks = ctx.services.banks.list();
    if (banks.length === 0) return { text: 'No banks are available yet.' };
    const lines = banks.map((b) => `${b.code} — ${b.name} (${b.country}; ${b.currencies.join(', ')}; 2FA: ${b.twoFactorKinds.join('/') || 'none'}; driver ${b.driverVersion})`);
    return { text: `Banks:\n${bullet(lines)}` };
  },
});
