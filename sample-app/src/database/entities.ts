import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The sample's tables, created by the migration next to this file (not by `synchronize`): the unique
 * email index and its matching rule are written there, per database. Times are epoch ms in bigint
 * columns, which PostgreSQL hands back as strings: the transformer turns them into numbers.
 */
const epochMs = { to: (value: number) => value, from: (value: string | number) => Number(value) };

@Entity('users')
export class UserRow {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  /** Unique as the database matches it: case-insensitive (and accent-insensitive on PostgreSQL). */
  @Column({ type: 'varchar', length: 254 })
  email!: string;

  @Column({ name: 'email_verified', type: 'boolean', default: false })
  emailVerified!: boolean;

  @Column({ type: 'varchar', length: 35 })
  locale!: string;

  @Column({ name: 'password_hash', type: 'varchar', length: 200 })
  passwordHash!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: number;
}

/** A session: the SHA-256 of its cookie value, so a copy of the table signs nobody in. */
@Entity('sessions')
export class SessionRow {
  @PrimaryColumn({ name: 'id_hash', type: 'varchar', length: 64 })
  idHash!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @Column({ name: 'expires_at', type: 'bigint', transformer: epochMs })
  expiresAt!: number;
}

/** The library's token records (its TokenStore) when there is no Redis: `record` is the record as JSON. */
@Entity('email_tokens')
export class TokenRow {
  @PrimaryColumn({ type: 'varchar', length: 100 })
  hash!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @Column({ type: 'varchar', length: 40 })
  purpose!: string;

  @Column({ name: 'expires_at', type: 'bigint', transformer: epochMs })
  expiresAt!: number;

  @Column({ type: 'text' })
  record!: string;
}

/** The library's code try counters when there is no Redis. */
@Entity('email_counters')
export class CounterRow {
  @PrimaryColumn({ type: 'varchar', length: 200 })
  key!: string;

  @Column({ type: 'text' })
  value!: string;

  @Column({ name: 'expires_at', type: 'bigint', transformer: epochMs })
  expiresAt!: number;
}

/** Values the sample generates once and keeps, such as its development secret. */
@Entity('sample_settings')
export class SettingRow {
  @PrimaryColumn({ type: 'varchar', length: 50 })
  name!: string;

  @Column({ type: 'text' })
  value!: string;
}

export const ENTITIES = [UserRow, SessionRow, TokenRow, CounterRow, SettingRow];
