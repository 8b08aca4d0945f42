import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, type Repository } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import type { ResolvedAccessTokensOptions, ResolvedTeamOptions } from '../access-tokens-options.interface.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import { InvalidOptionsError, TeamBlockedError, TeamNotFoundError } from '../core/access-tokens.errors.js';
import { Fingerprinter } from '../core/fingerprint.js';
import { validateScopes } from '../core/scopes.js';
import { isSqlite } from './drivers.js';
import { ownerJoinCondition } from './user-directory.service.js';

/**
 * Reads the app's team entity (`teams`), the second kind of owner, as `UserDirectory` reads users:
 * checked at start-up against the DataSource's metadata, then its rows' ids, blocking, permissions
 * and the fingerprint of their watched fields. Without `teams`, `enabled` is false and the rest is
 * never called.
 */
@Injectable()
export class TeamDirectory {
  private readonly teams: ResolvedTeamOptions | null;
  private readonly repository: Repository<object> | null = null;
  private readonly idColumn: ColumnMetadata | null = null;
  /** Fingerprints of the teams' watched fields (`teams.revocation.on` but for blocking), kept by each token. */
  private readonly fingerprinter: Fingerprinter | null = null;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(RESOLVED_OPTIONS) options: ResolvedAccessTokensOptions,
  ) {
    this.teams = options.teams;
    const { teams } = this;
    if (!teams) return;
    const { entity } = teams;
    if (!dataSource.hasMetadata(entity)) {
      throw new InvalidOptionsError(
        `teams.entity ${entity.name} is not registered with the TypeORM DataSource: add it to "entities" (or TypeOrmModule.forFeature)`,
      );
    }
    const metadata = dataSource.getMetadata(entity);
    const known = () => metadata.columns.map((c) => c.propertyName).join(', ');
    const column = (field: string | null, name: string): ColumnMetadata | undefined => {
      if (field === null) return undefined;
      const found = metadata.findColumnWithPropertyName(field);
      if (!found) {
        throw new InvalidOptionsError(
          `teams.${name} is "${field}", but ${entity.name} has no such column: set teams.${name} to one of ${known()}` +
            (name === 'blockedField' ? ', or to null if teams cannot be blocked' : ''),
        );
      }
      return found;
    };
    this.idColumn = column(teams.idField, 'idField')!;
    column(teams.nameField, 'nameField');
    column(teams.blockedField, 'blockedField');
    for (const watched of teams.revokeOn) {
      if (!metadata.findColumnWithPropertyName(watched)) {
        throw new InvalidOptionsError(
          `teams.revocation.on names "${watched}", but ${entity.name} has no such column: use some of ${known()}`,
        );
      }
    }
    this.repository = dataSource.getRepository(entity);
    this.fingerprinter = new Fingerprinter(
      teams.revokeOn.filter((watched) => watched !== teams.blockedField),
      options.keys.all.map((keys) => keys.fingerprint),
    );
  }

  /** Whether the app named a team entity. */
  get enabled(): boolean {
    return this.teams !== null;
  }

  /** The options, or `TeamNotFoundError`-free start-up advice when the app has no teams. */
  private get options(): ResolvedTeamOptions {
    if (!this.teams) {
      throw new InvalidOptionsError('Team tokens need a team entity: forRoot({ teams: { entity: Team } })');
    }
    return this.teams;
  }

  /** The team entity class. */
  get entity(): object {
    return this.options.entity;
  }

  /** The primary key of `team`, as the token table stores it. */
  idOf(team: object): string {
    return String((team as Record<string, unknown>)[this.options.idField]);
  }

  /** The team's name, for messages and lists. */
  nameOf(team: object): string {
    return String((team as Record<string, unknown>)[this.options.nameField]);
  }

  async findById(id: string | number): Promise<object | null> {
    return this.repository!.findOneBy({ [this.options.idField]: id });
  }

  /** The team a token may be issued to: `TeamNotFoundError` or `TeamBlockedError` otherwise. */
  async issuableTeam(id: string | number): Promise<object> {
    const team = await this.findById(id);
    if (!team) throw new TeamNotFoundError(id);
    if (this.isBlocked(team)) throw new TeamBlockedError(id);
    return team;
  }

  isBlocked(team: object): boolean {
    const field = this.options.blockedField;
    return field !== null && Boolean((team as Record<string, unknown>)[field]);
  }

  /** What the team may do now, or `null` when the app sets no cap. */
  async permissionsOf(team: object): Promise<readonly string[] | null> {
    const { permissions } = this.options;
    return permissions ? validateScopes(await permissions(team), 'permission') : null;
  }

  /** The fingerprint of `team`'s watched fields, for a new token to keep; `null` when none is watched. */
  fingerprintOf(team: object): string | null {
    return this.fingerprinter!.of(team);
  }

  /** Whether a token's `fingerprint` no longer matches `team`: a watched field changed by a path no subscriber saw. */
  isStale(fingerprint: string | null, team: object): boolean {
    return this.fingerprinter!.isStale(fingerprint, team);
  }

  /** Locks the team's row until `manager`'s transaction ends (none on SQLite, whose writes run one at a time). */
  async lock(manager: EntityManager, id: string): Promise<void> {
    if (isSqlite(this.dataSource)) return;
    const property = this.idColumn!.propertyName;
    await manager
      .createQueryBuilder(this.options.entity, 'team')
      .select(`team.${property}`)
      .where(`team.${property} = :id`, { id })
      .setLock('pessimistic_write')
      .getRawOne();
  }

  /** The join condition from a token (alias `token`) to its team (alias `team`): teams' tokens only. */
  joinCondition(token: string, team: string): string {
    return ownerJoinCondition(this.dataSource, this.idColumn!, token, team, `${token}.kind = 'team'`);
  }
}
