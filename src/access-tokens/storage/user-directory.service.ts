import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, type Repository } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import {
  InvalidCredentialsError,
  InvalidOptionsError,
  AccountBlockedError,
  UserNotFoundError,
} from '../core/access-tokens.errors.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import type { UserId } from '../access-tokens.interfaces.js';
import { Fingerprinter } from '../core/fingerprint.js';
import { isSqlite } from './drivers.js';
import { validateScopes } from '../core/scopes.js';

const TEXT_TYPES = new Set(['character varying', 'varchar', 'text', 'character', 'char', 'nvarchar', 'nchar']);

/**
 * Reads the app's user entity as the options describe it. Checks at start-up that the entity is
 * registered with the DataSource and has the configured properties.
 */
/** User rows read for one name: the exact spelling among those the collation matches. */
const MAX_SPELLINGS = 10;

@Injectable()
export class UserDirectory {
  private readonly repository: Repository<object>;
  private readonly idColumn: ColumnMetadata;
  /** Fingerprints of the users' watched fields, kept by each token. */
  private readonly fingerprinter: Fingerprinter;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
  ) {
    const { entity } = options.user;
    if (!dataSource.hasMetadata(entity)) {
      throw new InvalidOptionsError(
        `user.entity ${entity.name} is not registered with the TypeORM DataSource: add it to "entities" (or TypeOrmModule.forFeature)`,
      );
    }
    const metadata = dataSource.getMetadata(entity);
    const column = (field: string | null, name: string, whenNone?: string): ColumnMetadata | undefined => {
      if (field === null) return undefined;
      const found = metadata.findColumnWithPropertyName(field);
      if (!found) {
        throw new InvalidOptionsError(
          `user.${name} is "${field}", but ${entity.name} has no such column: set user.${name} to one of ${metadata.columns.map((c) => c.propertyName).join(', ')}` +
            (whenNone ? `, or to null if ${whenNone}` : ''),
        );
      }
      return found;
    };
    this.idColumn = column(options.user.idField, 'idField')!;
    column(options.user.usernameField, 'usernameField');
    column(options.user.passwordHashField, 'passwordHashField', 'users have no password');
    column(options.user.blockedField, 'blockedField', 'users cannot be blocked');
    for (const watched of options.revocation.on) {
      if (!metadata.findColumnWithPropertyName(watched)) {
        throw new InvalidOptionsError(
          `revocation.on names "${watched}", but ${entity.name} has no such column: use some of ${metadata.columns.map((c) => c.propertyName).join(', ')}`,
        );
      }
    }
    this.repository = dataSource.getRepository(entity);
    // Blocking is checked on its own at each verification; the rest is fingerprinted.
    this.fingerprinter = new Fingerprinter(
      options.revocation.on.filter((watched) => watched !== options.user.blockedField),
      options.keys.all.map((keys) => keys.fingerprint),
    );
  }

  /**
   * The fingerprint of `user`'s watched fields (`revocation.on`, but for `blockedField`) with the
   * current key, for a new token to keep; `null` when no field is watched.
   */
  fingerprintOf(user: object): string | null {
    return this.fingerprinter.of(user);
  }

  /**
   * Whether a token's `fingerprint` no longer matches `user`: a watched field changed by a path no
   * subscriber saw. A fingerprint made with another field list, or a key no longer given, does not
   * count as stale.
   */
  isStale(fingerprint: string | null, user: object): boolean {
    return this.fingerprinter.isStale(fingerprint, user);
  }

  /** The user entity class. */
  get entity(): object {
    return this.options.user.entity;
  }

  /** The primary key of `user`, as the token table stores it. */
  idOf(user: object): string {
    return String((user as Record<string, unknown>)[this.options.user.idField]);
  }

  async findById(id: UserId): Promise<object | null> {
    return this.repository.findOneBy({ [this.options.user.idField]: id });
  }

  /**
   * The user a new token may be issued to, as the database has it: `UserNotFoundError` or
   * `AccountBlockedError` otherwise. Given the user object whose password the app checked, also
   * `InvalidCredentialsError` when its watched fields no longer match the row: a password changed
   * since that check. The token then keeps the fingerprint of the values the app checked, so that
   * a change committing after this read leaves it refused at its first use.
   */
  async issuableUser(subject: UserId | object): Promise<object> {
    const checked = typeof subject === 'object' ? subject : null;
    const id = checked ? this.idOf(checked) : (subject as UserId);
    const user = await this.findById(id);
    if (!user) throw new UserNotFoundError(id);
    if (this.isBlocked(user)) throw new AccountBlockedError(id);
    if (checked && this.fingerprinter.of(checked) !== this.fingerprinter.of(user)) throw new InvalidCredentialsError();
    return user;
  }

  /**
   * The user whose `usernameField` is exactly `username`, or `null`. The column's collation may
   * match other spellings (`ALICE`, `àlice` on MariaDB): only the name as stored names the user.
   */
  async findByUsername(username: string): Promise<object | null> {
    const field = this.options.user.usernameField;
    // A case- or accent-insensitive collation (MariaDB's default) matches several spellings: the
    // exact one is among them, not necessarily the first.
    const found = await this.repository.find({ where: { [field]: username }, take: MAX_SPELLINGS });
    return found.find((user) => (user as Record<string, unknown>)[field] === username) ?? null;
  }

  /**
   * Locks the user's row until `manager`'s transaction ends, so that work that counts or checks
   * the user's tokens runs one transaction at a time per user. SQLite needs none: the store runs
   * its transactions there one at a time (`TokenStore.transaction`).
   */
  async lock(manager: EntityManager, id: UserId): Promise<void> {
    if (isSqlite(this.dataSource)) return;
    await manager
      .createQueryBuilder(this.options.user.entity, 'user')
      .select(`user.${this.idColumn.propertyName}`)
      .where(`user.${this.idColumn.propertyName} = :id`, { id })
      .setLock('pessimistic_write')
      .getRawOne();
  }

  isBlocked(user: object): boolean {
    const field = this.options.user.blockedField;
    return field !== null && Boolean((user as Record<string, unknown>)[field]);
  }

  /** What the user may do now, or `null` when the app sets no cap. */
  async permissionsOf(user: object): Promise<readonly string[] | null> {
    const permissions = this.options.user.permissions;
    return permissions ? validateScopes(await permissions(user), 'permission') : null;
  }

  /** The join condition from a token (alias `token`) to its user (alias `user`), as `ownerJoinCondition` writes it. */
  joinCondition(token: string, user: string, only?: string): string {
    return ownerJoinCondition(this.dataSource, this.idColumn, token, user, only);
  }
}

/**
 * The join condition from a token (alias `token`) to an owner row (alias `owner`) by the owner's
 * primary key `idColumn`, for the tokens `only` selects (a condition on `token`) if given. The
 * token table keeps owner ids as text; PostgreSQL does not compare text with other types
 * implicitly, so there the token side is cast, which leaves the owner's primary key index usable.
 * With `only`, the cast is made for those tokens alone (a `CASE`, whose order PostgreSQL keeps):
 * a user's id that is no number is never cast to a team's integer key.
 */
export function ownerJoinCondition(
  dataSource: DataSource,
  idColumn: ColumnMetadata,
  token: string,
  owner: string,
  only?: string,
): string {
  const type = dataSource.driver.normalizeType(idColumn);
  const cast = dataSource.driver.options.type === 'postgres' && !TEXT_TYPES.has(type);
  const tokenSide = !cast
    ? `${token}.userId`
    : only
      ? `CASE WHEN ${only} THEN CAST(${token}.userId AS ${type}) END`
      : `CAST(${token}.userId AS ${type})`;
  const condition = `${owner}.${idColumn.propertyName} = ${tokenSide}`;
  return only ? `${condition} AND ${only}` : condition;
}
