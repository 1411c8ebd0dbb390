import { ConfigService } from '@nestjs/config';

/** The sample's settings, read from the environment (or a .env file) with embedded defaults. */
export interface SampleSettings {
  /** HTTP port. `PORT`, default 3000. */
  port: number;
  /** Public URL of this app, used in email links. `APP_URL`, default http://localhost:<port>. */
  appUrl: string;
  /** SMTP server. `SMTP_URL`; when unset, emails go to the in-process catcher. */
  smtpUrl?: string;
  /** Sender. `MAIL_FROM`. */
  from: string;
}

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
  };
}
