import type { Metadata } from '@grpc/grpc-js';
import { invalidField, ProgressDbError, Reason } from '../log/index.js';
import type { ApiKeyRegistry, Role } from './api-keys.js';
import { requireId } from './request-validation.js';

/** The services of the API, as the role matrix names them. */
export type ServiceName =
  'ThreadService' | 'MessageService' | 'TailService' | 'AuthService' | 'AdminService';

/** Who is calling: the key's role and public id, and the user the call acts for ('' for none). */
export interface CallContext {
  role: Role;
  keyId: string;
  userId: string;
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

/**
 * Authenticates a call from its metadata and checks that the key's role may call the service.
 * @throws MISSING_CREDENTIALS, INVALID_API_KEY (UNAUTHENTICATED); ROLE_FORBIDDEN; INVALID_FIELD x-user-id
 */
export function authenticate(
  metadata: Metadata,
  registry: ApiKeyRegistry,
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
  const key = match?.[1] ? registry.lookup(match[1]) : undefined;
  if (!key) throw new ProgressDbError(Reason.invalidApiKey, 'the API key is not valid');
  if (!ALLOWED[key.role].includes(service)) {
    throw new ProgressDbError(Reason.roleForbidden, `a ${key.role} key may not call ${service}`, {
      role: key.role,
      service,
    });
  }
  let userId = '';
  if (key.role === 'backend') {
    const asUser = single(metadata, MetadataKey.userId);
    if (asUser !== undefined && asUser !== '') userId = requireId(asUser, MetadataKey.userId);
  } else if (key.role === 'frontend') {
    throw new ProgressDbError(Reason.invalidUserToken, 'frontend keys need a valid x-user-token');
  }
  return { role: key.role, keyId: key.id, userId };
}

/** The user a call acts for. @throws INVALID_FIELD when the call needs a user and has none. */
export function requireUser(context: CallContext, field: string = MetadataKey.userId): string {
  if (!context.userId) throw invalidField(field, 'this call needs a user (set x-user-id)');
  return context.userId;
}
