import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { projectRoot } from '../src/paths.js';

describe('.env.example', () => {
  it('lists every variable config.ts reads, each with a comment above it', () => {
    const config = readFileSync(path.join(projectRoot, 'src/config.ts'), 'utf8');
    const schema = config.slice(config.indexOf('const envSchema'), config.indexOf('export type SecretKey'));
    const variables = [...schema.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1] as string);
    expect(variables.length).to.be.greaterThan(20);
    const example = readFileSync(path.join(projectRoot, '.env.example'), 'utf8').split('\n');
    for (const variable of variables) {
      const line = example.findIndex((l) => l.startsWith(`${variable}=`));
      expect(line, `${variable} is missing from .env.example`).to.be.greaterThan(0);
      const above = example.slice(0, line).reverse().find((l) => !/^[A-Z][A-Z0-9_]*=/.test(l));
      expect(above, `${variable} has no comment`).to.match(/^#/);
    }
  });
});
