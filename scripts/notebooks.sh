#!/usr/bin/env bash
# Checks the Jupyter export end to end: runs the quickstart with the event engine into
# results/notebook-check, exports a notebook for it with `hybridsim export notebook`, validates
# every notebook under notebooks-export/ against the nbformat 4 schema and runs the exported one
# with a python3 kernel (pandas, matplotlib) in its own folder.
#
# Python packages go into .venv-notebooks (created when missing; nothing is registered globally).
# The hybridsim binary is $HYBRIDSIM, by default .build/debug/hybridsim (built by `make test`).
# Idempotent: the venv is reused while it holds the pinned versions, results/notebook-check is
# written afresh each time. Any failure stops the script with a message and a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."

HYBRIDSIM="${HYBRIDSIM:-.build/debug/hybridsim}"
VENV=.venv-notebooks
RESULTS=results/notebook-check
NOTEBOOKS=notebooks-export
# Versions on PyPI for Python 3.11 (pandas 3 needs 3.11 or newer).
PACKAGES=(nbformat==5.11.1 nbconvert==7.17.2 nbclient==0.11.0 ipykernel==7.4.0 pandas==3.1.1 matplotlib==3.11.2)

fail() { echo "notebooks: FAILED: $*" >&2; exit 1; }
say() { echo "notebooks: $*"; }


# The virtual environment, with exactly the pinned packages (a stamp file records what was installed).
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  python3 -m venv "$VENV" || fail "python3 -m venv $VENV failed (Debian: apt-get install python3-venv)"
fi
stamp="$VENV/.hybridsim-packages"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "${PACKAGES[*]}" ]; then
  say "installing ${PACKAGES[*]} into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PACKAGES[@]}" \
    || fail "pip could not install ${PACKAGES[*]} into $VENV"
  printf '%s' "${PACKAGES[*]}" > "$stamp"
fi
PYTHON="$VENV/bin/python"
# `--venv-only`: just make the environment (make test does this before the Swift tests, which then
# validate their fixture notebooks with it through HYBRIDSIM_PYTHON).
if [ "${1:-}" = "--venv-only" ]; then say "ready: $PYTHON"; exit 0; fi
[ -x "$HYBRIDSIM" ] || fail "no hybridsim binary at $HYBRIDSIM; build it (swift build --product hybridsim) or set HYBRIDSIM"
# Matplotlib's font cache and Jupyter's runtime files stay inside the venv.
export MPLCONFIGDIR="$PWD/$VENV/mplconfig" JUPYTER_RUNTIME_DIR="$PWD/$VENV/jupyter-runtime"
export JUPYTER_PLATFORM_DIRS=1

# Fresh results.
rm -rf "$RESULTS"
say "running: $HYBRIDSIM run scenarios/quickstart.yaml --engine event --out $RESULTS"
"$HYBRIDSIM" run scenarios/quickstart.yaml --engine event --out "$RESULTS" > /dev/null \
  || fail "hybridsim run scenarios/quickstart.yaml failed"

# The export.
# ArgumentParser answers --help after an unknown subcommand with the top-level help and status 0,
# so the command exists only when its own usage line comes back.
usage="$("$HYBRIDSIM" export notebook --help 2>&1 || true)"
if [[ "$usage" != *"USAGE: hybridsim export notebook"* ]]; then
  fail "$HYBRIDSIM has no 'export notebook' command (wanted: hybridsim export notebook $RESULTS); rebuild it once that command exists"
fi
marker="$(mktemp)"
trap 'rm -f "$marker"' EXIT
sleep 1  # so that a notebook written below is strictly newer than the marker on any file system
say "running: $HYBRIDSIM export notebook $RESULTS"
"$HYBRIDSIM" export notebook "$RESULTS" || fail "hybridsim export notebook $RESULTS failed"
mapfile -t exported < <(find "$NOTEBOOKS" "$RESULTS" -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' -newer "$marker" | sort)
[ "${#exported[@]}" -ge 1 ] || fail "hybridsim export notebook $RESULTS wrote no .ipynb under $NOTEBOOKS/ or $RESULTS/"
say "exported: ${exported[*]}"

# Validate every notebook under notebooks-export/ (and the exported ones), then run each exported one.
mapfile -t all < <( (find "$NOTEBOOKS" -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*'; printf '%s\n' "${exported[@]}") | sort -u)
"$PYTHON" scripts/validate_notebooks.py "${all[@]}" || fail "a notebook is not valid nbformat 4"
for notebook in "${exported[@]}"; do
  "$PYTHON" scripts/validate_notebooks.py --execute "$notebook" || fail "$notebook does not run"
done
say "ok: ${#all[@]} notebook(s) valid, ${#exported[@]} exported notebook(s) ran"
