import { z } from 'zod';
import { defineCommand, type CommandSpec } from '../src/chat/command.js';
import { COMMAND_ROOT } from '../src/chat/router.js';
import { hasRole } from '../src/domain/roles.js';

/** `help` lists what the caller may run; `help account` narrows to a group. */
export function helpCommand(all: () => readonly CommandSpec[]): CommandSpec {
  return defineCommand({
    path: ['help'],
    usage: 'help [topic]',
    summary: 'list the commands you can use',
    access: 'anyone',
    positionals: ['topic'],
    args: z.object({ topic: z.string().optional() }).strict(),
    async handler(ctx, { topic }) {
      const allowed = all().filter((c) => c.access === 'anyone' || (ctx.member !== null && hasRole(ctx.member.role, c.access)));
      const shown = topic ? allowed.filter((c) => c.path[0] === topic.toLowerCase()) : allowed;
      if (shown.length === 0) return { text: `No commands about "${topic}". Try ${COMMAND_ROOT} help.` };
      const lines = shown.map((c) => `${COMMAND_ROOT} ${c.usage} — ${c.summary}`);
      const intro = ctx.member ? 'Commands:' : `Commands (link your chat identity first: ${COMMAND_ROOT} link <code>, or ${COMMAND_ROOT} setup <company>):`;
      return { text: `${intro}\n${lines.join('\n')}` };
    },
  });
}
