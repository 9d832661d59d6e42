import crypto from 'node:crypto';
import { invalidField, ProgressDbError, Reason } from '../log/index.js';
import type { SigningKeyring } from './signing-secrets.js';

/** The token format this module writes and reads: `v1.<kid>.<payload>.<mac>`. */
export const USER_TOKEN_VERSION = 'v1';

/** Longest token `verify` looks at, in characters; a real v1 token is under 400. */
export const MAX_USER_TOKEN_CHARS = 1024;

/** The TTL `SignUser` grants when the request gives none, in seconds (capped by the maximum). */
export const DEFAULT_USER_TOKEN_TTL_SECONDS = 3600;

/** A freshly signed token, for `SignUserResponse`. */
export interface SignedUserToken {
  /** The token, to send as `x-user-token` with a frontend key. */
  readonly token: string;
  /** When the token stops verifying (whole seconds). */
  readonly expiresAt: Date;
}

/** What a valid token proves: who the caller is, until when, and which secret vouched for it. */
export interface VerifiedUserToken {
  readonly userId: string;
  readonly expiresAt: Date;
  /** Key id of the secret that signed it; safe to log. */
  readonly kid: string;
}

/** Options of {@link UserTokenSigner}. */
export interface UserTokenSignerOptions {
  /** Longest TTL `sign` grants, in seconds. Default 2592000 (30 days). */
  readonly maxTtlSeconds?: number;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._~:@-]{0,127}$/;
const KID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Base64url length of a 32-byte HMAC-SHA256 without padding. */
const MAC_CHARS = 43;

function invalidToken(message: string): ProgressDbError {
  return new ProgressDbError(Reason.invalidUserToken, message);
}

/**
 * Signs and verifies the user tokens of frontend calls: a user id and an expiry, HMAC-SHA256-signed
 * under the keyring's current secret, named by key id so older secrets keep verifying while they
 * rotate. Format: `v1.<kid>.<base64url(JSON {sub, exp})>.<base64url(HMAC(secret, "v1.<kid>.<payload>"))>`
 * with `exp` in Unix seconds. Data flow: `SignUser` ⇒ sign ⇒ frontend ⇒ `x-user-token` ⇒ verify ⇒ user.
 */
export class UserTokenSigner {
  readonly #keyring: SigningKeyring;
  /** Longest TTL `sign` grants, in seconds. */
  readonly maxTtlSeconds: number;

  /** @throws Error when `maxTtlSeconds` is not a positive integer. */
  constructor(keyring: SigningKeyring, options: UserTokenSignerOptions = {}) {
    const maxTtlSeconds = options.maxTtlSeconds ?? 30 * 24 * 3600;
    if (!Number.isSafeInteger(maxTtlSeconds) || maxTtlSeconds < 1) {
      throw new Error('maxTtlSeconds must be a positive integer');
    }
    this.#keyring = keyring;
    this.maxTtlSeconds = maxTtlSeconds;
  }

  /** The TTL to use when a request gives none: one hour, or the maximum if that is shorter. */
  get defaultTtlSeconds(): number {
    return Math.min(DEFAULT_USER_TOKEN_TTL_SECONDS, this.maxTtlSeconds);
  }

  /**
   * Signs a token for `userId` valid for `ttlSeconds` from `nowMs`, under the current secret.
   * @throws INVALID_FIELD `user_id` when it breaks the id rule; `ttl_seconds` when it is not an
   *   integer from 1 to {@link maxTtlSeconds}.
   */
  sign(userId: string, ttlSeconds: number, nowMs: number = Date.now()): SignedUserToken {
    if (!ID_PATTERN.test(userId)) {
      throw invalidField(
        'user_id',
        userId === ''
          ? 'is required'
          : 'must be 1-128 characters from [A-Za-z0-9._~:@-], starting with a letter or digit',
      );
    }
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > this.maxTtlSeconds) {
      throw invalidField('ttl_seconds', `must be an integer from 1 to ${this.maxTtlSeconds}`);
    }
    const exp = Math.floor(nowMs / 1000) + ttlSeconds;
    const kid = this.#keyring.currentKid;
    const payload = Buffer.from(JSON.stringify({ sub: userId, exp }), 'utf8').toString('base64url');
    const signed = `${USER_TOKEN_VERSION}.${kid}.${payload}`;
    const mac = this.#keyring.mac(kid, signed);
    // The keyring always holds its current secret; a miss is a broken invariant.
    if (mac === undefined) throw new Error(`the current signing secret ${kid} is missing`);
    return { token: `${signed}.${mac.toString('base64url')}`, expiresAt: new Date(exp * 1000) };
  }

  /**
   * Checks a token's format, MAC (in constant time) and expiry at `nowMs`.
   * @throws INVALID_USER_TOKEN when it is malformed, forged, or signed with an unknown or retired
   *   secret; USER_TOKEN_EXPIRED when it was valid but its expiry has passed.
   */
  verify(token: string, nowMs: number = Date.now()): VerifiedUserToken {
    if (token.length === 0 || token.length > MAX_USER_TOKEN_CHARS) {
      throw invalidToken('the user token is empty or too long');
    }
    const parts = token.split('.');
    const [version, kid = '', payload = '', macText = ''] = parts;
    if (
      parts.length !== 4 ||
      version !== USER_TOKEN_VERSION ||
      !KID_PATTERN.test(kid) ||
      !BASE64URL.test(payload) ||
      macText.length !== MAC_CHARS ||
      !BASE64URL.test(macText)
    ) {
      throw invalidToken('the user token is malformed');
    }
    const expected = this.#keyring.mac(kid, `${version}.${kid}.${payload}`);
    if (expected === undefined) {
      throw invalidToken('the user token was signed with an unknown or retired secret');
    }
    const presented = Buffer.from(macText, 'base64url');
    // Unused low bits of the last character would let one MAC be spelled several ways; allow one.
    const canonical = presented.toString('base64url') === macText;
    // Called through the module object so a test can observe that the constant-time compare ran.
    if (
      !canonical ||
      presented.length !== expected.length ||
      !crypto.timingSafeEqual(presented, expected)
    ) {
      throw invalidToken('the user token signature does not match');
    }
    const claims = decodeClaims(payload);
    if (claims === undefined) throw invalidToken('the user token payload is malformed');
    const expiresAt = new Date(claims.exp * 1000);
    if (nowMs >= claims.exp * 1000) {
      throw new ProgressDbError(Reason.userTokenExpired, 'the user token has expired', {
        expires_at: expiresAt.toISOString(),
      });
    }
    return { userId: claims.sub, expiresAt, kid };
  }
}

/** The claims of a payload whose MAC already verified; undefined when they do not hold a user and an expiry. */
function decodeClaims(payload: string): { sub: string; exp: number } | undefined {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const { sub, exp } = json as Record<string, unknown>;
  if (typeof sub !== 'string' || !ID_PATTERN.test(sub)) return undefined;
  if (typeof exp !== 'number' || !Number.isSafeInteger(exp) || exp <= 0) return undefined;
  return { sub, exp };
}
