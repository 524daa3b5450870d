// What bench/run.mjs and bench/ab.mjs share: the 10,000-file tree, which of its files commit
// i changes, and a datakit commit made as a script does it over 9P.

/** The path changed by commit i on the big tree: a different directory each time. */
export const bigPath = (i) => `d${String(i % 100).padStart(2, '0')}/f${String((i * 7) % 100).padStart(2, '0')}`;

/**
 * `git fast-import` a commit with 100 x 100 files onto `branch` (setup, not timed), through
 * `git(gitdir, args, input)`; returns the commit's id.
 */
export function importBigTree(git, gitdir, branch) {
  const lines = [`commit refs/heads/${branch}`, 'committer bench <bench@kitbox.invalid> 1700000000 +0000', 'data 4', 'big', ''];
  for (let d = 0; d < 100; d++) {
    for (let f = 0; f < 100; f++) {
      const p = `d${String(d).padStart(2, '0')}/f${String(f).padStart(2, '0')}`;
      const body = `initial ${p}\n`;
      lines.push(`M 100644 inline ${p}`, `data ${Buffer.byteLength(body)}`, body);
    }
  }
  git(gitdir, ['fast-import', '--quiet'], `${lines.join('\n')}\n`);
  return git(gitdir, ['rev-parse', branch]);
}

const enc = new TextEncoder();

/**
 * Commits through `session` (a p9p Session on a datakit server whose `master` exists and
 * whose `big` holds the big tree): mkdir transactions/<t>, write rw/<path>, write `commit`
 * to ctl. After one warm-up commit on each branch, `small(i)` changes the 1-file tree's
 * file and `big(i)` one file of the big tree (`n`: the warm-up's file on it).
 */
export async function datakitCommits(session, n) {
  const commit = async (branch, t, path, data) => {
    const tx = `branch/${branch}/transactions/${t}`;
    await session.mkdir({ path: tx });
    await session.writeFile({ path: `${tx}/rw/${path}`, data: enc.encode(data) });
    await session.writeFile({ path: `${tx}/ctl`, data: enc.encode('commit') });
  };
  await commit('master', 'warm', 'file', 'warm\n');
  await commit('big', 'warm', bigPath(n), 'warm\n');
  return {
    commit,
    small: (i) => commit('master', `s${i}`, 'file', `${i}\n`),
    big: (i) => commit('big', `b${i}`, bigPath(i), `changed ${i}\n`),
  };
}
