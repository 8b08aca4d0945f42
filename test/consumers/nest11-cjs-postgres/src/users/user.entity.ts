import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** The app's users, with field names of its own: the module is told them in app.module.ts. */
@Entity({ name: 'users' })
export class User {
  @PrimaryGeneratedColumn('uuid')
  uuid!: string;

  /** The user name. */
  @Column({ type: 'varchar', length: 254, unique: true })
  email!: string;

  /** bcrypt hash, see password.ts. */
  @Column({ type: 'varchar', length: 200 })
  pwd!: string;

  @Column({ type: 'boolean', default: false })
  disabled!: boolean;

  /** What the user may do: a token never gets more. */
  @Column({ type: 'simple-array', default: '' })
  permissions!: string[];
}
