# Sourced by the issue-15 bench scripts (tenants-1000.sh, tenants-incremental.sh): where the
# binaries and the databases are, and how politely to run on a shared machine.
# Environment: BIN (target/release), DIR (/tmp/b15), NICE (10).
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release}
DIR=${DIR:-/tmp/b15}
NICE=${NICE:-10}
N="nice -n $NICE"
# Older scimd-bench builds want a --token even when --tenants-file gives every tenant its own.
export SCIMD_BENCH_TOKEN=${SCIMD_BENCH_TOKEN:-unused}
