import { expect } from 'chai';
import { canGrant, hasRole, ROLES, type Role } from '../../src/domain/roles.js';

describe('roles', () => {
  it('rank viewer < operator < admin < owner', () => {
    const table: [Role, Role, boolean][] = [
      ['owner', 'admin', true],
      ['admin', 'admin', true],
      ['operator', 'admin', false],
      ['viewer', 'operator', false],
      ['operator', 'viewer', true],
    ];
    for (const [actual, required, expected] of table) expect(hasRole(actual, required), `${actual} ≥ ${required}`).to.equal(expected);
  });

  it('only admins and owners invite, and never above their own role', () => {
    expect(canGrant('admin', 'owner')).to.equal(false);
    expect(canGrant('admin', 'admin')).to.equal(true);
    expect(canGrant('owner', 'owner')).to.equal(true);
    for (const role of ROLES) expect(canGrant('operator', role)).to.equal(false);
  });
});
