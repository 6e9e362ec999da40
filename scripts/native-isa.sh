#!/bin/sh
# Records what the addon is compiled for (binding.gyp runs it next to the addon): the instruction-set
# extensions -march=native enables here, as compiler macros, and this CPU's /proc/cpuinfo flags. The
# addon may use any of those extensions, so lvseg refuses to load it on a CPU that lacks one
# (src/backends/native-addon.ts) instead of dying of an illegal instruction.
set -eu
{
  printf 'macros:'
  "${CXX:-g++}" -march=native -dM -E -x c++ /dev/null |
    grep -oE '__(SSE[0-9_]*|SSSE3|AVX[A-Z0-9_]*|FMA4?|BMI2?|F16C|POPCNT|LZCNT|MOVBE)__' |
    sed 's/^__//; s/__$//' | LC_ALL=C sort -u | tr '\n' ' '
  echo
  grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || echo 'flags:'
} > "$1.tmp"
mv "$1.tmp" "$1"
