#!/usr/bin/env bash
# Installs the Debian 12 packages that tegata's build and tests use, and only
# those that are missing. Safe to run again. Needs root (or sudo).
set -euo pipefail

packages=(
  # build
  cmake make gcc pkg-config git clang-format
  clang libclang-rt-14-dev          # fuzzers and sanitizers
  libssl-dev libmicrohttpd-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev
  libcmocka-dev                     # unit tests
  # integration tests: the real AWS clients, Debian's builds
  python3 python3-boto3 awscli python3-pytest python3-jwt python3-cryptography
  sqlite3 faketime                  # faketime: the expired-session test
  wrk                               # bench/ (run by hand)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q </dev/null
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
