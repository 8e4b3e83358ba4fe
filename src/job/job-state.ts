export type JobState = 'INITIALIZING' | 'RUNNING' | 'RESTARTING' | 'FINISHING' | 'FINISHED' | 'STOPPED' | 'CANCELED' | 'FAILED';

/** Declared transitions of the job lifecycle; anything else is a bug. */
const TRANSITIONS: Record<JobState, readonly JobState[]> = {
  INITIALIZING: ['RUNNING', 'FINISHING', 'RESTARTING', 'FAILED', 'CANCELED'],
  RUNNING: ['FINISHING', 'RESTARTING', 'FAILED', 'CANCELED'],
  // STOPPED: a stop while restarting ends the job at its latest checkpoint
  RESTARTING: ['RUNNING', 'FINISHING', 'STOPPED', 'FAILED', 'CANCELED'],
  // back to RUNNING when the final checkpoint of a stop is aborted
  FINISHING: ['RUNNING', 'FINISHED', 'STOPPED', 'RESTARTING', 'FAILED', 'CANCELED'],
  FINISHED: [],
  STOPPED: [],
  CANCELED: [],
  FAILED: [],
};

export function isTerminalState(state: JobState): boolean {
  return TRANSITIONS[state].length === 0;
}

export function isAllowedTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}
