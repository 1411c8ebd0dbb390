// SMTP sink of the delivery bench, in its own process so that receiving does not share a core or an
// event loop with the sender being measured. It accepts every message, discards DATA unparsed, and
// tells its parent (over IPC) how many it has received and the CPU it spent, so the bench counts only
// delivered emails and can show that the sink is not the bottleneck. Started with '{"queueIds":true}', it
// answers as Postfix does, `250 Ok: queued as <12 hex digits>`, so a sender's log holds a real-sized reply.
// Between a 'record' and an 'arrivals' message it also notes, per message, the recipient and when DATA
// ended (ms on the machine's monotonic clock, as process.hrtime gives every process), for the latency bench.
'use strict';
const { randomBytes } = require('node:crypto');
const { SMTPServer } = require('smtp-server');

const { queueIds = false } = JSON.parse(process.argv[2] || '{}');

let received = 0;
/** [recipient, ms] per message while recording, else undefined. */
let arrivals;
/** Totals the parent waits for, each answered once the count reaches it. */
const waiting = [];

function cpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1_000;
}

function answerWaiting() {
  while (waiting.length > 0 && waiting[0] <= received) {
    process.send({ type: 'reached', total: waiting.shift(), received, cpuMs: cpuMs() });
  }
}

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  // Many pooled connections come and go over a run; no per-connection banner delay.
  banner: 'bench sink',
  onData(stream, session, done) {
    stream.resume();
    stream.on('end', () => {
      if (arrivals) arrivals.push([session.envelope.rcptTo[0].address, Number(process.hrtime.bigint()) / 1e6]);
      received++;
      done(null, queueIds ? `Ok: queued as ${randomBytes(6).toString('hex').toUpperCase()}` : undefined);
      if (waiting.length > 0) answerWaiting();
    });
  },
});

process.on('message', (message) => {
  if (message.type === 'await') {
    waiting.push(message.total);
    waiting.sort((a, b) => a - b);
    answerWaiting();
  } else if (message.type === 'record') {
    arrivals = [];
  } else if (message.type === 'arrivals') {
    process.send({ type: 'arrivals', arrivals: arrivals || [] });
    arrivals = undefined;
  } else if (message.type === 'cpu') {
    process.send({ type: 'cpu', received, cpuMs: cpuMs() });
  } else if (message.type === 'stop') {
    process.exit(0);
  }
});

// The bench owns this process: when it goes away (ended, crashed), so does the sink.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => process.send({ type: 'listening', port: server.server.address().port }));
