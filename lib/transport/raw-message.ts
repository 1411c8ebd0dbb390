import type { MailMessage, MailMessageDkim } from './mail-message';
import { loadNodemailer } from './nodemailer.loader';

/** The exact bytes a send of `message` puts in DATA, DKIM signature included: nodemailer's stream transport builds them. */
export async function buildRawMessage(message: MailMessage, dkim?: MailMessageDkim): Promise<Buffer> {
  const built = await loadNodemailer().createTransport({ streamTransport: true, buffer: true, dkim }).sendMail(message);
  return built.message as Buffer;
}
