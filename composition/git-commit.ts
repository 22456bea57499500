/** The commit the node runs from, for /version: configured, else asked of git when the node is a checkout. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** `configured` when set; else `git rev-parse HEAD` of the node's checkout; undefined when neither is known. */
export function gitCommit(configured: string): string | undefined {
  if (configured) return configured.toLowerCase();
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 2000,
    }).trim();
    return /^[0-9a-f]{40,64}$/.test(out) ? out : undefined;
  } catch {
    // Not a checkout (a packed install) or no git on the machine: the commit is simply not known.
    return undefined;
  }
}
