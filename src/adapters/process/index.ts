/** Running local commands: argv, directory, environment, output by line, exit status, kill. */
export {
  LocalProcessRunner,
  exitStatusString,
  mergeEnv,
  displayArgs,
  defaultKillGraceMs,
  type ProcessRunner,
  type ProcessSpec,
  type ProcessResult,
  type RunningProcess,
  type OutputStream,
  type Timers,
} from './runner.ts';
export { FakeProcessRunner, type FakeScript } from './fake.ts';
