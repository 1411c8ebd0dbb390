/**
 * nodemailer, loaded when the first transport is made rather than when the library is imported. In a file
 * of its own that no public declaration imports: its type is nodemailer's, whose declarations need
 * `esModuleInterop` in an app that checks libraries (see mail-message.ts).
 */
export function loadNodemailer(): typeof import('nodemailer') {
  return require('nodemailer') as typeof import('nodemailer');
}
