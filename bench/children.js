// The child processes of a benchmark (contenders, the SMTP sink) and how it talks to them over IPC:
// start one, wait for one of its messages, send one, stop them all.
'use strict';
const { fork } = require('node:child_process');
const { join } = require('node:path');

const children = new Set();

/** Resolves with the first message of `child` that `accept` returns a value for; rejects on exit, an error message or after `ms`. */
function nextMessage(child, name, accept, ms) {
  const answer = new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => finish(reject, new Error(`${name}: no answer within ${ms} ms`)), ms);
    // A wait left pending by another one's failure must not hold the bench open.
    timer.unref();
    const onMessage = (message) => {
      if (message.type === 'error') return finish(reject, new Error(`${name}: ${message.message}`));
      const value = accept(message);
      if (value !== undefined) finish(resolvePromise, value);
    };
    const onExit = (code, signal) => finish(reject, new Error(`${name}: exited (${signal || code}) unexpectedly`));
    function finish(settle, value) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      settle(value);
    }
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
  // Awaiting it still throws; a wait nobody reaches any more (another failed first) must not crash the clean-up.
  answer.catch(() => undefined);
  return answer;
}

/** Forks `file` (in bench/) with `args`; its stdout and stderr are the bench's. */
function start(file, args, execArgv = []) {
  const child = fork(join(__dirname, file), args, { execArgv: [...process.execArgv, ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  // A send to a child that has died emits 'error'; the waits on it fail on its exit instead.
  child.on('error', () => undefined);
  return child;
}

/** Sends `message` to `child`, or throws when it is gone (the waits on it would otherwise hang till their timeout). */
function tell(child, name, message) {
  if (!child.connected) throw new Error(`${name}: exited unexpectedly`);
  child.send(message);
}

/** Sends `message` to `child` and resolves with its first answer of type `type` (within `ms`). */
function ask(child, name, message, type, ms = 10_000) {
  const answer = nextMessage(child, name, (m) => (m.type === type ? m : undefined), ms);
  tell(child, name, message);
  return answer;
}

/** Ends every child still running: a stop (contenders close their app and pools), then a kill after 5 s. */
async function stopChildren() {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise((resolvePromise) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolvePromise();
          const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolvePromise();
          });
          if (child.connected) child.send({ type: 'stop' });
          else child.kill('SIGTERM');
        }),
    ),
  );
}

/**
 * Runs a benchmark's main; on a signal, or an error thrown outside main's flow, stops the children and
 * runs `cleanup` (e.g. deleting the run's Redis keys) before exiting.
 */
function runWithCleanup(main, cleanup) {
  const abort = (why, code) =>
    stopChildren()
      .then(cleanup)
      .catch(() => undefined)
      .finally(() => {
        console.log(`\n${why}: children stopped, Redis keys removed`);
        process.exit(code);
      });
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => abort(signal, 130));
  process.once('uncaughtException', (error) => {
    console.error(error);
    abort('uncaught exception', 1);
  });
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

module.exports = { children, nextMessage, start, tell, ask, stopChildren, runWithCleanup };
