/**
 * The child process of the local worker pool (runners.ts): runs the jobs its parent sends over IPC,
 * one at a time, and sends back each outcome. It ends when the parent disconnects (nothing else holds it).
 */
import { runJob, type Job } from './jobs.js';
import { errorLine, type JobOutcome } from './runners.js';

if (process.send) {
  const send = (message: JobOutcome | { log: string }): void => void process.send!(message);
  process.on('message', (message: { job: Job; place: { out?: string; log: boolean } }) => {
    const log = message.place.log ? (line: string) => send({ log: line }) : undefined;
    runJob(message.job, { out: message.place.out, log }).then(
      (result) => send({ ok: true, result }),
      (err: unknown) => send({ ok: false, error: errorLine(err) }),
    );
  });
}
