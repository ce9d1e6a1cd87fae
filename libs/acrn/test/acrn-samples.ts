// ACRN's own sample data (libs/acrn/test-data/acrn-v3.3, see its README) for tests; the library never
// reads files itself.
// eslint-disable-next-line no-restricted-imports
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const TEST_DATA = join(__dirname, '..', 'test-data');
export const ACRN_DATA = join(TEST_DATA, 'acrn-v3.3', 'config_tools', 'data');
export const ACRN_SCHEMA = join(TEST_DATA, 'acrn-v3.3', 'config_tools', 'schema');

export interface AcrnSample {
  /** `<board dir>/<file>`, as the expected verdicts name it. */
  id: string;
  board: string;
  boardPath: string;
  scenarioPath: string;
  xml: string;
}

/** Every scenario XML beside a board XML, symlinked duplicates once (as validate.py --samples). */
export function acrnSamples(): AcrnSample[] {
  return readdirSync(ACRN_DATA)
    .filter((board) => existsSync(join(ACRN_DATA, board, `${board}.xml`)))
    .sort()
    .flatMap((board) =>
      readdirSync(join(ACRN_DATA, board))
        .filter((f) => f.endsWith('.xml') && f !== `${board}.xml`)
        .filter((f) => !lstatSync(join(ACRN_DATA, board, f)).isSymbolicLink())
        .sort()
        .map((f) => ({
          id: `${board}/${f}`,
          board,
          boardPath: join(ACRN_DATA, board, `${board}.xml`),
          scenarioPath: join(ACRN_DATA, board, f),
          xml: readFileSync(join(ACRN_DATA, board, f), 'utf8'),
        })),
    );
}

export function acrnBoards(): Array<{ board: string; path: string; xml: string }> {
  return readdirSync(ACRN_DATA)
    .filter((board) => existsSync(join(ACRN_DATA, board, `${board}.xml`)))
    .sort()
    .map((board) => {
      const path = join(ACRN_DATA, board, `${board}.xml`);
      return { board, path, xml: readFileSync(path, 'utf8') };
    });
}

export function readTestData(path: string): string {
  return readFileSync(join(TEST_DATA, path), 'utf8');
}
