#!/usr/bin/env bash
# Installs the system libraries hark uses when they are missing (Debian/Ubuntu):
#   libportaudio2  - microphone input through sounddevice
#   espeak-ng      - synthetic speech for audio tests and benchmarks
#   sphinxtrain, sphinxbase-utils, pocketsphinx - bw/map_adapt, sphinx_fe and mdef conversion for acoustic-model adaptation
#                    (training/adapt_asr.py; never used at recognition time)
# Safe to run repeatedly: does nothing when everything is present. Without root or apt it only warns.
set -u
missing=()
for pkg in libportaudio2 espeak-ng sphinxtrain sphinxbase-utils pocketsphinx; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "warning: cannot install ${missing[*]} (no apt-get); audio features will be limited" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "warning: need root to install ${missing[*]}; audio features will be limited" >&2
    exit 0
  fi
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "warning: apt-get could not install ${missing[*]}; audio features will be limited" >&2
exit 0
