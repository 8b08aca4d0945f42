import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** The app's own users, with field names of its own choosing. */
@Entity({ name: 'users' })
export class User {
  @PrimaryGeneratedColumn('uuid')
  uuid!: string;

  @Column({ type: 'varchar', length: 200, unique: true })
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
