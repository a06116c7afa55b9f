# shellcheck shell=bash
# The pieces every script of kmod-ready shares (tests/run-all, tests/*/run,
# tests/fuzz, tests/get-node-exporter, packaging/build-packages;
# tests/bench/run through bash),
# sourced by each:   . "$(dirname "$0")/../scripts/lib.sh"   (from the script)
# It lives at the top of the checkout because tests and packaging both use
# it. It sets `top`, the checkout's absolute path, and `script_name`, the
# prefix of messages: the script's file name, or its directory's name for a
# file named `run` (tests/e2e/run says "e2e: ..."); set script_name before
# sourcing to choose another.
#
# Exit status of every script:
#   0  everything passed (or was built)
#   1  a check failed, or what was being built is wrong
#   2  the script could not run as asked: a usage error, not root, a tool it
#      could not install, a set-up step that failed
# A test script's last line is "N passed, M failed", which CI reads.

# (--help prints the block above; die exits 2, die_failed 1, summary prints
# the last line.)

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${script_name:-}" ]; then
    script_name=$(basename "$0")
    [ "$script_name" != run ] || script_name=$(basename "$(dirname "$0")")
fi

say() { printf '%s: %s\n' "$script_name" "$*" >&2; }
die() { say "error: $*"; exit 2; }
die_failed() { say "error: $*"; exit 1; }

# ---- renamed variables ------------------------------------------------------
# Every variable of the project starts with KMOD_READY_. Those below were
# KMODREADY_ in 0.1.0 and documented so (a CI configuration may set them): in
# the release that renames them an old name is still read, with a warning;
# the release after drops this list. The old name is unset once handled, so
# that the scripts a script runs do not warn again.
for _new in KMOD_READY_DEB KMOD_READY_PACKAGES KMOD_READY_MIRROR KMOD_READY_COMPAT_CACHE \
    KMOD_READY_E2E_CACHE KMOD_READY_E2E_JOBS KMOD_READY_E2E_TIMEOUT KMOD_READY_E2E_MEMORY \
    KMOD_READY_BENCH_CYCLES; do
    _old=KMODREADY_${_new#KMOD_READY_}
    if [ -n "${!_old+set}" ]; then
        if [ -n "${!_new+set}" ]; then
            say "warning: $_old is ignored: $_new is set (the old name goes in the next release)"
        else
            export "$_new=${!_old}"
            say "warning: $_old is renamed $_new; read as $_new for now (the old name goes in the next release)"
        fi
        unset "$_old"
    fi
done
unset _new _old

# ---- usage ------------------------------------------------------------------

# The script's header comment (from line 2 to the first line that is not a
# comment) and the exit statuses above. Help is not a run: no summary line.
print_help() {
    summary_printed=1
    awk 'NR > 1 { if (!/^#/) exit; sub(/^# ?/, ""); print }' "$0"
    echo
    awk 'NR > 1 && /^# Exit status/ { p = 1 } p { if (!/^#/) exit; sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"
}

# For a script that takes no arguments: --help prints the help, anything else
# is a usage error.
no_arguments() {
    case ${1-} in
    "") ;;
    -h | --help) print_help; exit 0 ;;
    *) die "unknown argument '$1' (it takes none; see --help)" ;;
    esac
}

# option_value OPTION ARG...: for an option parser's "$@": OPTION must be
# followed by a value.
option_value() { [ -n "${2:-}" ] || die "$1 needs a value (see --help)"; }

require_root() { [ "$(id -u)" = 0 ] || die "must run as root ($1)"; }

# ---- Debian packages ----------------------------------------------------------

# apt-get without questions, waiting for another apt's lock; its output goes
# to stderr (a script's stdout is its report).
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 "$@" >&2; }

# require_debian_packages PACKAGE...: installs those that are not installed
# (as root), without recommends. The package lists are updated only when apt
# does not know one of them (a fresh machine has no lists) or the install
# fails (lists older than the mirror).
require_debian_packages() {
    local missing=() pkg unknown=
    for pkg in "$@"; do
        dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    require_root "to install the Debian packages ${missing[*]}"
    say "installing ${missing[*]}"
    for pkg in "${missing[@]}"; do
        apt-cache show "$pkg" >/dev/null 2>&1 || unknown=1
    done
    [ -z "$unknown" ] || apt_get update || die "apt-get update failed"
    apt_get install -y --no-install-recommends "${missing[@]}" && return 0
    # Lists not updated yet may be older than the mirror: update them and retry.
    [ -z "$unknown" ] && apt_get update && apt_get install -y --no-install-recommends "${missing[@]}" ||
        die "apt-get could not install ${missing[*]}"
}

# ---- counting checks ------------------------------------------------------------

passed=0 failed=0 summary_printed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
# fail NAME [DETAILS]: DETAILS (what went wrong) is shown indented below.
fail() {
    failed=$((failed + 1))
    echo "FAIL $1"
    [ -z "${2:-}" ] || sed 's/^/     | /' <<<"$2"
}

# summary [WHAT]: the last line, "[WHAT: ]N passed, M failed"; its status is
# 0 when nothing failed.
summary() {
    summary_printed=1
    echo "${1:+$1: }$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# For an EXIT trap: a run that stops before its summary (a set-up error, a
# signal) still ends with one, counting N (default 1) more failures for what
# did not run.
summary_at_exit() {
    [ "$summary_printed" = 0 ] || return 0
    failed=$((failed + (${1:-1} > 0 ? ${1:-1} : 1)))
    summary || true
}

# ---- the crate and its builds ------------------------------------------------

# The version in Cargo.toml's [package] section.
crate_version() {
    awk -F'"' '/^\[/ { p = ($0 == "[package]") } p && /^version *=/ { print $2; exit }' "$top/Cargo.toml"
}

# Reads cargo's --message-format=json output; prints the path of the
# kmod-ready executable it built (what cargo reports, never a guessed path).
cargo_executable() {
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1] and m.get("executable"):
        print(m["executable"])' "${1:-kmod-ready}" | tail -1
}

# needed_glibc BINARY: the highest GLIBC_ symbol version BINARY needs.
needed_glibc() {
    readelf -V --wide "$1" | grep -o 'Name: GLIBC_[0-9.]*' | sed 's/.*GLIBC_//' | sort -V | tail -1
}

# version_at_most A B: version A is B or older.
version_at_most() { [ "$(printf '%s\n' "$1" "$2" | sort -V | tail -1)" = "$2" ]; }

# build_packages LOG: runs packaging/build-packages, its output in LOG; on
# failure shows LOG's end and stops.
build_packages() {
    (cd "$top" && packaging/build-packages) >"$1" 2>&1 ||
        { tail -40 "$1" >&2; die "packaging/build-packages failed (log: $1)"; }
}

# debian_mirror: the Debian archive this machine's apt already uses (the
# bookworm stanza, not -security or -updates), for tools that fetch from it.
debian_mirror() {
    local f=/etc/apt/sources.list.d/debian.sources
    if [ -r "$f" ]; then
        awk -v RS= '/(^|\n)Suites:([^\n]* )?bookworm( |\n|$)/ {
            if (match($0, /URIs: *[^ \n]+/)) { split(substr($0, RSTART, RLENGTH), u, / +/); print u[2]; exit } }' "$f"
    else
        awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' \
            /etc/apt/sources.list
    fi
}

# candidate_versions PACKAGE...: "PACKAGE VERSION", a line for each package
# apt has a candidate of, from one apt-cache call (each call reads the
# whole package cache).
candidate_versions() {
    apt-cache policy "$@" 2>/dev/null |
        awk '/^[^ ].*:$/ { p = substr($0, 1, length($0) - 1) } /^ *Candidate:/ && $2 != "(none)" { print p, $2 }'
}

# candidates_of PACKAGE...: candidate_versions, after an apt-get update if
# apt has no candidate of one of them; dies naming the first it lacks.
candidates_of() {
    local found p
    found=$(candidate_versions "$@")
    if [ "$(wc -l <<<"$found")" -lt $# ] || [ -z "$found" ]; then
        apt_get update || die "apt-get update failed"
        found=$(candidate_versions "$@")
    fi
    for p in "$@"; do
        grep -q "^$p " <<<"$found" || die "apt knows no $p: add Debian's main to the apt sources"
    done
    echo "$found"
}

# Unpacks Debian packages (never installs them), all of one version, into a
# cache directory outside the clone, and prints it: NAME is the cache's
# subdirectory, PACKAGE... the packages (the first one's candidate version
# is asked of the rest too). KMOD_READY_TEST_CACHE, default
# /var/cache/kmod-ready-tests, holds one directory per NAME and version;
# later runs only print it. The files are under DIR/root.
unpacked_debian_packages() {
    local name=$1 candidate
    shift
    candidate=$(candidates_of "$1") || exit
    unpacked_debian_packages_at "$name" "${candidate#* }" "$@"
}

# unpacked_debian_packages_at NAME VERSION PACKAGE...: the same, for a
# version already known (see candidates_of).
unpacked_debian_packages_at() {
    local name=$1 candidate=$2 dir p
    shift 2
    dir=${KMOD_READY_TEST_CACHE:-/var/cache/kmod-ready-tests}/$name/${candidate//[:+~]/_}
    if [ ! -f "$dir/unpacked" ]; then
        rm -rf "$dir.new" && mkdir -p "$dir.new"
        for p in "$@"; do
            (cd "$dir.new" && apt-get -q -o APT::Sandbox::User=root download "$p=$candidate" >&2) ||
                die "apt-get download $p=$candidate failed"
        done
        for p in "$dir.new"/*.deb; do dpkg-deb -x "$p" "$dir.new/root" || die "dpkg-deb -x of ${p##*/} failed"; done
        touch "$dir.new/unpacked"
        # Whole or not at all: a run killed half-way leaves only $dir.new.
        rm -rf "$dir" && mv "$dir.new" "$dir"
    fi
    echo "$dir"
}

