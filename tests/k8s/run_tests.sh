#!/usr/bin/env bash
# Runs the Kubernetes manifest and chart tests (ctest label unit). Installs
# the pinned npm packages (package-lock.json) into tests/k8s/node_modules on
# first use; needs node and npm.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules/kubernetes-models ] || [ ! -d node_modules/js-yaml ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node --test
