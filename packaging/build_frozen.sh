#!/usr/bin/env bash
# Build the one-folder app (packaging/securexchange.spec) and prove that it runs: --help,
# --version, the Dutch catalogue, and the whole demo, from the frozen folder alone.
#
#   bash packaging/build_frozen.sh            # build in a temporary directory, then remove it
#   bash packaging/build_frozen.sh DIST_DIR   # keep the app in DIST_DIR/securexchange/
#
# Uses the checkout's .venv (or $PYTHON) and installs PyInstaller into it when missing,
# at the version the `freeze` extra of pyproject.toml asks for. This runs on Linux in
# CI: it proves the freeze (every data file and lazily imported module is in the
# folder), not the Windows build, which docs/guides/windows-it.md describes.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}

if ! "$python" -c 'import PyInstaller' >/dev/null 2>&1; then
  # The requirement as the extra states it; not `pip install .[freeze]`, which would
  # replace the editable install the tests run against.
  mapfile -t wanted < <("$python" -c '
import tomllib
with open("pyproject.toml", "rb") as f:
    print(*tomllib.load(f)["project"]["optional-dependencies"]["freeze"], sep="\n")')
  echo "freeze: installing ${wanted[*]}"
  "$python" -m pip install -q "${wanted[@]}"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dist=${1:-$work/dist}
mkdir -p "$dist"
dist=$(cd "$dist" && pwd)

started=$SECONDS
"$python" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$dist" --workpath "$work/build" packaging/securexchange.spec
echo "freeze: built $dist/securexchange in $((SECONDS - started)) s, $(du -sh "$dist/securexchange" | cut -f1)"

app="$dist/securexchange/securexchange"
# Every data file of the package (catalogues, data/, the browser app's templates/ and
# static/) must be in the folder; the .po sources are the only files left out.
missing=$(find src/securexchange -type f ! -name '*.py' ! -name '*.pyc' ! -name '*.po' \
  ! -path '*/__pycache__/*' -printf '%P\n' | while read -r file; do
    [ -f "$dist/securexchange/_internal/securexchange/$file" ] || echo "$file"
  done)
if [ -n "$missing" ]; then
  echo "freeze: package data missing from the folder:" $missing >&2
  exit 1
fi
# Run away from the checkout and with no Python settings from outside, so nothing can be
# imported or read from the source tree: only what the folder holds.
cd "$work"
run() { env -u PYTHONPATH -u PYTHONHOME -u SECUREXCHANGE_HOME -u SECUREXCHANGE_LANG "$app" "$@"; }

run --version
run --help >/dev/null
# The Dutch catalogue (locale/nl/LC_MESSAGES/securexchange.mo) must be in the folder.
# (Output is kept before grep reads it: grep -q may stop reading early, and a writer
# cut off by that would fail the pipeline under pipefail.)
dutch=$(run --lang nl --help)
if ! grep -q '^Gebruik: securexchange' <<<"$dutch"; then
  echo "freeze: the frozen app shows no Dutch: its message catalogue is missing" >&2
  exit 1
fi
# The browser app, once there is one: its command must at least load and show its help.
commands=$(run municipality --help)
if grep -qE '^  app( |$)' <<<"$commands"; then
  run municipality app --help >/dev/null
fi
run demo --dir "$work/demo"
echo "freeze: the frozen app ran the demo"
