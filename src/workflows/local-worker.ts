/**
 * The child process of the local worker pool (runners.ts): runs the jobs its parent sends over IPC,
 * one at a time, and sends back each outcome. It ends when the parent disconnects: at once, mid-job too,
 * since nobody is left to take the outcome (a coordinator stopped by a signal once left its workers training on,
 * then crashing with ERR_IPC_CHANNEL_CLOSED).
 */
import { runJob, type Job } from './jobs.js';
import { errorLine, type JobOutcome } from './runners.js';

if (process.send) {
  const send = (message: JobOutcome | { log: string }): void => {
    if (process.connected) process.send!(message, undefined, undefined, () => {});
  };
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: { job: Job; place: { out?: string; log: boolean } }) => {
    const log = message.place.log ? (line: string) => send({ log: line }) : undefined;
    runJob(message.job, { out: message.place.out, log }).then(
      (result) => send({ ok: true, result }),
      (err: unknown) => send({ ok: false, error: errorLine(err) }),
    );
  });
}
