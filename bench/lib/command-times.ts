import type { CommandStartedEvent, CommandSucceededEvent, MongoClient } from 'mongodb';

export type CommandTime = { count: number; ms: number };

/**
 * Time and count per command and collection (`update outbox`), from the driver's command
 * monitoring (the client must be connected with monitorCommands): BENCH_PROFILE's breakdown.
 */
export function timeCommands(client: MongoClient): { reset(): void; top(n: number): [string, CommandTime][] } {
  const started = new Map<number, string>();
  let spent = new Map<string, CommandTime>();
  client.on('commandStarted', (event: CommandStartedEvent) => {
    const command = event.command as Record<string, unknown>;
    started.set(event.requestId, `${event.commandName} ${String(command[event.commandName] ?? '')}`);
  });
  client.on('commandSucceeded', (event: CommandSucceededEvent) => {
    const key = started.get(event.requestId);
    if (!key) return;
    started.delete(event.requestId);
    const entry = spent.get(key) ?? { count: 0, ms: 0 };
    entry.count += 1;
    entry.ms += event.duration;
    spent.set(key, entry);
  });
  return {
    reset: () => {
      spent = new Map();
    },
    top: (n) => [...spent].sort((a, b) => b[1].ms - a[1].ms).slice(0, n),
  };
}
