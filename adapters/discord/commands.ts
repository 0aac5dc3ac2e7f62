import type { CommandSpec } from '../../src/chat/command.js';

/**
 * `/recon` for Discord, built from the same command declarations every platform uses: a
 * one-word command is a sub-command, a two-word one a sub-command of a group; declared
 * positionals become string options in order, and `options` carries key=value words. A
 * command that reads a file gets an attachment option `file` for it (and not its console-only
 * path). A command that is also the head of a group (`pending`, next to `pending show`)
 * becomes the group's `list`. Pure, both ways: declarations → definition, chosen options →
 * command text.
 */

type Option = { type: number; name: string; description: string; required?: boolean; options?: Option[] };
export type CommandDefinition = { name: string; description: string; options: Option[] };

const SUB_COMMAND = 1;
const SUB_COMMAND_GROUP = 2;
const STRING = 3;
const ATTACHMENT = 11;
const HEAD = 'list';
/** The attachment option of a command that reads a file. */
export const FILE_OPTION = 'file';

function describe(text: string): string {
  return text.length <= 100 ? text : `${text.slice(0, 97)}…`;
}

/** The positionals Discord offers: a file's console-only path is not one of them. */
function offeredPositionals(spec: CommandSpec): string[] {
  return (spec.positionals ?? []).filter((name) => name !== spec.file?.consolePath);
}

function optionsOf(spec: CommandSpec): Option[] {
  return [
    ...offeredPositionals(spec).map((name) => ({ type: STRING, name: name.toLowerCase().slice(0, 32), description: describe(`${name} (see: /recon help)`), required: false })),
    ...(spec.file ? [{ type: ATTACHMENT, name: FILE_OPTION, description: describe(spec.file.description), required: false }] : []),
    { type: STRING, name: 'options', description: 'more, as key=value words (e.g. status=matched limit=5)', required: false },
  ];
}

export function discordDefinition(commands: readonly CommandSpec[]): CommandDefinition {
  const groups = new Map<string, CommandSpec[]>();
  for (const spec of commands) if (spec.path.length === 2) groups.set(spec.path[0] as string, [...(groups.get(spec.path[0] as string) ?? []), spec]);
  const options: Option[] = [];
  for (const spec of commands) {
    const [head, tail] = spec.path as [string, string | undefined];
    if (tail !== undefined) continue;
    if (groups.has(head)) continue; // the group's `list`, below
    options.push({ type: SUB_COMMAND, name: head, description: describe(spec.summary), options: optionsOf(spec) });
  }
  for (const [head, specs] of groups) {
    const single = commands.find((spec) => spec.path.length === 1 && spec.path[0] === head);
    options.push({
      type: SUB_COMMAND_GROUP,
      name: head,
      description: describe(`${head} commands`),
      options: [
        ...(single ? [{ type: SUB_COMMAND, name: HEAD, description: describe(single.summary), options: optionsOf(single) }] : []),
        ...specs.map((spec) => ({ type: SUB_COMMAND, name: spec.path[1] as string, description: describe(spec.summary), options: optionsOf(spec) })),
      ],
    });
  }
  return { name: 'recon', description: 'Reconbanker: accounts, bank sessions, payments and webhooks', options };
}

/** The chosen sub-command and option values → the command text the router reads. */
export function commandText(commands: readonly CommandSpec[], chosen: { group: string | null; subcommand: string; values: Map<string, string> }): string {
  const path = chosen.group ? (chosen.subcommand === HEAD && commands.some((c) => c.path.length === 1 && c.path[0] === chosen.group) ? [chosen.group] : [chosen.group, chosen.subcommand]) : [chosen.subcommand];
  const spec = commands.find((c) => c.path.length === path.length && c.path.every((p, i) => p === path[i]));
  const words = [...path];
  const names = spec ? offeredPositionals(spec) : [];
  for (const [i, name] of names.entries()) {
    const value = chosen.values.get(name.toLowerCase());
    if (value === undefined) continue;
    // A variadic last option holds several words (`account set Main` + `ask: bank_username webhook_url`).
    if (spec?.variadic && i === names.length - 1) words.push(value);
    else words.push(/\s|"/.test(value) ? `"${value.replace(/"/g, '')}"` : value);
  }
  const more = chosen.values.get('options');
  if (more) words.push(more);
  return words.join(' ');
}
