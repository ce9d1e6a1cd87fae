/**
 * Writes docs/asyncapi.json from @hyperfleet/contracts (formatted with the repo's Prettier settings, so
 * `prettier --check .` passes). `--check` only compares and exits 1 when the file is out of date.
 *
 *   npm run build && node dist/scripts/generate-asyncapi.js [--check]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildAsyncApiDocument } from '@hyperfleet/contracts';

export const ASYNCAPI_FILE = join('docs', 'asyncapi.json');

/** The repository root: the nearest folder above this file with the hyperfleet package.json, else the cwd. */
export function repoRoot(start = __dirname): string {
  for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'hyperfleet'
    ) {
      return dir;
    }
  }
  return process.cwd();
}

/** The document as the file holds it: JSON, formatted by Prettier when it is installed. */
export async function renderAsyncApiDocument(filepath: string): Promise<string> {
  const json = `${JSON.stringify(buildAsyncApiDocument(), null, 2)}\n`;
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(filepath)) ?? {};
    return await prettier.format(json, { ...options, filepath });
  } catch {
    return json;
  }
}

export async function main(argv: string[]): Promise<number> {
  const file = join(repoRoot(), ASYNCAPI_FILE);
  const text = await renderAsyncApiDocument(file);
  const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  if (argv.includes('--check')) {
    if (current === text) {
      console.log(`${ASYNCAPI_FILE} is up to date.`);
      return 0;
    }
    console.error(`${ASYNCAPI_FILE} is out of date: run node dist/scripts/generate-asyncapi.js`);
    return 1;
  }
  if (current === text) {
    console.log(`${ASYNCAPI_FILE} is up to date.`);
  } else {
    writeFileSync(file, text);
    console.log(`Wrote ${file}.`);
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
