import { expect } from 'chai';
import { createLimit } from '../../src/chat/limit.js';

describe('handling limit (adapters)', () => {
  it('starts at most N tasks at once, in order', async () => {
    const limit = createLimit(2, 10_000);
    const started: number[] = [];
    const gates = [0, 1, 2, 3].map(() => {
      let open: () => void = () => undefined;
      return { promise: new Promise<void>((resolve) => (open = resolve)), open: () => open() };
    });
    const tasks = gates.map((gate, i) => limit(async () => void (started.push(i), await gate.promise)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).to.deep.equal([0, 1]);
    gates[0]!.open();
    await tasks[0];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).to.deep.equal([0, 1, 2]);
    gates.forEach((g) => g.open());
    await Promise.all(tasks);
    expect(started).to.deep.equal([0, 1, 2, 3]);
  });

  it('a task that waits long (a person filling a form) gives its turn up after the hold time', async () => {
    const limit = createLimit(1, 20);
    let openForm: () => void = () => undefined;
    const form = limit(() => new Promise<void>((resolve) => (openForm = resolve)));
    const next = await Promise.race([limit(async () => 'ran'), new Promise((resolve) => setTimeout(() => resolve('blocked'), 2_000))]);
    expect(next).to.equal('ran');
    openForm();
    await form;
  });
});
