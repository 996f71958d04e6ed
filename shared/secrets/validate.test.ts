import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { signApiKey } from './api-keys.ts';
import { JWT_SECRET_KEYS, REQUIRED_JWT_SECRET_KEYS } from './names.ts';
import { Sensitive } from './sensitive.ts';
import { describeKeyProblems, inspectJwtSecretData } from './validate.ts';

const now = new Date('2026-06-01T12:00:00Z');
const policy = { minValiditySeconds: 30 * 86_400 } as const;
const jwtSecret = 'j'.repeat(40);

/** A complete, usable Secret `<project>-jwt`, as plain strings. */
async function goodData(): Promise<Record<string, string>> {
  const secret = new Sensitive(jwtSecret);
  return {
    'jwt-secret': jwtSecret,
    'anon-key': (await signApiKey(secret, 'anon', now)).reveal(),
    'service-role-key': (await signApiKey(secret, 'service_role', now)).reveal(),
    'pg-meta-crypto-key': 'c'.repeat(32),
    'realtime-secret-key-base': 'b'.repeat(64),
    'realtime-db-enc-key': 'e'.repeat(16),
  };
}

async function inspect(
  data: Record<string, string>,
  options: { now?: Date; minValiditySeconds?: number } = {},
): Promise<Record<string, string>> {
  const problems = await inspectJwtSecretData(
    new Map(Object.entries(data).map(([key, value]) => [key, new Sensitive(value)])),
    options.now ?? now,
    { minValiditySeconds: options.minValiditySeconds ?? policy.minValiditySeconds },
  );
  return Object.fromEntries(problems);
}

describe('inspectJwtSecretData', () => {
  test('a complete Secret has no problems', async () => {
    assert.deepEqual(await inspect(await goodData()), {});
  });

  test('the keys it checks are the six of the Secret, by their names', () => {
    assert.deepEqual(REQUIRED_JWT_SECRET_KEYS, [
      'jwt-secret',
      'anon-key',
      'service-role-key',
      'pg-meta-crypto-key',
      'realtime-secret-key-base',
      'realtime-db-enc-key',
    ]);
  });

  for (const key of REQUIRED_JWT_SECRET_KEYS) {
    test(`${key}: missing, empty or blank is reported as such`, async () => {
      const data = await goodData();
      const without = Object.fromEntries(Object.entries(data).filter(([name]) => name !== key));
      assert.deepEqual(await inspect(without), { [key]: 'is missing' });
      assert.deepEqual(await inspect({ ...data, [key]: '' }), { [key]: 'is empty' });
      assert.deepEqual(await inspect({ ...data, [key]: ' \n\t ' }), { [key]: 'is empty' });
    });
  }

  test('an empty Secret: every key missing, in the fixed order', async () => {
    const problems = await inspectJwtSecretData(new Map(), now, policy);
    assert.deepEqual(
      [...problems],
      REQUIRED_JWT_SECRET_KEYS.map((key) => [key, 'is missing']),
    );
  });

  test('a jwt-secret too short is reported, and the API keys are not checked against it', async () => {
    const data = await goodData();
    const problems = await inspect({ ...data, 'jwt-secret': 'short', 'anon-key': 'not a jwt' });
    assert.deepEqual(Object.keys(problems), ['jwt-secret']);
    assert.match(problems['jwt-secret']!, /^is 5 characters long; at least 32 are required/);
  });

  test('a blank jwt-secret is empty, and the API keys are not checked against it', async () => {
    const data = await goodData();
    assert.deepEqual(await inspect({ ...data, 'jwt-secret': '   ', 'anon-key': 'not a jwt' }), {
      'jwt-secret': 'is empty',
    });
  });

  test('API keys signed with another secret are reported, each with its own problem', async () => {
    const data = await goodData();
    const other = new Sensitive('o'.repeat(40));
    const problems = await inspect({
      ...data,
      'anon-key': (await signApiKey(other, 'anon', now)).reveal(),
      'service-role-key': (await signApiKey(new Sensitive(jwtSecret), 'anon', now)).reveal(),
    });
    assert.deepEqual(problems, {
      'anon-key': 'does not verify with jwt-secret (wrong signature)',
      'service-role-key': 'carries role "anon"; it must carry role "service_role"',
    });
  });

  test('each API key must carry its own role', async () => {
    const data = await goodData();
    const secret = new Sensitive(jwtSecret);
    assert.deepEqual(
      await inspect({
        ...data,
        'anon-key': (await signApiKey(secret, 'service_role', now)).reveal(),
      }),
      { 'anon-key': 'carries role "service_role"; it must carry role "anon"' },
    );
  });

  test('a blank API key is empty, not a malformed JWT', async () => {
    const data = await goodData();
    assert.deepEqual(await inspect({ ...data, 'service-role-key': ' ' }), {
      'service-role-key': 'is empty',
    });
  });

  test('the time and the validity policy are those given', async () => {
    const data = await goodData();
    // The keys are valid for ten years from `now`.
    const nineYearsOn = new Date(now.getTime() + 9 * 365 * 86_400_000);
    assert.deepEqual(await inspect(data, { now: nineYearsOn }), {});
    const problems = await inspect(data, {
      now: nineYearsOn,
      minValiditySeconds: 2 * 365 * 86_400,
    });
    assert.deepEqual(Object.keys(problems), ['anon-key', 'service-role-key']);
    const elevenYearsOn = new Date(now.getTime() + 11 * 365 * 86_400_000);
    const expired = await inspect(data, { now: elevenYearsOn });
    assert.match(expired['anon-key']!, /^expired on /);
    assert.match(expired['service-role-key']!, /^expired on /);
  });

  const lengths = [
    ['realtime-secret-key-base', 'b'.repeat(63), /^is 63 characters long; .*at least 64$/],
    ['realtime-secret-key-base', 'b'.repeat(64), undefined],
    ['realtime-secret-key-base', 'b'.repeat(200), undefined],
    // Phoenix counts bytes: 32 two-byte characters are 64 bytes.
    ['realtime-secret-key-base', 'é'.repeat(32), undefined],
    ['realtime-secret-key-base', 'é'.repeat(31), /^is 62 characters long/],
    ['realtime-db-enc-key', 'e'.repeat(15), /^is 15 characters long; .*needs exactly 16$/],
    ['realtime-db-enc-key', 'e'.repeat(16), undefined],
    ['realtime-db-enc-key', 'e'.repeat(17), /^is 17 characters long; .*needs exactly 16$/],
    ['realtime-db-enc-key', 'é'.repeat(8), undefined],
  ] as const;
  for (const [key, value, expected] of lengths) {
    test(`${key} of ${Buffer.byteLength(value)} bytes: ${expected ? 'refused' : 'accepted'}`, async () => {
      const problems = await inspect({ ...(await goodData()), [key]: value });
      if (expected) {
        assert.deepEqual(Object.keys(problems), [key]);
        assert.match(problems[key]!, expected);
      } else {
        assert.deepEqual(problems, {});
      }
    });
  }

  test('problems come in the fixed key order, whatever the order of the checks', async () => {
    const problems = await inspectJwtSecretData(
      new Map([
        [JWT_SECRET_KEYS.realtimeDbEncKey, new Sensitive('x')],
        [JWT_SECRET_KEYS.jwtSecret, new Sensitive('short')],
        [JWT_SECRET_KEYS.realtimeSecretKeyBase, new Sensitive('y')],
      ]),
      now,
      policy,
    );
    assert.deepEqual(
      [...problems.keys()],
      [
        'jwt-secret',
        'anon-key',
        'service-role-key',
        'pg-meta-crypto-key',
        'realtime-secret-key-base',
        'realtime-db-enc-key',
      ],
    );
    assert.equal(problems.get('anon-key'), 'is missing');
  });

  test('no problem phrase contains a value', async () => {
    const data = {
      'jwt-secret': 'tooshortsecret',
      'anon-key': 'x.y.z',
      'service-role-key': 'abc',
      'pg-meta-crypto-key': '  ',
      'realtime-secret-key-base': 'kb-secret',
      'realtime-db-enc-key': 'enc-secret',
    };
    const sentence = describeKeyProblems(
      new Map(Object.entries(await inspect(data)).map(([k, v]) => [k, v])),
    );
    for (const value of Object.values(data).filter((v) => v.trim() !== '')) {
      assert.ok(!sentence.includes(value), `the message does not contain ${value}`);
    }
  });
});

describe('describeKeyProblems', () => {
  test('one sentence, each problem as `<key> <phrase>`, joined by semicolons', () => {
    assert.equal(
      describeKeyProblems(
        new Map([
          ['jwt-secret', 'is missing'],
          ['realtime-db-enc-key', 'is empty'],
        ]),
      ),
      'jwt-secret is missing; realtime-db-enc-key is empty',
    );
    assert.equal(describeKeyProblems(new Map()), '');
  });
});
