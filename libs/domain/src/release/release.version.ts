/**
 * Release and image versions are "semver-ish": MAJOR.MINOR[.PATCH][-prerelease][+build], as ACRN tags
 * its releases (`3.2`, `3.3-unstable`) and as distributions version their images (`6.1.80-rt26`).
 * Ordering follows SemVer 2.0 precedence, with a missing PATCH read as 0 and build metadata ignored.
 */
export const VERSION_PATTERN =
  /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:\.(0|[1-9]\d{0,8}))?(?:-([0-9A-Za-z.-]{1,64}))?(?:\+([0-9A-Za-z.-]{1,64}))?$/;

export interface ParsedVersion {
  readonly numbers: readonly [number, number, number];
  readonly prerelease: readonly string[];
}

export function parseVersion(text: string): ParsedVersion | null {
  const m = VERSION_PATTERN.exec(text);
  if (!m) return null;
  return {
    numbers: [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)],
    prerelease: m[4] ? m[4].split('.') : [],
  };
}

export function isVersion(text: unknown): text is string {
  return typeof text === 'string' && parseVersion(text) !== null;
}

/** < 0, 0 or > 0 as `a` is older than, as old as or newer than `b`; null when either is not a version. */
export function compareVersions(a: string, b: string): number | null {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) return null;
  for (let i = 0; i < 3; i++) if (x.numbers[i] !== y.numbers[i]) return x.numbers[i] - y.numbers[i];
  // A prerelease is older than the release itself.
  if (x.prerelease.length === 0 || y.prerelease.length === 0) {
    return y.prerelease.length - x.prerelease.length;
  }
  for (let i = 0; i < Math.min(x.prerelease.length, y.prerelease.length); i++) {
    const [p, q] = [x.prerelease[i], y.prerelease[i]];
    if (p === q) continue;
    const [pn, qn] = [/^\d+$/.test(p), /^\d+$/.test(q)];
    if (pn && qn) return Number(p) - Number(q);
    if (pn !== qn) return pn ? -1 : 1; // numeric identifiers sort first
    return p < q ? -1 : 1;
  }
  return x.prerelease.length - y.prerelease.length;
}

/** An inclusive version range; either end may be open. */
export interface VersionRange {
  readonly min?: string;
  readonly max?: string;
}

/** True when `version` lies in the range; false when it is outside or not a version at all. */
export function inRange(version: string, range: VersionRange): boolean {
  if (!isVersion(version)) return false;
  if (range.min !== undefined && (compareVersions(version, range.min) ?? -1) < 0) return false;
  if (range.max !== undefined && (compareVersions(version, range.max) ?? 1) > 0) return false;
  return true;
}

export function describeRange(range: VersionRange): string {
  if (range.min !== undefined && range.max !== undefined) return `${range.min} to ${range.max}`;
  if (range.min !== undefined) return `≥ ${range.min}`;
  if (range.max !== undefined) return `≤ ${range.max}`;
  return 'any version';
}
