#!/usr/bin/env bash
# At the start of every CI job: point the job's repos at the latest snapshots,
# freeze the map so every later step sees the same snapshots.
set -euo pipefail
export CI_MIRRORS_URL=${CI_MIRRORS_URL:-http://mirrors.example.org/repos/yum/all_latest.json}
mirror-client freeze -o "$WORKSPACE/mirrors.yaml"
mirror-client --mirrors "$WORKSPACE/mirrors.yaml" /etc/yum.repos.d/*.repo automation/*.repos* /etc/mock/*.cfg
