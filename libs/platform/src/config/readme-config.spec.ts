import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_VARIABLES } from './config';

describe('README configuration table', () => {
  it('lists every variable the app reads, with its default and meaning', () => {
    const readme = fs.readFileSync(path.join(__dirname, '../../../../README.md'), 'utf8');
    const rows = readme
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) =>
        l
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim()),
      );
    for (const v of CONFIG_VARIABLES) {
      expect(rows).toContainEqual([`\`${v.name}\``, v.default, v.meaning]);
    }
  });
});
