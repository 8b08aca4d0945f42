import { ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { Team, TeamMember } from './team.entity.js';

/** The demo's teams and who belongs to them; the token module knows teams, never members. */
@Injectable()
export class TeamsService {
  constructor(
    private readonly dataSource: DataSource,
    @InjectRepository(Team) private readonly teams: Repository<Team>,
    @InjectRepository(TeamMember) private readonly members: Repository<TeamMember>,
  ) {}

  /** A new team, with its creator as its first member. */
  async create(name: string, creatorId: number): Promise<Team> {
    return this.dataSource.transaction(async (manager) => {
      const team = await manager.getRepository(Team).save({ name, blocked: false, permissions: null });
      await manager.getRepository(TeamMember).insert({ teamId: team.id, userId: creatorId });
      return team;
    });
  }

  /** The team, if the user is a member of it: 404 if there is no such team, 403 if they are not. */
  async ofMember(teamId: number, userId: number): Promise<Team> {
    const team = await this.findById(teamId);
    if (!(await this.members.existsBy({ teamId, userId })))
      throw new ForbiddenException('You are not a member of this team');
    return team;
  }

  /** The teams the user belongs to, oldest first. */
  async teamsOf(userId: number): Promise<Team[]> {
    const memberships = await this.members.findBy({ userId });
    return memberships.length === 0
      ? []
      : this.teams.find({ where: memberships.map((m) => ({ id: m.teamId })), order: { id: 'ASC' } });
  }

  async findById(teamId: number): Promise<Team> {
    const team = await this.teams.findOneBy({ id: teamId });
    if (!team) throw new NotFoundException(`No team ${teamId}`);
    return team;
  }

  /** Blocks a team: its tokens are revoked by the token module's subscriber, in this save's transaction. */
  async block(teamId: number): Promise<void> {
    const team = await this.findById(teamId);
    team.blocked = true;
    await this.teams.save(team);
  }
}
