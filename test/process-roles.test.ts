import { expect } from 'chai';
import { loadConfig, ConfigError } from '../src/config.js';
import { ALL_ROLES, describeRoles, parseProcessRoles } from '../src/process-roles.js';

describe('process roles (ROLES)', () => {
  it('every role by default, or with all', () => {
    expect(loadConfig({}).roles).to.deep.equal(ALL_ROLES);
    expect(loadConfig({ ROLES: 'all' }).roles).to.deep.equal(ALL_ROLES);
    expect(loadConfig({ ROLES: '' }).roles).to.deep.equal(ALL_ROLES);
  });

  it('any subset, in any order, spaces and case ignored', () => {
    expect(loadConfig({ ROLES: 'worker' }).roles).to.deep.equal({ chat: false, worker: true, api: false });
    expect(loadConfig({ ROLES: ' API , Chat' }).roles).to.deep.equal({ chat: true, worker: false, api: true });
    expect(describeRoles(loadConfig({ ROLES: 'api,worker' }).roles)).to.equal('worker,api');
  });

  it('names an unknown role', () => {
    expect(parseProcessRoles('worker,web')).to.deep.equal({ problem: '"web" is not a role (use chat, worker and/or api, comma separated, or all)' });
    try {
      loadConfig({ ROLES: 'worker,web' });
      expect.fail('an unknown role');
    } catch (error) {
      expect((error as ConfigError).problems).to.deep.equal(['ROLES: "web" is not a role (use chat, worker and/or api, comma separated, or all)']);
    }
  });
});

describe('docker-compose.yml runs the roles apart on one MongoDB', () => {
  it('an api, a worker and a chat process; the api checked by GET /ready, the others by the readiness file', async () => {
    const { readFileSync } = await import('node:fs');
    const path = await import('node:path');
    const { projectRoot } = await import('../src/paths.js');
    const compose = readFileSync(path.join(projectRoot, 'docker-compose.yml'), 'utf8');
    for (const role of ['api', 'worker', 'chat']) expect(compose).to.match(new RegExp(`^  ${role}:\\n(?:    .*\\n|      .*\\n)*?      ROLES: ${role}$`, 'm'));
    expect(compose.match(/MONGODB_URI: mongodb:\/\/mongo:27017\/reconbanker/g)).to.have.length(1);
    expect(compose).to.include('test: ["CMD", "node", "dist/src/healthcheck.js", "http://127.0.0.1:3000/ready"]');
  });
});
