import {
  DEFAULT_PASSWORD_ITERATIONS,
  HASH_BYTES,
  InvalidPasswordHashError,
  SALT_BYTES,
  generatePassword,
  hashPassword,
  parsePasswordHash,
  verifyPassword,
} from './password-hash';

// Written by `mosquitto_passwd -b passwd dev-1 secret` (mosquitto 2.0.11): the format we must read and write.
const FROM_MOSQUITTO_PASSWD =
  '$7$101$RPdhbR7CRQ3ze4Fr$w9wUhSJBn0IzXPcFYMmulHegLOPiu/K5fvWkWgU1iHXQhS/HwEp6Pul2FVen22VnobzutYcGI+foYvqRF1Ir3A==';

describe('password hashes in Mosquitto format', () => {
  it('writes $7$<iterations>$<base64 12-byte salt>$<base64 64-byte hash>', async () => {
    const hash = await hashPassword('correct horse');
    expect(hash).toMatch(/^\$7\$1000\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
    const parsed = parsePasswordHash(hash);
    expect(parsed).toMatchObject({ iterations: DEFAULT_PASSWORD_ITERATIONS });
    expect(parsed.salt).toHaveLength(SALT_BYTES);
    expect(parsed.hash).toHaveLength(HASH_BYTES);
  });

  it('salts every hash', async () => {
    expect(await hashPassword('same')).not.toBe(await hashPassword('same'));
  });

  it('verifies its own hashes, and nothing else', async () => {
    const hash = await hashPassword('p4ss', 50);
    expect(hash.startsWith('$7$50$')).toBe(true);
    await expect(verifyPassword('p4ss', hash)).resolves.toBe(true);
    await expect(verifyPassword('p4sS', hash)).resolves.toBe(false);
    await expect(verifyPassword('', hash)).resolves.toBe(false);
  });

  it('verifies a hash written by mosquitto_passwd, reading its iteration count', async () => {
    expect(parsePasswordHash(FROM_MOSQUITTO_PASSWD).iterations).toBe(101);
    await expect(verifyPassword('secret', FROM_MOSQUITTO_PASSWD)).resolves.toBe(true);
    await expect(verifyPassword('Secret', FROM_MOSQUITTO_PASSWD)).resolves.toBe(false);
  });

  it.each([
    ['an empty string', ''],
    ['sha512 (Mosquitto 1.x)', '$6$salt$hash'],
    ['zero iterations', '$7$0$RPdhbR7CRQ3ze4Fr$' + 'A'.repeat(86) + '=='],
    ['too many iterations', '$7$2000000$RPdhbR7CRQ3ze4Fr$' + 'A'.repeat(86) + '=='],
    ['a salt length Mosquitto refuses', '$7$101$c2hvcnQ=$' + 'A'.repeat(86) + '=='],
    ['a short hash', '$7$101$RPdhbR7CRQ3ze4Fr$AAAA'],
    ['a salt that is not base64', '$7$101$RPdh*R7CRQ3ze4Fr$' + 'A'.repeat(86) + '=='],
  ])('refuses %s; verify answers false instead of throwing', async (_label, bad) => {
    expect(() => parsePasswordHash(bad)).toThrow(InvalidPasswordHashError);
    await expect(verifyPassword('secret', bad)).resolves.toBe(false);
  });

  it('generates 256-bit passwords that are safe in URLs and shells', () => {
    const a = generatePassword();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generatePassword()).not.toBe(a);
  });
});
