import { execFileSync } from 'node:child_process';

/** Which build was measured, so a result can be traced to its code. */
export interface SourceRevision {
  readonly commit: string;
  /** True when src/ had uncommitted changes: the numbers then belong to no commit. */
  readonly srcModified: boolean;
}

/** Asks git about the checkout at `root`; undefined when it is not a git checkout or git is missing. */
export function readSourceRevision(root: string): SourceRevision | undefined {
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: root, encoding: 'utf8', timeout: 10_000 }).trim();
    return { commit: git('rev-parse', '--short', 'HEAD'), srcModified: git('status', '--porcelain', '--', 'src') !== '' };
  } catch {
    return undefined;
  }
}
