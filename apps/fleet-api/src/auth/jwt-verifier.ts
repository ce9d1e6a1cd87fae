/**
 * JWT bearer tokens from an identity provider, verified with `jose` against a JWKS URL or one PEM
 * public key. Checked: the algorithm (allow-list, asymmetric only), the signature, `iss`, `aud`, `exp`
 * (required) and `nbf`, and that the role claim names one of the roles. The scope comes from
 * `hf_sites` / `hf_device_classes` (absent: every site / class).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import type { JwtConfig } from '@hyperfleet/platform';
import { ROLES, type CredentialScope, type Role } from './auth.types';

export const SITES_CLAIM = 'hf_sites';
export const DEVICE_CLASSES_CLAIM = 'hf_device_classes';
/** Tolerated clock difference between the identity provider and this process. */
const CLOCK_TOLERANCE_S = 30;

export interface VerifiedToken {
  readonly subject: string;
  readonly credentialId: string;
  readonly role: Role;
  readonly scope: CredentialScope;
}

/** A token that fails a check; the message says which (it goes into the 401 INVALID_TOKEN). */
export class TokenRefused extends Error {}

/** The identity provider's keys could not be fetched: not the token's fault (503). */
export class TokenKeysUnavailable extends Error {}

export class JwtVerifier {
  private readonly key: KeyObject | ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly config: JwtConfig) {
    this.key = config.jwksUrl
      ? createRemoteJWKSet(new URL(config.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 600_000 })
      : createPublicKey(config.publicKeyPem!);
  }

  async verify(token: string): Promise<VerifiedToken> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new TokenRefused('the token header is not valid base64url JSON');
    }
    if (!alg || alg.toLowerCase() === 'none')
      throw new TokenRefused('unsigned tokens (alg "none") are never accepted');
    if (!(this.config.algorithms as readonly string[]).includes(alg)) {
      throw new TokenRefused(
        `algorithm ${alg} is not allowed (allowed: ${this.config.algorithms.join(', ')})`,
      );
    }
    let payload: JWTPayload;
    try {
      const options = {
        algorithms: [...this.config.algorithms],
        issuer: this.config.issuer,
        audience: this.config.audience,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_S,
      };
      payload =
        typeof this.key === 'function'
          ? (await jwtVerify(token, this.key, options)).payload
          : (await jwtVerify(token, this.key, options)).payload;
    } catch (err) {
      throw explain(err, this.config);
    }
    return {
      subject: payload.sub!,
      credentialId: payload.jti ?? `${payload.iss ?? ''}|${payload.sub!}`,
      role: roleOf(payload, this.config.roleClaim),
      scope: {
        sites: listClaim(payload, SITES_CLAIM),
        deviceClasses: listClaim(payload, DEVICE_CLASSES_CLAIM),
      },
    };
  }
}

function roleOf(payload: JWTPayload, claim: string): Role {
  const value = payload[claim];
  if (typeof value !== 'string' || !(ROLES as readonly string[]).includes(value)) {
    throw new TokenRefused(
      `the ${claim} claim must be one of ${ROLES.join(', ')} (got ${JSON.stringify(value ?? null)})`,
    );
  }
  return value as Role;
}

function listClaim(payload: JWTPayload, claim: string): string[] | null {
  const value = payload[claim];
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string') || value.length === 0) {
    // An empty or malformed scope must not widen to "everything".
    throw new TokenRefused(`the ${claim} claim must be a non-empty array of strings`);
  }
  return value as string[];
}

/** jose's error, as a sentence that says which check failed. */
export function explain(err: unknown, config: JwtConfig): Error {
  if (err instanceof errors.JWTExpired) return new TokenRefused('the token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return new TokenRefused(`the issuer is not ${config.issuer}`);
    if (err.claim === 'aud') return new TokenRefused(`the audience is not ${config.audience}`);
    if (err.claim === 'nbf') return new TokenRefused('the token is not valid yet (nbf)');
    if (err.reason === 'missing') return new TokenRefused(`the token has no ${err.claim} claim`);
    return new TokenRefused(`the ${err.claim} claim is invalid: ${err.message}`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return new TokenRefused('the signature does not verify');
  if (err instanceof errors.JOSEAlgNotAllowed) return new TokenRefused('the algorithm is not allowed');
  if (err instanceof errors.JWKSNoMatchingKey) {
    return new TokenRefused('no key of the identity provider matches the token (kid/alg)');
  }
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
    return new TokenKeysUnavailable(`the identity provider's keys could not be loaded: ${err.message}`);
  }
  if (err instanceof errors.JOSEError) return new TokenRefused(`the token is malformed: ${err.message}`);
  // A key of another type than the token's algorithm (an RSA key for an ES256 token).
  if (err instanceof TypeError) return new TokenRefused(`the token does not fit the key: ${err.message}`);
  // fetch failures of the JWKS URL (connection refused, DNS) are plain errors.
  return new TokenKeysUnavailable(
    `the identity provider's keys could not be loaded: ${(err as Error).message}`,
  );
}
