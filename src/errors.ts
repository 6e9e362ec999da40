/**
 * One error class per domain. Each message names the file, record or field at fault and what to do;
 * the CLI prints it on one line without a stack (`--debug` shows the stack) and exits non-zero.
 */
export class LvsegError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Unreadable or inconsistent input data: TFRecord, Example, DICOM, contour, PNG, dataset layout. */
export class DataError extends LvsegError {}

/** An invalid model spec or a model that cannot fit the data. */
export class ModelSpecError extends LvsegError {}

/** A checkpoint or run directory that cannot be read or resumed. */
export class CheckpointError extends LvsegError {}

/** A compute backend that cannot be selected or loaded. */
export class BackendError extends LvsegError {}

/** Bad command-line usage or configuration: unknown flag, missing value, wrong type. */
export class UsageError extends LvsegError {}

/**
 * Training that cannot go on (e.g. a NaN loss). `epoch` and `step` (from 1) say where in the loop it
 * stopped, so the caller that knows the run can add what to do (resume from the last checkpoint).
 */
export class TrainingError extends LvsegError {
  readonly epoch?: number;
  readonly step?: number;

  constructor(message: string, options: { cause?: unknown; epoch?: number; step?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.epoch !== undefined) this.epoch = options.epoch;
    if (options.step !== undefined) this.step = options.step;
  }
}

/** An output that cannot be written: it exists, its folder holds files lvseg did not write, or it is not writable. */
export class OutputError extends LvsegError {}
/** A job queue (Redis) that cannot be reached or used: address, connection, a job that vanished. */
export class QueueError extends LvsegError {}
