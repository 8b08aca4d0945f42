import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Column, DataSource, Entity, PrimaryColumn, type ValueTransformer } from 'typeorm';
import { AccessToken } from 'nestjs-access-tokens';
import { hashToken, tokenHint, TokenQueries, type FoundRow } from '#internal';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { QueryCounter } from './fixtures/query-counter.js';
import { signedUnknownToken } from './fixtures/secrets.js';

const upperCase: ValueTransformer = {
  to: (value: string) => value.toUpperCase(),
  from: (value: string) => value.toLowerCase(),
};

class Address {
  @Column({ type: 'varchar', length: 40 })
  city!: string;
}

/** A user entity with what hydration must get right: JSON, booleans, a transformer, an embedded. */
@Entity({ name: 'accounts' })
class Account {
  @PrimaryColumn({ name: 'account_id', type: 'varchar', length: 40 })
  id!: string;

  @Column({ type: 'boolean', default: false })
  blocked!: boolean;

  @Column({ type: 'simple-json' })
  roles!: string[];

  @Column({ type: 'varchar', length: 40, transformer: upperCase })
  nickname!: string;

  @Column(() => Address)
  address!: Address;
}

describe(`TokenQueries on ${testDatabaseKind()}`, () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let queries: TokenQueries;
  const counter = new QueryCounter();

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = new DataSource({
      ...database.options,
      entities: [AccessToken, Account],
      synchronize: true,
      logging: ['query'],
      logger: counter,
    });
    await dataSource.initialize();
    queries = new TokenQueries(dataSource, { entity: Account, condition: 'user.id = token.userId' });
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  async function tokenOf(
    account: Account,
    idleTimeout: number | null = null,
  ): Promise<{ hash: string; token: AccessToken }> {
    const raw = signedUnknownToken('nat');
    const token = await dataSource.getRepository(AccessToken).save({
      id: randomUUID(),
      userId: account.id,
      kind: 'personal',
      familyId: null,
      name: 'CI',
      tokenHash: hashToken(raw),
      hint: tokenHint(raw),
      scopes: ['users:read', 'tokens:*'],
      createdAt: new Date(1_700_000_000_123),
      expiresAt: new Date(1_800_000_000_456),
      lifetime: 86_400,
      idleTimeout,
      idleExpiresAt: idleTimeout === null ? null : new Date(1_700_000_100_000),
      expiringNotifiedAt: null,
      lastUsedAt: null,
      revokedAt: null,
      revokedReason: null,
      fingerprint: 'v1.abc',
    });
    return { hash: token.tokenHash, token };
  }

  async function account(): Promise<Account> {
    return dataSource
      .getRepository(Account)
      .save({ id: randomUUID(), blocked: true, roles: ['admin'], nickname: 'ada', address: { city: 'Turin' } });
  }

  it('reads the token and its user as TypeORM loads them', async () => {
    const owner = await account();
    const { hash, token } = await tokenOf(owner);
    const found = await queries.findByHash(hash);
    const { user, ...rest } = found!;
    expect(rest).toEqual(await dataSource.getRepository(AccessToken).findOneBy({ id: token.id }));
    expect(found).toBeInstanceOf(AccessToken);
    expect(rest.createdAt).toEqual(new Date(1_700_000_000_123));
    expect(user).toBeInstanceOf(Account);
    expect(user).toEqual(await dataSource.getRepository(Account).findOneBy({ id: owner.id }));
    expect(user).toMatchObject({ blocked: true, roles: ['admin'], nickname: 'ada', address: { city: 'Turin' } });
  });

  it('finds nothing for an unknown hash, and no user once the user row is gone', async () => {
    expect(await queries.findByHash(hashToken(signedUnknownToken('nat')))).toBeNull();
    const owner = await account();
    const { hash } = await tokenOf(owner);
    await dataSource.getRepository(Account).delete({ id: owner.id });
    expect((await queries.findByHash(hash))?.user).toBeNull();
  });

  it('records uses in one statement, and pushes the idle expiry on only where asked', async () => {
    const owner = await account();
    const plain = await tokenOf(owner);
    const idle = await tokenOf(owner, 600);
    const untouched = await tokenOf(owner, 600);
    const at = new Date(1_700_000_050_789);
    const later = new Date(1_700_000_060_001);
    await queries.recordUses([
      { id: plain.token.id, at, idleExpiresAt: null },
      { id: idle.token.id, at: later, idleExpiresAt: new Date(later.getTime() + 600_000) },
    ]);
    const read = (id: string) => dataSource.getRepository(AccessToken).findOneByOrFail({ id });
    expect(await read(plain.token.id)).toMatchObject({ lastUsedAt: at, idleExpiresAt: null });
    expect(await read(idle.token.id)).toMatchObject({
      lastUsedAt: later,
      idleExpiresAt: new Date(later.getTime() + 600_000),
    });
    expect(await read(untouched.token.id)).toMatchObject({
      lastUsedAt: null,
      idleExpiresAt: new Date(1_700_000_100_000),
    });
  });

  it('records uses one UPDATE each on a database whose batched statement it does not write', async () => {
    // The same database, under the name of a driver without a dialect of its own here (TypeORM's
    // options.type): what an app on SQL Server or Oracle would run.
    const foreign = new Proxy(dataSource, {
      get: (target, key) =>
        key === 'options' ? { ...target.options, type: 'mssql' } : Reflect.get(target, key, target),
    });
    const elsewhere = new TokenQueries(foreign, { entity: Account, condition: 'user.id = token.userId' });
    const owner = await account();
    const plain = await tokenOf(owner);
    const idle = await tokenOf(owner, 600);
    const at = new Date(1_700_000_055_000);
    const ran = await counter.during(() =>
      elsewhere.recordUses([
        { id: plain.token.id, at, idleExpiresAt: null },
        { id: idle.token.id, at, idleExpiresAt: new Date(at.getTime() + 600_000) },
      ]),
    );
    expect(ran.filter((sql) => sql.startsWith('UPDATE'))).toHaveLength(2);
    const read = (id: string) => dataSource.getRepository(AccessToken).findOneByOrFail({ id });
    expect(await read(plain.token.id)).toMatchObject({ lastUsedAt: at, idleExpiresAt: null });
    expect(await read(idle.token.id)).toMatchObject({
      lastUsedAt: at,
      idleExpiresAt: new Date(at.getTime() + 600_000),
    });
  });

  it("gives a row the same version until a column other than lastUsedAt changes, its user's too", async () => {
    const owner = await account();
    const { hash, token } = await tokenOf(owner);
    const version = async () => (await queries.findByHashes([hash]))[0]!.version;
    const first = await version();
    await queries.recordUses([{ id: token.id, at: new Date(1_700_000_080_000), idleExpiresAt: null }]);
    expect(await version()).toBe(first);
    await dataSource.getRepository(Account).update({ id: owner.id }, { nickname: 'grace' });
    const renamed = await version();
    expect(renamed).not.toBe(first);
    await dataSource.getRepository(AccessToken).update({ id: token.id }, { revokedAt: new Date(1_700_000_090_000) });
    expect(await version()).not.toBe(renamed);
  });

  it('writes and reads batches of any size in a few shapes of SQL, not one per size', async () => {
    const owner = await account();
    const many = await Promise.all(Array.from({ length: 20 }, () => tokenOf(owner)));
    const at = new Date(1_700_000_075_000);
    const ran = await counter.during(async () => {
      for (let size = 1; size <= many.length; size++) {
        const batch = many.slice(0, size);
        await queries.recordUses(
          batch.map(({ token }) => ({ id: token.id, at: new Date(at.getTime() + size), idleExpiresAt: null })),
        );
        expect(await queries.findByHashes(batch.map(({ hash }) => hash))).toHaveLength(size);
      }
    });
    // Sizes 1 to 20 take the shapes of 1, 2, 4, 8, 16 and 32: each statement a driver (or
    // TypeORM's cache of better-sqlite3's statements, which the app's queries share) prepares once.
    const shapes = (verb: string) => new Set(ran.filter((sql) => sql.startsWith(verb))).size;
    expect(shapes('UPDATE')).toBe(6);
    expect(shapes('SELECT')).toBe(6);
    const read = await dataSource.getRepository(AccessToken).findBy({ userId: owner.id });
    for (const token of read) expect(token.lastUsedAt!.getTime()).toBeGreaterThan(at.getTime());
    expect(read.find((token) => token.id === many[19]!.token.id)!.lastUsedAt).toEqual(new Date(at.getTime() + 20));
  });

  it('records 500 uses, and reads 500 tokens by hash, in one query each', async () => {
    const owner = await account();
    const many = await Promise.all(Array.from({ length: 500 }, () => tokenOf(owner)));
    const at = new Date(1_700_000_070_000);
    let found: FoundRow[] = [];
    const ran = await counter.during(async () => {
      await queries.recordUses(
        many.map(({ token }, i) => ({ id: token.id, at: new Date(at.getTime() + i), idleExpiresAt: null })),
      );
      found = await queries.findByHashes([...many.map(({ hash }) => hash), hashToken(signedUnknownToken('nat'))]);
    });
    expect(ran.map((sql) => sql.split(' ')[0])).toEqual(['UPDATE', 'SELECT']);
    expect(found).toHaveLength(500);
    const byId = new Map(found.map((row) => [row.token().id, row.token()]));
    expect(new Set(found.map((row) => row.hash))).toEqual(new Set(many.map(({ hash }) => hash)));
    many.forEach(({ token }, i) => {
      expect(byId.get(token.id)).toMatchObject({ lastUsedAt: new Date(at.getTime() + i), user: expect.any(Account) });
    });
  });
});
