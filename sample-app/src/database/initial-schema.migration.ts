import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The sample's tables. Emails are unique as the database compares them, and lookups compare the same
 * way, so every spelling the database matches is one account:
 * - PostgreSQL: a nondeterministic ICU collation that ignores case and accents (`Zoë@X` = `zoe@x`),
 *   with a unique index on the column under it.
 * - SQLite: `COLLATE NOCASE`, which folds ASCII letters only; the sample stores addresses lower-cased
 *   (as the library passes them), which covers the rest of case.
 */
export class InitialSchema1765090000000 implements MigrationInterface {
  name = 'InitialSchema1765090000000';

  async up(runner: QueryRunner): Promise<void> {
    const postgres = runner.connection.options.type === 'postgres';
    if (postgres) {
      await runner.query(`CREATE COLLATION IF NOT EXISTS email_insensitive (provider = icu, locale = 'und-u-ks-level1', deterministic = false)`);
    }
    const emailType = postgres ? 'varchar(254) COLLATE email_insensitive' : 'varchar(254) COLLATE NOCASE';
    await runner.query(
      `CREATE TABLE users (id varchar(36) PRIMARY KEY, name varchar(100) NOT NULL, email ${emailType} NOT NULL, ` +
        `email_verified boolean NOT NULL DEFAULT false, locale varchar(35) NOT NULL, password_hash varchar(200) NOT NULL, created_at bigint NOT NULL)`,
    );
    await runner.query(`CREATE UNIQUE INDEX users_email_unique ON users (email)`);
    await runner.query(`CREATE TABLE sessions (id_hash varchar(64) PRIMARY KEY, user_id varchar(36) NOT NULL REFERENCES users (id) ON DELETE CASCADE, expires_at bigint NOT NULL)`);
    await runner.query(`CREATE INDEX sessions_user ON sessions (user_id)`);
    await runner.query(`CREATE TABLE email_tokens (hash varchar(100) PRIMARY KEY, user_id varchar(36) NOT NULL, purpose varchar(40) NOT NULL, expires_at bigint NOT NULL, record text NOT NULL)`);
    await runner.query(`CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose)`);
    await runner.query(`CREATE TABLE email_counters (key varchar(200) PRIMARY KEY, value text NOT NULL, expires_at bigint NOT NULL)`);
    await runner.query(`CREATE TABLE sample_settings (name varchar(50) PRIMARY KEY, value text NOT NULL)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    for (const table of ['sample_settings', 'email_counters', 'email_tokens', 'sessions', 'users']) await runner.query(`DROP TABLE ${table}`);
    if (runner.connection.options.type === 'postgres') await runner.query(`DROP COLLATION IF EXISTS email_insensitive`);
  }
}
