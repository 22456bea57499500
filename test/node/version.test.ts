/** /version names the commit the node runs from: configured (--git-commit), else asked of git in a checkout. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { gitCommit } from '../../composition/git-commit.ts';
import { startNode } from '../support/node.ts';

describe('/version', () => {
  it('shows the configured commit', async () => {
    const t = await startNode({ gitCommit: 'ABCDEF0123' });
    try {
      const body = (await (await fetch(`${t.url}/version`)).json()) as {
        api: unknown;
        controller: { git?: string };
      };
      expect(body.api).toEqual({ major: 4, minor: 0, patch: 0 });
      expect(body.controller.git).toBe('abcdef0123');
    } finally {
      await t.cleanup();
    }
  });

  it('finds the checkout commit when none is configured', () => {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    expect(gitCommit('')).toBe(head);
  });
});
