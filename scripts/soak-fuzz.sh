#!/usr/bin/env bash
# The fuzzing part of `make soak` (scripts/soak.sh calls it): each fuzz
# target runs for a fixed time and reports "soak: fuzz <target>: ..." lines.
# Stub until the fuzz targets land.
set -uo pipefail
echo "soak: fuzz: no fuzz targets yet"
