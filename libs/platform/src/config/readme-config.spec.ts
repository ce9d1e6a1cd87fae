import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_VARIABLES } from './config';

describe('README configuration table', () => {
  it('lists every variable the app reads, with its default', () => {
    const readme = fs.readFileSync(path.join(__dirname, '../../../../README.md'), 'utf8');
    for (const v of CONFIG_VARIABLES) {
      expect(readme).toContain(`| \`${v.name}\` | ${v.default} | ${v.meaning} |`);
    }
  });
});
