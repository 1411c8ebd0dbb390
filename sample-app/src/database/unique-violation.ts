import { QueryFailedError } from 'typeorm';

/** True when the database refused a write because a unique index already holds the value. */
export function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { code?: string; message?: string } | undefined;
  // PostgreSQL's SQLSTATE unique_violation; SQLite (sql.js) says it in the message only.
  return driverError?.code === '23505' || /UNIQUE constraint failed/.test(driverError?.message ?? error.message);
}
