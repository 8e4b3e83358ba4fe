/**
 * Private per-user folders and ownership checks for the control socket.
 *
 * A Unix socket can be reached by anyone who may search every folder on its path and write the
 * socket file. listen() creates that file with the umask's mode (0777 under umask 000) and a
 * chmod can only follow, so the socket is created inside a folder that is ours and 0700 before
 * listen(): nobody else can reach it at any moment. Folders and files are examined with lstat and
 * never followed: a symbolic link, another user's folder or a looser mode is refused with a
 * message naming the path and what is wrong, so a path another local user squats (e.g. a
 * pre-created `/tmp/weir-<uid>`) can stop a job from starting, never take it over.
 */
import { chmodSync, lstatSync, mkdirSync, realpathSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { externalError, userError } from '../errors.js';

/** The current user id; undefined where the platform has none (no Unix sockets there either). */
export function currentUid(): number | undefined {
  return process.getuid?.();
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/** What makes `st` unfit as a private folder of `uid`, or undefined when it is fit. */
export function privateDirProblem(st: Stats, uid = currentUid()): string | undefined {
  if (st.isSymbolicLink()) return 'it is a symbolic link';
  if (!st.isDirectory()) return 'it is not a directory';
  if (uid !== undefined && st.uid !== uid) return `it is owned by uid ${st.uid}, not by you (uid ${uid})`;
  if ((st.mode & 0o777) !== 0o700) return `its mode is ${octal(st.mode)}, not 0700`;
  return undefined;
}

/**
 * What makes a file the user is about to trust (control.json, the socket) unfit, or undefined.
 * `kind` is what it must be; it must be the user's own and not writable by anyone else.
 */
export function ownedFileProblem(st: Stats, kind: 'file' | 'socket', uid = currentUid()): string | undefined {
  if (st.isSymbolicLink()) return 'it is a symbolic link';
  if (kind === 'file' && !st.isFile()) return 'it is not a regular file';
  if (kind === 'socket' && !st.isSocket()) return 'it is not a socket';
  if (uid !== undefined && st.uid !== uid) return `it is owned by uid ${st.uid}, not by you (uid ${uid})`;
  if ((st.mode & 0o022) !== 0) return `its mode is ${octal(st.mode)}: others can write it`;
  return undefined;
}

function unsafe(what: string, path: string, problem: string, hint: string): Error {
  return userError('CONTROL_PATH_UNSAFE', `${what} ${path} is not safe to use: ${problem}; weir does not use it (${hint})`, { details: { path } });
}

/**
 * Creates `path` as a 0700 folder of the current user, or accepts the folder already there only if
 * it is one (lstat: a symbolic link is never followed). Its parent must already exist.
 */
export function ensurePrivateDir(path: string, what: string, hint: string): void {
  let created = false;
  try {
    // mkdir's mode is masked by the umask: the result is 0700 or narrower, never wider.
    mkdirSync(path, { mode: 0o700 });
    created = true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') throw externalError('CONTROL_DIR', `cannot create ${what} ${path}: ${(e as Error).message}`, { retriable: false, cause: e });
  }
  let st = lstatSync(path);
  // A umask such as 0277 leaves the owner without some bits; that is ours to fix, never to widen.
  if (created && st.isDirectory() && !st.isSymbolicLink() && st.uid === (currentUid() ?? st.uid) && (st.mode & 0o777) !== 0o700) {
    chmodSync(path, 0o700);
    st = lstatSync(path);
  }
  const problem = privateDirProblem(st);
  if (problem !== undefined) throw unsafe(what, path, problem, hint);
}

/**
 * Whether a socket folder inside `dir` could be swapped by another user: `dir` and every folder
 * above it (symlinks resolved) must belong to the user or root, and a folder others may write
 * must be sticky (then they cannot rename or delete our entries in it).
 */
export function isTrustedPath(dir: string): boolean {
  const uid = currentUid();
  if (uid === undefined) return true;
  let p: string;
  try {
    p = realpathSync(dir);
  } catch {
    return false;
  }
  for (;;) {
    const st = lstatSync(p);
    if (st.uid !== uid && st.uid !== 0) return false;
    if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) return false;
    const up = dirname(p);
    if (up === p) return true;
    p = up;
  }
}

const RUNTIME_HINT = 'remove it if it is yours, or point XDG_RUNTIME_DIR or TMPDIR to a private folder';

/**
 * The user's private runtime folder for control sockets: `$XDG_RUNTIME_DIR/weir` when
 * XDG_RUNTIME_DIR is set and is the user's own 0700 folder (as the XDG spec requires), else
 * `<tmp>/weir-<uid>`, created 0700 or refused as described above.
 */
export function runtimeDir(): string {
  const uid = currentUid();
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && isAbsolute(xdg)) {
    let st: Stats | undefined;
    try {
      st = lstatSync(xdg);
    } catch {
      st = undefined;
    }
    if (st !== undefined && privateDirProblem(st, uid) === undefined) {
      const dir = join(xdg, 'weir');
      ensurePrivateDir(dir, 'control socket folder', RUNTIME_HINT);
      return dir;
    }
  }
  const dir = join(tmpdir(), `weir-${uid ?? 'user'}`);
  ensurePrivateDir(dir, 'control socket folder', RUNTIME_HINT);
  return dir;
}
