import type { Metadata } from '@grpc/grpc-js';
import { invalidField, ProgressDbError, Reason } from '../log/index.js';
import type { ApiKeyRegistry, Role } from './api-keys.js';
import type { UserTokenSigner } from './user-tokens.js';
import { requireId } from './request-validation.js';

/** The services of the API, as the role matrix names them. */
export type ServiceName =
  'ThreadService' | 'MessageService' | 'TailService' | 'AuthService' | 'AdminService';

/**
 * Who is calling: the key's role and public id, the user the call acts for ('' for none), and
 * whether the call is confined to that user's threads (frontend keys).
 */
export interface CallContext {
  role: Role;
  keyId: string;
  userId: string;
  confined: boolean;
  /** When the caller's user token expires (frontend keys); long calls (tails) end then. */
  expiresAt?: Date;
}

/** Metadata keys of the calling conventions (API.md). */
export const MetadataKey = {
  authorization: 'authorization',
  userId: 'x-user-id',
  userToken: 'x-user-token',
  requestId: 'x-request-id',
} as const;

const ALLOWED: Readonly<Record<Role, readonly ServiceName[]>> = {
  admin: ['AdminService'],
  backend: ['ThreadService', 'MessageService', 'TailService', 'AuthService'],
  frontend: ['ThreadService', 'MessageService', 'TailService'],
};

function single(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
}

/** What authentication needs: the API keys, and the signer that verifies user tokens. */
export interface Authenticator {
  keys: ApiKeyRegistry;
  tokens: UserTokenSigner;
}

/**
 * Authenticates a call from its metadata (API key; for frontend keys also the user token), then
 * checks that the key's role may call the service. Credentials are checked before the role, so a
 * bad credential is always UNAUTHENTICATED.
 * @throws MISSING_CREDENTIALS, INVALID_API_KEY, INVALID_USER_TOKEN, USER_TOKEN_EXPIRED
 *   (UNAUTHENTICATED); ROLE_FORBIDDEN; INVALID_FIELD x-user-id
 */
export function authenticate(
  metadata: Metadata,
  auth: Authenticator,
  service: ServiceName,
): CallContext {
  const header = single(metadata, MetadataKey.authorization);
  if (!header) {
    throw new ProgressDbError(
      Reason.missingCredentials,
      'authorization: Bearer <api-key> is required',
    );
  }
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  const key = match?.[1] ? auth.keys.lookup(match[1]) : undefined;
  if (!key) throw new ProgressDbError(Reason.invalidApiKey, 'the API key is not valid');
  let userId = '';
  let expiresAt: Date | undefined;
  if (key.role === 'frontend') {
    const token = single(metadata, MetadataKey.userToken);
    if (!token) {
      throw new ProgressDbError(Reason.missingCredentials, 'a frontend key needs an x-user-token');
    }
    ({ userId, expiresAt } = auth.tokens.verify(token));
  } else if (key.role === 'backend') {
    const asUser = single(metadata, MetadataKey.userId);
    if (asUser !== undefined && asUser !== '') userId = requireId(asUser, MetadataKey.userId);
  }
  if (!ALLOWED[key.role].includes(service)) {
    throw new ProgressDbError(Reason.roleForbidden, `a ${key.role} key may not call ${service}`, {
      role: key.role,
      service,
    });
  }
  const context: CallContext = {
    role: key.role,
    keyId: key.id,
    userId,
    confined: key.role === 'frontend',
  };
  if (expiresAt) context.expiresAt = expiresAt;
  return context;
}

/** The actor of the log a call acts as. */
export function actorOf(context: CallContext): { userId: string; confined: boolean } {
  return { userId: context.userId, confined: context.confined };
}

/**
 * A user named in a request (`user_id`, `author_id`): confined callers may only name themselves.
 * @returns the named user, or the caller's when none is named.
 * @throws ROLE_FORBIDDEN for a confined caller naming someone else; INVALID_FIELD
 */
export function namedUser(requested: string, field: string, context: CallContext): string {
  if (requested === '') return context.userId;
  requireId(requested, field);
  if (context.confined && requested !== context.userId) {
    throw new ProgressDbError(Reason.roleForbidden, `a frontend key may not set ${field}`, {
      field,
    });
  }
  return requested;
}

/** The user a call acts for. @throws INVALID_FIELD when the call needs a user and has none. */
export function requireUser(context: CallContext, field: string = MetadataKey.userId): string {
  if (!context.userId) throw invalidField(field, 'this call needs a user (set x-user-id)');
  return context.userId;
}
