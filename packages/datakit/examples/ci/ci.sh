#!/bin/sh
# A continuous-integration system in a page of shell, on datakit (after moby/datakit's
# sample): for every new head of $BRANCH, check the commit out, run the project's test
# command on it, and commit PASSED or FAILED with the log to the $RESULTS branch.
#   DATAKIT_ADDR  the datakit server (unix:PATH or tcp!HOST!PORT)
#   GIT_DIR       the repository it serves (read with git to check commits out)
#   BRANCH        branch to test (master)      RESULTS  branch of results (ci-results)
#   TEST_CMD      test command, run in the checked-out tree (sh test.sh)
set -u
: "${DATAKIT_ADDR:?set DATAKIT_ADDR}" "${GIT_DIR:?set GIT_DIR}"
BRANCH=${BRANCH:-master}
RESULTS=${RESULTS:-ci-results}
TEST_CMD=${TEST_CMD:-sh test.sh}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
datakit branch create "$RESULTS" || exit 1
# One line per new head of $BRANCH (blank while the branch is empty).
datakit watch "$BRANCH" | while read -r head; do
  [ -n "$head" ] || continue
  # Tested already (a restart, or a head we went back to)?
  datakit read "branch/$RESULTS/ro/$head/status" >/dev/null 2>&1 && continue
  tree="$work/$head"
  mkdir -p "$tree"
  git --git-dir "$GIT_DIR" archive "$head" | tar -x -C "$tree"
  if (cd "$tree" && $TEST_CMD) >"$work/log" 2>&1; then status=PASSED; else status=FAILED; fi
  echo "$status" >"$work/status"
  datakit commit "$RESULTS" "CI: $status for $head" \
    --write "$head/status=$work/status" --write "$head/log=$work/log" >/dev/null &&
    echo "ci: $head $status"
  rm -rf "$tree"
done
