import type { ChatAdapter, ChatMessage, CommandEvent, Form, FormResult } from '../../src/chat/port.js';
import type { Identity } from '../../src/domain/identity.js';

/** An adapter stand-in for in-process router tests: private forms are answered from a script. */
export function scriptedForms(answers: FormResult[] = []): Pick<ChatAdapter, 'askPrivately'> & { asked: Form[]; answers: FormResult[] } {
  const asked: Form[] = [];
  return {
    asked,
    answers,
    async askPrivately(_actor, form) {
      asked.push(form);
      return answers.shift() ?? { status: 'timed_out' };
    },
  };
}

export function identity(userId: string, platform = 'slack', teamId = 'T1'): Identity {
  return { platform, teamId, userId, displayName: `user-${userId}` };
}

export function commandIn(place: 'dm' | 'channel', actor: Identity, text: string, progress: ChatMessage[] = []): CommandEvent {
  return {
    actor,
    place: { ref: `${actor.platform}:${actor.teamId}:${place === 'dm' ? 'D' : 'C'}1`, kind: place, private: place === 'dm' },
    text,
    progress: async (message) => {
      progress.push(message);
    },
  };
}
