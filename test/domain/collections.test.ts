import { expect } from 'chai';
import { appendTo } from '../../src/domain/collections.js';

describe('appendTo', () => {
  it('files values under their key in the order given, extending one list in place', () => {
    const map = new Map<string, number[]>();
    appendTo(map, 'a', 1);
    const first = map.get('a');
    appendTo(map, 'b', 2);
    appendTo(map, 'a', 3);
    expect([...map]).to.deep.equal([['a', [1, 3]], ['b', [2]]]);
    expect(map.get('a')).to.equal(first);
  });
});
