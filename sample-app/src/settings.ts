import { ConfigService } from '@nestjs/config';
import { join, resolve } from 'node:path';

/**
 * Development-only module secret, used when REDIS_URL is set without EMAIL_WORKFLOW_SECRET. It is
 * public (it is in this file), so anything it protects is not protected: never use it in production.
 */
export const DEVELOPMENT_SECRET = 'sample-app-development-secret-do-not-use-in-production';

/** The sample's settings, read from the environment (or a .env file) with embedded defaults. */
export interface SampleSettings {
  /** HTTP port. `PORT`, default 3000. */
  port: number;
  /** Public URL of this app, used in email links. `APP_URL`, default http://localhost:<port>. */
  appUrl: string;
  /** SMTP server. `SMTP_URL`; when unset, the dev inbox catches every email and nothing is delivered. */
  smtpUrl?: string;
  /** Sender. `MAIL_FROM`, default `Sample App <no-reply@example.com>`. */
  from: string;
  /** Redis for a durable queue and token store. `REDIS_URL`; when unset, both live in this process. */
  redisUrl?: string;
  /** Module secret. `EMAIL_WORKFLOW_SECRET`; see DEVELOPMENT_SECRET for the fallback with Redis. */
  secret?: string;
  /** PostgreSQL for users, sessions (and tokens without Redis). `DATABASE_URL`; when unset, SQLite in `dataDir`. */
  databaseUrl?: string;
  /** Folder of the embedded SQLite file (`sample.sqlite`). `SAMPLE_DATA_DIR`, default sample-app/data. */
  dataDir: string;
}

/** A start-up failure the person starting the sample can fix: one line says how, a stack trace would bury it. */
export class StartupProblem extends Error {}

export function readSettings(config: ConfigService): SampleSettings {
  const port = Number(config.get<string>('PORT') || 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a port number, got "${config.get<string>('PORT')}"`);
  }
  return {
    port,
    appUrl: (config.get<string>('APP_URL') || `http://localhost:${port}`).replace(/\/+$/, ''),
    smtpUrl: config.get<string>('SMTP_URL') || undefined,
    from: config.get<string>('MAIL_FROM') || 'Sample App <no-reply@example.com>',
    redisUrl: config.get<string>('REDIS_URL') || undefined,
    secret: config.get<string>('EMAIL_WORKFLOW_SECRET') || undefined,
    databaseUrl: config.get<string>('DATABASE_URL') || undefined,
    // From sample-app/src (tests) and sample-app/dist (npm start) alike: sample-app/data.
    dataDir: resolve(config.get<string>('SAMPLE_DATA_DIR') || join(__dirname, '..', 'data')),
  };
}
