#!/usr/bin/env bash
# A new user's first run, several times: `make demo` in a fresh clone of HEAD with every cache
# empty, then `make stop`.
#
# Each run gets its own clone and its own empty caches: numba's JIT cache (NUMBA_CACHE_DIR), pip's
# (PIP_CACHE_DIR), the Neo4j jars (MMKG_CACHE) and Maven's repository (MAVEN_OPTS), so nothing a
# run compiled, downloaded or fetched helps the next one. Prints the machine, then one line per run
# (exit status, seconds), a line with the seconds of each step `make demo` ran (from the start of
# its command to the start of the next: the venv, the pinned Python packages, Java and Maven, the
# Neo4j jars and server start, then the demo's own mmkg commands) and a last line "N passed,
# M failed"; each run's output is kept in <work>/runN.log, every line prefixed with the seconds
# since the run started. The clones (a 6 GB venv each) are removed after their run.
#
#   bash bench/first_run.sh            # 3 runs
#   bash bench/first_run.sh 1          # 1 run
#   WARM_PIP=1 bash bench/first_run.sh # share one pip cache across runs (the download is ~5 GB)
#
# The demo's server uses its default ports (7687, 7474): stop any demo server of this machine
# first (`make stop`).
set -uo pipefail

runs=${1:-3}
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
work=$(mktemp -d -t mmkg-first-run-XXXXXX)
shared_pip=$work/pip

# Prefix each line with the seconds since $1 (the run's start).
stamp() { local line; while IFS= read -r line; do printf '%4d %s\n' $((EPOCHSECONDS - $1)) "$line"; done; }

# "step s, step s, ...": the seconds from each command make echoed to the next (the last to the
# end of the run, $2 seconds), named by what it does. `touch .venv/.installed` ends the Python
# install; the time after it until `mmkg db start` is make's silent system-deps check (and
# apt-get, when Java or Maven is missing).
steps() {
  awk -v end="$2" '
    function name(cmd) {
      if (cmd ~ /-m venv/) return "venv"
      if (cmd ~ /pip install .*requirements\.lock/) return "pip packages"
      if (cmd ~ /pip install .*-e \./) return "pip mmkg"
      if (cmd ~ /^touch /) return "java+maven"
      if (cmd ~ /mmkg db start/) return "neo4j jars+start"
      if (cmd ~ /mmkg (db init|sample-catalog|ingest|export|train|publish|recommend|db status)/) {
        sub(/^[^ ]*mmkg /, "", cmd); split(cmd, w, " ")
        return (w[1] == "db") ? "db " w[2] : w[1]
      }
      return ""
    }
    { t = $1; cmd = $0; sub(/^ *[0-9]+ /, "", cmd); n = name(cmd)
      if (n != "" && cmd ~ /^([^ ]*python[0-9.]* -m venv|\.venv\/bin\/|touch )/) {
        if (cur != "") { out = out sep cur " " (t - since); sep = ", " }
        cur = n; since = t } }
    END { if (cur != "") out = out sep cur " " (end - since); print out }
  ' "$1"
}
echo "machine: $(uname -srm), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git -C "$repo" rev-parse --short HEAD); command: ${WARM_PIP:+WARM_PIP=1 }bash bench/first_run.sh $runs; logs: $work"
passed=0
for i in $(seq 1 "$runs"); do
  run=$work/run$i
  mkdir -p "$run"/{numba,pip,jars,m2}
  git clone -q "$repo" "$run/mmkg"
  if [ -n "${WARM_PIP:-}" ]; then pip_cache=$shared_pip; else pip_cache=$run/pip; fi
  started=$(date +%s)
  (cd "$run/mmkg" && NUMBA_CACHE_DIR=$run/numba PIP_CACHE_DIR=$pip_cache MMKG_CACHE=$run/jars \
     MAVEN_OPTS="-Dmaven.repo.local=$run/m2" make demo) 2>&1 | stamp "$started" >"$work/run$i.log"
  status=${PIPESTATUS[0]}
  seconds=$(( $(date +%s) - started ))
  (cd "$run/mmkg" && make stop) >>"$work/run$i.log" 2>&1
  compiled=$(find "$run/numba" -name '*.nbi' | wc -l)
  if [ "$status" = 0 ]; then passed=$((passed + 1)); verdict=passed; else verdict=FAILED; fi
  echo "run $i: make demo $verdict (exit $status) in ${seconds} s; numba cache written: $compiled index file(s)"
  echo "    steps (s): $(steps "$work/run$i.log" "$seconds")"
  [ "$status" = 0 ] || tail -n 5 "$work/run$i.log" | sed 's/^/    /'
  rm -rf "$run"
done
echo "$passed passed, $((runs - passed)) failed"
[ "$passed" = "$runs" ]
