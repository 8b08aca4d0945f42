import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** The app's own users, with field names of its own choosing (see migrations/). */
@Entity({ name: 'app_users' })
export class User {
  @PrimaryGeneratedColumn('uuid')
  uuid!: string;

  /** The user name. */
  @Index('UQ_app_users_email', { unique: true })
  @Column({ type: 'varchar', length: 200 })
  email!: string;

  /** bcrypt hash, see password.ts. */
  @Column({ type: 'varchar', length: 200 })
  pwd!: string;

  @Column({ type: 'boolean', default: false })
  disabled!: boolean;

  /** What the user may do; no token of theirs grants more. */
  @Column({ type: 'simple-json' })
  permissions!: string[];
}
