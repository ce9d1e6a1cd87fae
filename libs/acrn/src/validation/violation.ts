import type { RuleCode, RuleGroup } from './rules';

export type Severity = 'error' | 'warning';

/** One broken rule. `severity` is how ACRN grades the check (an error stops the configurator/build). */
export interface Violation {
  code: RuleCode;
  severity: Severity;
  group: RuleGroup;
  /** Names of the VMs involved. */
  vms: string[];
  /** pCPU ids involved. */
  pcpus: number[];
  message: string;
}

export interface ValidationReport {
  ok: boolean;
  errors: Violation[];
  warnings: Violation[];
}
