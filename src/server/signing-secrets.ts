import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { z } from 'zod';
import { readPrivateFile, writePrivateFile } from './api-keys.js';
import { SIGNING_SECRET_FILE_NAME } from '../data-folder.js';

/** A user-token signing secret and the key id tokens carry to name it. */
export interface SigningSecret {
  /** 1–32 characters from `[A-Za-z0-9_-]`; public: every token carries it. */
  readonly kid: string;
  /** The HMAC-SHA256 key as text, used as its UTF-8 bytes; at least 32 characters. */
  readonly secret: string;
}

/** The public face of a secret: its key id, and whether it signs new tokens. */
export interface SigningSecretIdentity {
  readonly kid: string;
  readonly current: boolean;
}

/** Fewest characters a signing secret may have. */
export const MIN_SIGNING_SECRET_CHARS = 32;

const KID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

function importSecrets(
  secrets: readonly SigningSecret[],
): [ReadonlyMap<string, KeyObject>, string] {
  const first = secrets[0];
  if (first === undefined) throw new Error('at least one signing secret is required');
  const keys = new Map<string, KeyObject>();
  for (const { kid, secret } of secrets) {
    if (!KID_PATTERN.test(kid)) {
      throw new Error(`signing key id "${kid}" must be 1-32 characters from [A-Za-z0-9_-]`);
    }
    if (keys.has(kid)) throw new Error(`signing key id "${kid}" is given twice`);
    if (secret.length < MIN_SIGNING_SECRET_CHARS) {
      throw new Error(
        `signing secret "${kid}" must be at least ${MIN_SIGNING_SECRET_CHARS} characters`,
      );
    }
    keys.set(kid, createSecretKey(Buffer.from(secret, 'utf8')));
  }
  return [keys, first.kid];
}

/**
 * The active user-token signing secrets. The first one signs new tokens; every one verifies, so a
 * secret can rotate without logging anyone out early. Secrets stay inside: callers get MACs and key
 * ids, and JSON or `inspect` output shows key ids only.
 *
 * Rotation, with `PROGRESSDB_SIGNING_SECRETS` (or the generated `signing-secrets.json`, same order):
 * 1. Put a new `kid:secret` first and keep the old one after it (`new:…,old:…`); reload or restart.
 *    New tokens are signed with `new`; tokens signed with `old` keep verifying.
 * 2. Wait until every token signed with `old` has expired: at most `maxTokenTtlSeconds` (30 days by
 *    default), or the longest `ttl_seconds` your backend asks `SignUser` for.
 * 3. Remove `old`; reload or restart. Tokens still carrying `old` now fail with `INVALID_USER_TOKEN`.
 * To revoke a leaked secret, skip step 2: every token it signed stops working at once.
 * Data flow: configuration or key file ⇒ keyring ⇒ {@link UserTokenSigner} (user-tokens.ts).
 */
export class SigningKeyring {
  #keys: ReadonlyMap<string, KeyObject>;
  #currentKid: string;

  /** @throws Error when the list is empty, a key id is malformed or repeated, or a secret is too short. */
  constructor(secrets: readonly SigningSecret[]) {
    [this.#keys, this.#currentKid] = importSecrets(secrets);
  }

  /** Key id of the secret that signs new tokens. */
  get currentKid(): string {
    return this.#currentKid;
  }

  /**
   * Swaps in new secrets at once, e.g. on SIGHUP after a rotation step (pass the keyring a fresh
   * `resolveSigningSecrets` built); the next sign or verify uses them.
   * @throws Error like the constructor; the old secrets then stay in force.
   */
  replace(secrets: readonly SigningSecret[] | SigningKeyring): void {
    [this.#keys, this.#currentKid] =
      secrets instanceof SigningKeyring
        ? [secrets.#keys, secrets.#currentKid]
        : importSecrets(secrets);
  }

  /** HMAC-SHA256 of `data` under the secret `kid`, or undefined when no active secret has that id. */
  mac(kid: string, data: string): Buffer | undefined {
    const key = this.#keys.get(kid);
    return key === undefined ? undefined : createHmac('sha256', key).update(data, 'utf8').digest();
  }

  /** Every active secret's key id, current first; for startup logs and `GetStats`. */
  list(): SigningSecretIdentity[] {
    return [...this.#keys.keys()].map((kid) => ({ kid, current: kid === this.#currentKid }));
  }

  /** Serialises as the key ids only. */
  toJSON(): { secrets: SigningSecretIdentity[] } {
    return { secrets: this.list() };
  }

  /** Inspects as the key ids only. */
  [inspect.custom](): string {
    return `SigningKeyring ${inspect(this.list())}`;
  }
}

const secretFileSchema = z.object({
  secrets: z
    .array(
      z.object({
        kid: z.string().regex(KID_PATTERN),
        secret: z.string().min(MIN_SIGNING_SECRET_CHARS),
      }),
    )
    .min(1),
});

/** Where the signing secrets came from, for `main.ts` to tell the operator. */
export interface ResolvedSigningSecrets {
  readonly keyring: SigningKeyring;
  /** The secret file in use; absent when the secrets came from configuration. */
  readonly file?: string;
  /** Set on the first start only: the key id of the secret just written to `file`. */
  readonly generated?: { readonly file: string; readonly kid: string };
  /** Set when the secret file was readable by group or others: its old permission bits, now 0600. */
  readonly tightenedModeFrom?: number;
}

/**
 * Builds the signing keyring: configured secrets win; with none configured, the secret file in the
 * data folder is used, and on the first start it is created with one fresh secret (32 random bytes,
 * base64url; key id `s1-<8 hex>`; mode 0600). See {@link SigningKeyring} for rotation.
 * @throws Error when the secret file cannot be read or is malformed (never quoting a secret).
 */
export async function resolveSigningSecrets(opts: {
  dataDir: string;
  signingSecrets: readonly SigningSecret[];
}): Promise<ResolvedSigningSecrets> {
  if (opts.signingSecrets.length > 0) return { keyring: new SigningKeyring(opts.signingSecrets) };
  const file = join(opts.dataDir, SIGNING_SECRET_FILE_NAME);
  const existing = await readPrivateFile(file);
  if (existing === undefined) {
    const secret: SigningSecret = {
      kid: `s1-${randomBytes(4).toString('hex')}`,
      secret: randomBytes(32).toString('base64url'),
    };
    const text = `${JSON.stringify({ secrets: [secret] }, null, 2)}\n`;
    await writePrivateFile(opts.dataDir, file, text);
    return { keyring: new SigningKeyring([secret]), file, generated: { file, kid: secret.kid } };
  }
  return {
    keyring: new SigningKeyring(parseSecretFile(file, existing.text)),
    file,
    ...(existing.tightenedModeFrom === undefined
      ? {}
      : { tightenedModeFrom: existing.tightenedModeFrom }),
  };
}

function parseSecretFile(file: string, text: string): SigningSecret[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`signing secret file ${file} is not valid JSON`);
  }
  const parsed = secretFileSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new Error(
      `signing secret file ${file} is malformed at ${where}: it needs {"secrets": [{"kid", "secret"}]} with key ids of 1-32 characters from [A-Za-z0-9_-] and secrets of at least ${MIN_SIGNING_SECRET_CHARS} characters`,
    );
  }
  const kids = parsed.data.secrets.map((entry) => entry.kid);
  const twice = kids.find((kid, index) => kids.indexOf(kid) !== index);
  if (twice !== undefined) {
    throw new Error(`signing secret file ${file} gives key id "${twice}" twice`);
  }
  return parsed.data.secrets;
}
