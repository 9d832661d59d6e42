import type { Client } from 'nice-grpc';
import { rpcPath, type CallOptions, type CallRunner } from './call-runner.js';
import { AuthServiceDefinition } from './gen/progressdb/v1/auth_service.js';

/** The request of `auth.signUser`. */
export interface SignUserInput {
  /** The user the token is for. */
  readonly userId: string;
  /** How long the token is valid, in seconds; default 3600 (the server caps it, 30 days by default). */
  readonly ttlSeconds?: number;
}

/** A signed user token, for a frontend to send as `x-user-token` with a frontend key. */
export interface UserToken {
  readonly userId: string;
  readonly token: string;
  /** When the token expires; `undefined` only if the server left it out. */
  readonly expiresAt: Date | undefined;
}

/** `client.auth`: AuthService. */
export interface AuthMethods {
  /**
   * Signs a token binding `userId` and an expiry (backend keys only). Hand it to the frontend,
   * which calls with its frontend key and `userToken`. @throws PermissionDeniedError
   */
  signUser(input: SignUserInput, options?: CallOptions): Promise<UserToken>;
}

/** Builds `client.auth` over an AuthService client. */
export function authMethods(
  client: Client<AuthServiceDefinition>,
  runner: CallRunner,
): AuthMethods {
  return {
    async signUser(input, options) {
      const request = { userId: input.userId, ttlSeconds: input.ttlSeconds ?? 0 };
      // Signing has no side effect: safe to retry.
      const signed = await runner.unary(
        rpcPath(AuthServiceDefinition, 'signUser'),
        (o) => client.signUser(request, o),
        options,
        'retry',
      );
      return { userId: signed.userId, token: signed.token, expiresAt: signed.expiresAt };
    },
  };
}
