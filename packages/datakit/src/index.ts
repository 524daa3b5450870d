/**
 * @kitbox/datakit: a git-compatible versioned filesystem served over 9P.
 *
 * What exists today: the git store with compare-and-swap branch updates. The 9P
 * filesystem, client, CLI and CI follow (issue #7); see README.md.
 */
export { DatakitError } from './errors.js';
export {
  Store,
  isValidBranchName,
  type CommitInput,
  type Oid,
  type Signature,
  type TreeEntry,
} from './store/store.js';
