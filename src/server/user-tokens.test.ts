import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mock, test } from 'node:test';
import { ProgressDbError, Reason, type ReasonCode } from '../log/index.js';
import { SigningKeyring, type SigningSecret } from './signing-secrets.js';
import { MAX_USER_TOKEN_CHARS, UserTokenSigner } from './user-tokens.js';

const current: SigningSecret = { kid: 'k2', secret: 'current-secret-0123456789abcdefghijkl' };
const previous: SigningSecret = { kid: 'k1', secret: 'previous-secret-0123456789abcdefghijk' };
const now = Date.UTC(2030, 0, 1, 12, 0, 0);

function signer(...secrets: SigningSecret[]): UserTokenSigner {
  return new UserTokenSigner(new SigningKeyring(secrets.length > 0 ? secrets : [current]));
}

/** Asserts that `fn` throws a catalogue error with `reason`, and that no secret is in its message. */
function throwsReason(fn: () => unknown, reason: ReasonCode, label?: string): void {
  assert.throws(
    fn,
    (err: unknown) =>
      err instanceof ProgressDbError &&
      err.reason === reason &&
      !err.message.includes(current.secret) &&
      !err.message.includes(previous.secret),
    label,
  );
}

/** The token's four dot-separated parts. */
function parts(token: string): [string, string, string, string] {
  const [version = '', kid = '', payload = '', mac = ''] = token.split('.');
  return [version, kid, payload, mac];
}

function encode(json: unknown): string {
  return Buffer.from(JSON.stringify(json), 'utf8').toString('base64url');
}

/** A token over any payload text, correctly MACed with `secret`: what a holder of the secret could make. */
function forge(secret: SigningSecret, payload: string): string {
  const signed = `v1.${secret.kid}.${payload}`;
  const mac = crypto.createHmac('sha256', secret.secret).update(signed).digest('base64url');
  return `${signed}.${mac}`;
}

void test('sign then verify returns the user, the expiry and the kid', () => {
  const tokens = signer(current, previous);
  const { token, expiresAt } = tokens.sign('alice@example.com', 600, now);
  assert.equal(expiresAt.getTime(), now + 600_000);
  assert.match(token, /^v1\.k2\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  assert.ok(token.length < 400);
  assert.deepEqual(tokens.verify(token, now), {
    userId: 'alice@example.com',
    expiresAt,
    kid: 'k2',
  });
  const [, , payload] = parts(token);
  assert.deepEqual(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), {
    sub: 'alice@example.com',
    exp: (now + 600_000) / 1000,
  });
});

void test('matches the documented format byte for byte (known answer)', () => {
  const { token } = signer(current).sign('u1', 60, Date.UTC(2030, 0, 1));
  assert.equal(token, forge(current, encode({ sub: 'u1', exp: Date.UTC(2030, 0, 1) / 1000 + 60 })));
});

void test('a token stops verifying at its expiry with USER_TOKEN_EXPIRED', () => {
  const tokens = signer();
  const { token, expiresAt } = tokens.sign('alice', 60, now);
  assert.equal(tokens.verify(token, expiresAt.getTime() - 1).userId, 'alice');
  throwsReason(() => tokens.verify(token, expiresAt.getTime()), Reason.userTokenExpired);
  throwsReason(
    () => tokens.verify(token, expiresAt.getTime() + 86_400_000),
    Reason.userTokenExpired,
  );
  // An expired token with a bad MAC is a forgery first: expiry is only read once the MAC holds.
  const [version, kid, payload] = parts(token);
  const badMac = crypto.randomBytes(32).toString('base64url');
  throwsReason(
    () => tokens.verify(`${version}.${kid}.${payload}.${badMac}`, expiresAt.getTime() + 1),
    Reason.invalidUserToken,
  );
});

void test('a forged MAC, a tampered payload or another server secret is INVALID_USER_TOKEN', () => {
  const tokens = signer();
  const { token } = tokens.sign('alice', 60, now);
  const [version, kid, payload, mac] = parts(token);
  const flipped = `${mac.slice(0, 10)}${mac[10] === 'A' ? 'B' : 'A'}${mac.slice(11)}`;
  throwsReason(
    () => tokens.verify(`${version}.${kid}.${payload}.${flipped}`, now),
    Reason.invalidUserToken,
  );
  const asMallory = encode({ sub: 'mallory', exp: now / 1000 + 60 });
  throwsReason(
    () => tokens.verify(`${version}.${kid}.${asMallory}.${mac}`, now),
    Reason.invalidUserToken,
  );
  const later = encode({ sub: 'alice', exp: now / 1000 + 10 ** 6 });
  throwsReason(
    () => tokens.verify(`${version}.${kid}.${later}.${mac}`, now),
    Reason.invalidUserToken,
  );
  const otherServer = { kid: 'k2', secret: 'another-server-secret-0123456789abcdef' };
  throwsReason(() => tokens.verify(forge(otherServer, payload), now), Reason.invalidUserToken);
  throwsReason(() => tokens.verify(token.replace(/^v1\./, 'v2.'), now), Reason.invalidUserToken);
});

void test('a MAC spelled with different unused bits is refused: one token, one spelling', () => {
  const tokens = signer();
  const { token } = tokens.sign('alice', 60, now);
  const last = token.at(-1) ?? '';
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const sibling = alphabet[alphabet.indexOf(last) ^ 1] ?? '';
  const respelled = `${token.slice(0, -1)}${sibling}`;
  assert.deepEqual(
    Buffer.from(parts(respelled)[3], 'base64url'),
    Buffer.from(parts(token)[3], 'base64url'),
  );
  throwsReason(() => tokens.verify(respelled, now), Reason.invalidUserToken);
});

void test('an unknown kid is INVALID_USER_TOKEN', () => {
  const { token } = signer(previous).sign('alice', 60, now);
  throwsReason(() => signer(current).verify(token, now), Reason.invalidUserToken);
});

void test('rotation: old-secret tokens verify while the secret is listed, and fail once it is removed', () => {
  const before = signer(previous);
  const old = before.sign('alice', 3600, now).token;

  const rotating = signer(current, previous);
  assert.equal(rotating.verify(old, now).kid, 'k1');
  const fresh = rotating.sign('alice', 3600, now);
  assert.equal(parts(fresh.token)[1], 'k2', 'the first secret signs new tokens');

  const retired = signer(current);
  assert.equal(retired.verify(fresh.token, now).kid, 'k2');
  throwsReason(() => retired.verify(old, now), Reason.invalidUserToken);

  const keyring = new SigningKeyring([current, previous]);
  const live = new UserTokenSigner(keyring);
  assert.equal(live.verify(old, now).userId, 'alice');
  keyring.replace([current]);
  throwsReason(() => live.verify(old, now), Reason.invalidUserToken);
});

void test('malformed tokens are INVALID_USER_TOKEN', () => {
  const tokens = signer();
  const { token } = tokens.sign('alice', 60, now);
  const [version, kid, payload, mac] = parts(token);
  const cases = {
    empty: '',
    'too long': `${token}${'A'.repeat(MAX_USER_TOKEN_CHARS)}`,
    'three parts': `${version}.${kid}.${payload}`,
    'five parts': `${token}.x`,
    'empty kid': `${version}..${payload}.${mac}`,
    'bad kid': `${version}.k+2.${payload}.${mac}`,
    'empty payload': `${version}.${kid}..${mac}`,
    'payload not base64url': `${version}.${kid}.${payload}=.${mac}`,
    'payload base64 not url': `${version}.${kid}.${payload}+/.${mac}`,
    'short mac': `${version}.${kid}.${payload}.${mac.slice(1)}`,
    'mac not base64url': `${version}.${kid}.${payload}.${mac.slice(1)}!`,
    spaces: ` ${token}`,
  };
  for (const [label, text] of Object.entries(cases)) {
    throwsReason(() => tokens.verify(text, now), Reason.invalidUserToken, label);
  }
});

void test('a correctly signed but malformed payload is still INVALID_USER_TOKEN', () => {
  const tokens = signer();
  const exp = now / 1000 + 60;
  const payloads = {
    'not JSON': Buffer.from('{sub', 'utf8').toString('base64url'),
    'JSON null': encode(null),
    'no sub': encode({ exp }),
    'bad sub': encode({ sub: '-alice', exp }),
    'long sub': encode({ sub: 'a'.repeat(129), exp }),
    'no exp': encode({ sub: 'alice' }),
    'text exp': encode({ sub: 'alice', exp: String(exp) }),
    'fraction exp': encode({ sub: 'alice', exp: exp + 0.5 }),
  };
  for (const [label, payload] of Object.entries(payloads)) {
    throwsReason(() => tokens.verify(forge(current, payload), now), Reason.invalidUserToken, label);
  }
});

void test('verify compares MACs with crypto.timingSafeEqual', () => {
  const tokens = signer();
  const { token } = tokens.sign('alice', 60, now);
  const [version, kid, payload] = parts(token);
  const compare = mock.method(crypto, 'timingSafeEqual');
  try {
    tokens.verify(token, now);
    assert.equal(compare.mock.callCount(), 1);
    const forged = `${version}.${kid}.${payload}.${crypto.randomBytes(32).toString('base64url')}`;
    throwsReason(() => tokens.verify(forged, now), Reason.invalidUserToken);
    assert.equal(compare.mock.callCount(), 2);
    assert.equal(compare.mock.calls[1]?.result, false);
  } finally {
    compare.mock.restore();
  }
});

void test('sign validates the user id and the TTL against the maximum', () => {
  const tokens = new UserTokenSigner(new SigningKeyring([current]), { maxTtlSeconds: 7200 });
  for (const userId of ['', '-alice', 'a b', 'a'.repeat(129), 'ümlaut']) {
    assert.throws(
      () => tokens.sign(userId, 60, now),
      (err: unknown) =>
        err instanceof ProgressDbError &&
        err.reason === Reason.invalidField &&
        err.metadata.field === 'user_id',
      userId,
    );
  }
  assert.equal(tokens.verify(tokens.sign('a'.repeat(128), 60, now).token, now).userId.length, 128);
  for (const ttl of [0, -1, 1.5, 7201, Number.NaN]) {
    assert.throws(
      () => tokens.sign('alice', ttl, now),
      (err: unknown) =>
        err instanceof ProgressDbError &&
        err.reason === Reason.invalidField &&
        err.metadata.field === 'ttl_seconds',
      String(ttl),
    );
  }
  assert.equal(tokens.sign('alice', 7200, now).expiresAt.getTime(), now + 7_200_000);
  assert.equal(tokens.defaultTtlSeconds, 3600);
  assert.equal(
    new UserTokenSigner(new SigningKeyring([current]), { maxTtlSeconds: 60 }).defaultTtlSeconds,
    60,
  );
});
