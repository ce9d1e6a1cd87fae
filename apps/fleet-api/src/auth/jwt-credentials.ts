import { Inject, Injectable, Logger } from '@nestjs/common';
import { RUNTIME, type RuntimeInfrastructure } from '@hyperfleet/platform';
import { JwtVerifier } from './jwt-verifier';

/** The JWT verifier when AUTH_JWT_JWKS_URL or AUTH_JWT_PUBLIC_KEY is set; null: API keys only. */
@Injectable()
export class JwtCredentials {
  readonly verifier: JwtVerifier | null;

  constructor(@Inject(RUNTIME) infra: RuntimeInfrastructure) {
    const config = infra.config.auth.jwt;
    this.verifier = config ? new JwtVerifier(config) : null;
    if (config) {
      new Logger('Auth').log(
        `JWT bearer tokens accepted from ${config.issuer} (${config.jwksUrl ?? 'AUTH_JWT_PUBLIC_KEY'}; ${config.algorithms.join(', ')})`,
      );
    }
  }
}
