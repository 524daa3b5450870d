/**
 * @kitbox/datakit: a git-compatible versioned filesystem served over 9P, in the layout
 * and semantics of moby/datakit.
 *
 * What exists today: the git store with compare-and-swap branch updates; the 9P
 * filesystem over it (branch/, transactions with merge and diff, head.live, reflog,
 * watch/, snapshots/, trees/, commits/, remotes/) with the `datakit serve` command; a
 * client over p9p. See README.md for what is missing.
 */
export { DatakitError } from './errors.js';
export {
  Store,
  isOid,
  isValidBranchName,
  type CommitInfo,
  type CommitInput,
  type Oid,
  type Signature,
  type TreeEntry,
} from './store/store.js';
export { DatakitFs, type DatakitFsOptions } from './fs/server.js';
export { DatakitConnection, type FidState } from './fs/handler.js';
export { Repo, type RepoOptions } from './fs/repo.js';
export { FsError, type Errno } from './fs/errors.js';
export { gitFetcher, type Fetcher, type FetchRequest } from './fs/fetch.js';
export { DatakitClient, Branch, Transaction } from './client/client.js';
