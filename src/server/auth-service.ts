import type { AuthServiceServer } from '../gen/progressdb/v1/auth_service.js';
import type { Logger } from '../telemetry/index.js';
import { unary, type AdapterDeps } from './call-adapters.js';
import { requireId } from './request-validation.js';
import type { UserTokenSigner } from './user-tokens.js';

/**
 * AuthService: backends sign short-lived user tokens that frontends send as `x-user-token`.
 * Data flow: backend → SignUser → UserTokenSigner (current signing secret) → token.
 */
export function authService(
  deps: AdapterDeps,
  tokens: UserTokenSigner,
  logger: Logger,
): AuthServiceServer {
  return {
    signUser: unary(deps, 'AuthService', 'SignUser', (request, context) => {
      const userId = requireId(request.userId, 'user_id');
      const ttl = request.ttlSeconds === 0 ? tokens.defaultTtlSeconds : request.ttlSeconds;
      const { token, expiresAt } = tokens.sign(userId, ttl);
      logger.debug({ userId, keyId: context.keyId, expiresAt }, 'signed a user token');
      return { userId, token, expiresAt };
    }),
  };
}
