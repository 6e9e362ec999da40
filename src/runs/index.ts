// The run directory's layout and files.
export {
  RUN_FILES,
  RUN_PARTS,
  runPath,
  isRunDir,
  checkRunDir,
  readRunFile,
  writeRunFile,
  readHistory,
  checkNewRunDir,
  discardNewRun,
  type RunFile,
  type RunPart,
  type RunFileTypes,
  type HistoryFile,
} from './run-dir.js';
