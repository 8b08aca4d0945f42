import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/** What a team may do unless an admin narrows it: read the team, and write to it. */
export const TEAM_PERMISSIONS = ['teams:read', 'teams:write'] as const;

/** The demo's teams: the second kind of token owner (`forRoot({ teams: { entity: Team } })`). */
@Entity({ name: 'teams' })
export class Team {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ type: 'boolean', default: false })
  blocked!: boolean;

  /** What the team's tokens may do at most; `null`: `TEAM_PERMISSIONS`. */
  @Column({ type: 'simple-json', nullable: true })
  permissions!: string[] | null;
}

/** Who belongs to which team: the demo's, not the token module's, which never reads it. */
@Entity({ name: 'team_members' })
export class TeamMember {
  @PrimaryColumn({ name: 'team_id', type: 'integer' })
  teamId!: number;

  @PrimaryColumn({ name: 'user_id', type: 'integer' })
  userId!: number;
}

/** What a team's tokens may do now. */
export function teamPermissionsOf(team: Team): readonly string[] {
  return team.permissions ?? TEAM_PERMISSIONS;
}

/** The public face of a team. */
export function publicTeam(team: Team): { id: number; name: string; blocked: boolean } {
  return { id: team.id, name: team.name, blocked: team.blocked };
}
