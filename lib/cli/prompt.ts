import { CliUsageError } from './usage.error';

/** Reads a line from the terminal without echoing it (for passwords); without a terminal, says to set `env` instead. */
export function promptHidden(question: string, env: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) return Promise.reject(new CliUsageError(`There is no terminal to ask on; set ${env} in the environment instead.`));
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    input.setRawMode(true);
    input.resume();
    input.setEncoding('utf8');
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') {
          finish();
          return resolve(value);
        }
        if (char === '\u0003') {
          finish();
          return reject(new CliUsageError('Cancelled.'));
        }
        value = char === '\u007f' ? value.slice(0, -1) : value + char;
      }
    };
    const finish = () => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
    };
    input.on('data', onData);
  });
}
