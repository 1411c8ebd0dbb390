export { EmailDevInboxModule } from './dev-inbox.module';
export { DevInbox } from './dev-inbox.service';
export type { EmailDevInboxOptions } from './dev-inbox.options';
export type { CaughtEmail } from './dev-inbox.types';
