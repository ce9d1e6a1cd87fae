// Tests may read files; the library itself never does (eslint keeps libs/acrn free of I/O imports).
// eslint-disable-next-line no-restricted-imports
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function readFixture(name: string): string {
  return readFileSync(join(__dirname, 'fixtures', name), 'utf8');
}

export function readRepoFile(path: string): string {
  return readFileSync(join(__dirname, '..', '..', '..', path), 'utf8');
}
