// Runs ACRN's own validator (test-data/validate.py) for integration tests.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TEST_DATA } from './acrn-samples';

export interface AcrnVerdict {
  board: string;
  scenario: string;
  syntax: Array<{ path: string; message: string }>;
  checks: Array<{ check: string; severity: 'error' | 'warning'; message: string; paths: string[] }>;
}

/** A Python 3 that has Debian's python3-xmlschema and python3-lxml, or undefined. */
export function findAcrnPython(): string | undefined {
  // pyenv or venv pythons on PATH may lack Debian's packages; Debian's own interpreter has them.
  for (const python of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(python, ['-c', 'import xmlschema, lxml, elementpath'], { stdio: 'ignore' });
    if (probe.status === 0) return python;
  }
  return undefined;
}

export function runAcrnValidator(python: string, boardXml: string, scenarioXmls: string[]): AcrnVerdict[] {
  const out = execFileSync(python, [join(TEST_DATA, 'validate.py'), boardXml, ...scenarioXmls], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 600_000,
  });
  return JSON.parse(out) as AcrnVerdict[];
}
