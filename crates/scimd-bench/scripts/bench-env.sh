# Sourced by the issue-15 bench scripts (tenants-1000.sh, tenants-incremental.sh): where the
# binaries and the databases are, the ports of their servers (in one place, since
# tenants-incremental.sh drives the server "many" that tenants-1000.sh started), and how
# politely to run on a shared machine.
# Every variable the two scripts read has its default here, so both agree on them.
#
# Where and how: BIN (target/release), DIR (/tmp/b15), NICE (10), PORT_ONE (18501),
# PORT_MANY (18502), PORT_ONE1M (18503).
# tenants-1000.sh: TENANTS (1000), USERS (1000), ROUNDS (3), SECS (20 per round), PACE (0:
# every simulated tenant sends its next request when the last is answered, i.e. a closed
# loop of $TENANTS requests in flight; R > 0: at most R requests/s per simulated tenant, so
# $TENANTS × R requests/s offered in all, below saturation, for latencies without queueing).
# tenants-incremental.sh: RATE (17 requests/s per tenant at most), SPREAD (60 s over which
# the tenants' cycles start), CHANGES (100 per cycle).
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release}
DIR=${DIR:-/tmp/b15}
NICE=${NICE:-10}
PORT_ONE=${PORT_ONE:-18501}
PORT_MANY=${PORT_MANY:-18502}
PORT_ONE1M=${PORT_ONE1M:-18503}
N="nice -n $NICE"
# Older scimd-bench builds want a --token even when --tenants-file gives every tenant its own.
export SCIMD_BENCH_TOKEN=${SCIMD_BENCH_TOKEN:-unused}
TENANTS=${TENANTS:-1000}
USERS=${USERS:-1000}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-20}
PACE=${PACE:-0}
RATE=${RATE:-17}
SPREAD=${SPREAD:-60}
CHANGES=${CHANGES:-100}
