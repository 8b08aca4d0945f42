import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Column, DataSource, Entity, PrimaryColumn, type ValueTransformer } from 'typeorm';
import { AccessToken } from 'nestjs-access-tokens';
import { hashToken, ownerJoinCondition, tokenHint, TokenQueries, type FoundRow } from '#internal';
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

/** A team entity whose key is a number, where the users' are text: the join must never cast a user's id. */
@Entity({ name: 'squads' })
class Squad {
  @PrimaryColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'varchar', length: 40 })
  name!: string;
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
      entities: [AccessToken, Account, Squad],
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
    account: Pick<Account, 'id'>,
    idleTimeout: number | null = null,
    kind: 'personal' | 'team' = 'personal',
  ): Promise<{ hash: string; token: AccessToken }> {
    const raw = signedUnknownToken('nat');
    const token = await dataSource.getRepository(AccessToken).save({
      id: randomUUID(),
      userId: account.id,
      kind,
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

  it("joins a team's token to its team and a user's to its user, when their ids are equal and their key types differ", async () => {
    const key = (entity: object) =>
      dataSource.getMetadata(entity as new () => object).findColumnWithPropertyName('id')!;
    const both = new TokenQueries(
      dataSource,
      {
        entity: Account,
        condition: ownerJoinCondition(dataSource, key(Account), 'token', 'user', "token.kind <> 'team'"),
      },
      { entity: Squad, condition: ownerJoinCondition(dataSource, key(Squad), 'token', 'team', "token.kind = 'team'") },
    );
    const squadId = 1_000 + Math.floor(Math.random() * 1_000_000);
    await dataSource.getRepository(Squad).save({ id: squadId, name: 'ops' });
    const twin = await dataSource
      .getRepository(Account)
      .save({ id: String(squadId), blocked: false, roles: [], nickname: 'twin', address: { city: 'Oslo' } });
    // A user whose id is no number: never cast to the team's integer key (PostgreSQL would fail).
    const named = await account();
    const [personal, team, other] = [
      await tokenOf(twin),
      await tokenOf({ id: String(squadId) }, null, 'team'),
      await tokenOf(named),
    ];
    expect((await both.findByHash(personal.hash))!.user).toEqual(
      await dataSource.getRepository(Account).findOneBy({ id: twin.id }),
    );
    const squad = (await both.findByHash(team.hash))!.user;
    expect(squad).toBeInstanceOf(Squad);
    expect(squad).toEqual({ id: squadId, name: 'ops' });
    expect((await both.findByHash(other.hash))!.user).toBeInstanceOf(Account);
    // The refresher's batched read, and the team's columns in a row's version.
    const rows = await both.findByHashes([personal.hash, team.hash, other.hash]);
    expect(rows).toHaveLength(3);
    const before = rows.find((row) => row.hash === team.hash)!.version;
    await dataSource.getRepository(Squad).update({ id: squadId }, { name: 'renamed' });
    const [after] = await both.findByHashes([team.hash]);
    expect(after!.version).not.toBe(before);
    // A token of a team that is gone has no owner, not the user of the same id.
    await dataSource.getRepository(Squad).delete({ id: squadId });
    expect((await both.findByHash(team.hash))!.user).toBeNull();
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
