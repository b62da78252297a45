#!/usr/bin/env bash
# Runs a command with libtorch 2.11.0 (the version tch =0.24.0 binds) available to build and run.
#
# Why a script: tch links against the libtorch inside a PyTorch wheel (LIBTORCH_USE_PYTORCH=1). The
# wheel is ~4.7 GB, so it lives in a venv cached outside the clone and is reused when present:
#   ${SSMVAE_CACHE:-$HOME/.cache/ssmvae}/venv-torch-2.11.0
# Only PyPI is contacted, and only when the venv is missing or broken.
#
# Usage: trainer/scripts/with-libtorch.sh <command> [args...]
#   e.g. trainer/scripts/with-libtorch.sh cargo test --workspace
set -euo pipefail

TORCH_VERSION="2.11.0"
CACHE="${SSMVAE_CACHE:-$HOME/.cache/ssmvae}"
VENV="$CACHE/venv-torch-$TORCH_VERSION"
PY="${PYTHON:-python3}"

MARKER="$VENV/.ssmvae-torch-lib"

# The marker holds torch's lib/ path and is written last, after torch imported once: an
# interrupted install leaves no marker and is redone, never trusted. Later runs only read it.
have_torch() {
  [ -f "$MARKER" ] && [ -d "$(cat "$MARKER")" ] && [ -x "$VENV/bin/python" ]
}

if ! have_torch; then
  echo "ssmvae: creating $VENV with torch==$TORCH_VERSION (first run only; ~4.7 GB, a few minutes)" >&2
  mkdir -p "$CACHE"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "torch==$TORCH_VERSION" >&2; then
    rm -rf "$VENV"
    echo "ssmvae: installing torch==$TORCH_VERSION from PyPI failed (is PyPI reachable?)" >&2
    exit 1
  fi
  "$VENV/bin/python" - "$TORCH_VERSION" >"$MARKER.tmp" 2>/dev/null <<'PY' || { rm -rf "$VENV"; echo "ssmvae: torch in $VENV does not import" >&2; exit 1; }
import os, sys, warnings
warnings.simplefilter("ignore")
import torch
assert torch.__version__.split("+")[0] == sys.argv[1], torch.__version__
print(os.path.join(os.path.dirname(torch.__file__), "lib"))
PY
  mv "$MARKER.tmp" "$MARKER"
fi

TORCH_LIB="$(cat "$MARKER")"
export LIBTORCH_USE_PYTORCH=1
export PATH="$VENV/bin:$PATH"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

if [ "$#" -eq 0 ]; then
  echo "libtorch ready: $TORCH_LIB" >&2
  exit 0
fi
exec "$@"
