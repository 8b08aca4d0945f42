import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** The demo's users: a name, a bcrypt hash, and the two flags the token module reads. */
@Entity({ name: 'users' })
export class User {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('UQ_users_username', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  username!: string;

  @Column({ name: 'password_hash', type: 'varchar', length: 100 })
  passwordHash!: string;

  @Column({ type: 'boolean', default: false })
  blocked!: boolean;

  @Column({ name: 'is_admin', type: 'boolean', default: false })
  isAdmin!: boolean;
}

/** What the demo's users may do; admins also manage other users. */
export function permissionsOf(user: User): string[] {
  const base = ['users:read', 'tokens:read', 'tokens:write'];
  return user.isAdmin ? [...base, 'users:admin'] : base;
}

/** The public face of a user. */
export function publicUser(user: User): { id: number; username: string } {
  return { id: user.id, username: user.username };
}
