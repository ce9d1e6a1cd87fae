import { SignJWT, errors, exportSPKI, generateKeyPair } from 'jose';
import type { JwtConfig } from '@hyperfleet/platform';
import { loadConfig } from '@hyperfleet/platform';
import { createKeyBody } from '../../../fleetctl/src/commands/keys';
import { credentialHint } from '../../../fleetctl/src/client';
import {
  apiKeyMatches,
  bearerCredential,
  credentialShape,
  generateApiKey,
  hashApiKey,
  parseApiKey,
} from './api-key-format';
import { withBearerAuth } from './auth.openapi';
import { ROLE_PERMISSIONS, roleAllows } from './auth.types';
import { JwtVerifier, TokenKeysUnavailable, TokenRefused, explain } from './jwt-verifier';

describe('API key format', () => {
  it('makes hf_<16 hex>_<43 base64url> keys with 256-bit secrets, each different', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.key).toMatch(/^hf_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.secret, 'base64url')).toHaveLength(32);
    expect(a.key).not.toBe(b.key);
    expect(parseApiKey(a.key)).toEqual({ keyId: a.keyId, secret: a.secret });
  });

  it('reads a secret that itself contains "_" and refuses other shapes', () => {
    const secret = `ab_cd-${'x'.repeat(40)}`;
    expect(parseApiKey(`hf_abcd1234_${secret}`)).toEqual({ keyId: 'abcd1234', secret });
    for (const bad of [
      'hf_',
      'hf_ABCD1234_' + 'x'.repeat(43),
      'hf_abcd1234_short',
      'xx_abcd1234_' + 'x'.repeat(43),
    ]) {
      expect(parseApiKey(bad)).toBeNull();
    }
  });

  it('stores a sha256 and compares it in constant time; another secret or id does not match', () => {
    const k = generateApiKey();
    const hash = hashApiKey(k);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(apiKeyMatches(k, hash)).toBe(true);
    expect(apiKeyMatches({ ...k, secret: generateApiKey().secret }, hash)).toBe(false);
    expect(apiKeyMatches({ ...k, keyId: 'ffffffffffffffff' }, hash)).toBe(false);
    expect(apiKeyMatches(k, 'abc')).toBe(false);
  });

  it('tells API keys from JWTs by shape, and reads the bearer header', () => {
    expect(credentialShape(generateApiKey().key)).toBe('api-key');
    expect(credentialShape('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')).toBe('jwt');
    expect(credentialShape('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.')).toBe('jwt');
    expect(credentialShape('password')).toBe('unknown');
    expect(bearerCredential('Bearer abc')).toBe('abc');
    expect(bearerCredential('bearer   abc ')).toBe('abc');
    expect(bearerCredential('Basic abc')).toBeNull();
    expect(bearerCredential(undefined)).toBeNull();
    expect(bearerCredential('Bearer a b')).toBeNull();
  });
});

describe('roles', () => {
  it('grant what docs/operator-api.md says', () => {
    expect(roleAllows('viewer', 'fleet:read')).toBe(true);
    expect(roleAllows('viewer', 'devices:command')).toBe(false);
    expect(roleAllows('operator', 'devices:command')).toBe(true);
    expect(roleAllows('operator', 'releases:write')).toBe(false);
    expect(roleAllows('release-manager', 'rollouts:write')).toBe(true);
    expect(roleAllows('release-manager', 'devices:command')).toBe(false);
    expect(ROLE_PERMISSIONS.admin).toContain('keys:manage');
    expect(
      ['viewer', 'operator', 'release-manager'].some((r) => roleAllows(r as 'viewer', 'keys:manage')),
    ).toBe(false);
  });
});

describe('JWT failures say which check failed', () => {
  const config: JwtConfig = {
    jwksUrl: 'http://idp/jwks',
    publicKeyPem: null,
    issuer: 'https://idp',
    audience: 'hf',
    algorithms: ['RS256'],
    roleClaim: 'hf_role',
  };
  const payload = {};
  it.each([
    [new errors.JWTExpired('exp', payload, 'exp', 'check_failed'), /expired/],
    [
      new errors.JWTClaimValidationFailed('iss', payload, 'iss', 'check_failed'),
      /issuer is not https:\/\/idp/,
    ],
    [new errors.JWTClaimValidationFailed('aud', payload, 'aud', 'check_failed'), /audience is not hf/],
    [new errors.JWTClaimValidationFailed('sub', payload, 'sub', 'missing'), /no sub claim/],
    [new errors.JWSSignatureVerificationFailed(), /signature/],
    [new errors.JWKSNoMatchingKey(), /no key/],
  ])('%s', (err, message) => {
    const e = explain(err, config);
    expect(e).toBeInstanceOf(TokenRefused);
    expect(e.message).toMatch(message);
  });

  it('an unreachable JWKS is not the token’s fault', () => {
    expect(explain(new Error('connect ECONNREFUSED'), config)).toBeInstanceOf(TokenKeysUnavailable);
  });
});

describe('auth configuration', () => {
  const base = { AUTH_JWT_ISSUER: 'https://idp', AUTH_JWT_AUDIENCE: 'hf' };
  it('JWT is off without a key source, on with one, and needs issuer and audience', () => {
    expect(loadConfig({}).auth).toEqual({ adminApiKey: null, jwt: null });
    expect(loadConfig({ ...base, AUTH_JWT_JWKS_URL: 'https://idp/jwks' }).auth.jwt).toMatchObject({
      algorithms: ['RS256', 'ES256', 'EdDSA'],
      roleClaim: 'hf_role',
    });
    expect(() => loadConfig({ AUTH_JWT_JWKS_URL: 'https://idp/jwks' })).toThrow(
      /AUTH_JWT_ISSUER[\s\S]*AUTH_JWT_AUDIENCE/,
    );
  });

  it('never allows none or a shared-secret HMAC', () => {
    for (const alg of ['none', 'HS256', 'RS256,HS512']) {
      expect(() =>
        loadConfig({ ...base, AUTH_JWT_JWKS_URL: 'https://idp/jwks', AUTH_JWT_ALGORITHMS: alg }),
      ).toThrow(/AUTH_JWT_ALGORITHMS/);
    }
  });

  it('HF_ADMIN_API_KEY must be shaped like a key', () => {
    expect(() => loadConfig({ HF_ADMIN_API_KEY: 'secret' })).toThrow(/HF_ADMIN_API_KEY/);
    const key = generateApiKey().key;
    expect(loadConfig({ HF_ADMIN_API_KEY: key }).auth.adminApiKey).toBe(key);
  });
});

describe('OpenAPI security', () => {
  it('puts the bearer scheme, 401 and 403 on every operation but /health', () => {
    const doc = withBearerAuth({
      openapi: '3.0.0',
      info: { title: 't', version: '1' },
      paths: {
        '/health': { get: { responses: {} } },
        '/api/v1/x': { get: { responses: {} }, post: { responses: {} } },
      },
    });
    expect(doc.components?.securitySchemes?.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/health'].get!.security).toBeUndefined();
    for (const op of [doc.paths['/api/v1/x'].get!, doc.paths['/api/v1/x'].post!]) {
      expect(op.security).toEqual([{ bearer: [] }]);
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '403']));
    }
  });
});

describe('fleetctl keys', () => {
  const none = { site: [], class: [] };
  it('builds the create body, refusing a bad role or expiry', () => {
    expect(createKeyBody('ci', { ...none, role: 'operator' })).toEqual({ name: 'ci', role: 'operator' });
    expect(
      createKeyBody('d1', { role: 'viewer', site: ['depot-1'], class: ['vehicle'], expiresInDays: '30' }),
    ).toEqual({
      name: 'd1',
      role: 'viewer',
      scope: { sites: ['depot-1'], deviceClasses: ['vehicle'] },
      expiresInDays: 30,
    });
    expect(() => createKeyBody('x', { ...none, role: 'root' })).toThrow(/--role/);
    expect(() => createKeyBody('x', { ...none })).toThrow(/--role/);
    expect(() => createKeyBody('x', { ...none, role: 'viewer', expiresInDays: '0.5' })).toThrow(
      /--expires-in-days/,
    );
  });

  it('says what to do on 401 and 403', () => {
    expect(credentialHint(401, undefined)).toMatch(/HF_API_KEY/);
    expect(credentialHint(401, 'hf_x')).toMatch(/expired or revoked/);
    expect(credentialHint(403, 'hf_x')).toMatch(/role/);
    expect(credentialHint(404, 'hf_x')).toBe('');
  });
});

describe('JWT with a PEM public key (AUTH_JWT_PUBLIC_KEY)', () => {
  it('verifies ES256 tokens against the key, with role and scope; refuses another key type', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const verifier = new JwtVerifier({
      jwksUrl: null,
      publicKeyPem: await exportSPKI(publicKey),
      issuer: 'https://idp',
      audience: 'hf',
      algorithms: ['ES256', 'RS256'],
      roleClaim: 'role',
    });
    const sign = (claims: Record<string, unknown>, alg = 'ES256', key = privateKey) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg })
        .setIssuer('https://idp')
        .setAudience('hf')
        .setSubject('bob')
        .setExpirationTime('1m')
        .sign(key);
    await expect(
      verifier.verify(await sign({ role: 'operator', hf_device_classes: ['vehicle'] })),
    ).resolves.toEqual({
      subject: 'bob',
      credentialId: 'https://idp|bob',
      role: 'operator',
      scope: { sites: null, deviceClasses: ['vehicle'] },
    });
    await expect(verifier.verify(await sign({ role: 'operator', hf_sites: [] }))).rejects.toThrow(/hf_sites/);
    await expect(verifier.verify(await sign({}))).rejects.toThrow(/role claim/);
    const rsa = await generateKeyPair('RS256');
    await expect(
      verifier.verify(await sign({ role: 'admin' }, 'RS256', rsa.privateKey)),
    ).rejects.toBeInstanceOf(TokenRefused);
  });
});
