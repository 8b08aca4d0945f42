import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Column, DataSource, Entity, PrimaryColumn, type ValueTransformer } from 'typeorm';
import { AccessToken } from 'nestjs-access-tokens';
import { hashToken, tokenHint } from '../src/access-tokens/core/token-format.js';
import { TokenQueries } from '../src/access-tokens/storage/token-queries.js';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { signedUnknownToken } from './fixtures/secrets.js';

const upperCase: ValueTransformer = { to: (value: string) => value.toUpperCase(), from: (value: string) => value.toLowerCase() };

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

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = new DataSource({ ...database.options, entities: [AccessToken, Account], synchronize: true });
    await dataSource.initialize();
    queries = new TokenQueries(dataSource, Account, 'user.id = token.userId');
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  async function tokenOf(account: Account, idleTimeout: number | null = null): Promise<{ hash: string; token: AccessToken }> {
    const raw = signedUnknownToken('nat');
    const token = await dataSource.getRepository(AccessToken).save({
      id: randomUUID(), userId: account.id, kind: 'personal', familyId: null, name: 'CI', tokenHash: hashToken(raw),
      hint: tokenHint(raw), scopes: ['users:read', 'tokens:*'], createdAt: new Date(1_700_000_000_123),
      expiresAt: new Date(1_800_000_000_456), lifetime: 86_400, idleTimeout,
      idleExpiresAt: idleTimeout === null ? null : new Date(1_700_000_100_000), expiringNotifiedAt: null,
      lastUsedAt: null, revokedAt: null, revokedReason: null, fingerprint: 'v1.abc',
    });
    return { hash: token.tokenHash, token };
  }

  async function account(): Promise<Account> {
    return dataSource.getRepository(Account).save({ id: randomUUID(), blocked: true, roles: ['admin'], nickname: 'ada', address: { city: 'Turin' } });
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

  it('records a use, and pushes the idle expiry on only when asked', async () => {
    const owner = await account();
    const plain = await tokenOf(owner);
    const idle = await tokenOf(owner, 600);
    const at = new Date(1_700_000_050_789);
    await queries.recordUse(plain.token.id, at, null);
    await queries.recordUse(idle.token.id, at, new Date(at.getTime() + 600_000));
    const read = (id: string) => dataSource.getRepository(AccessToken).findOneByOrFail({ id });
    expect(await read(plain.token.id)).toMatchObject({ lastUsedAt: at, idleExpiresAt: null });
    expect(await read(idle.token.id)).toMatchObject({ lastUsedAt: at, idleExpiresAt: new Date(at.getTime() + 600_000) });
  });
});
