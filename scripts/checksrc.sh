#!/usr/bin/env bash
# Source checks that a compiler does not make (STYLE.md rule 12): banned
# functions and the checked-in clang-format style. Exits 1 on a finding.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src tests bench -name '*.[ch]')

banned='\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|sscanf|gets)[[:space:]]*\('
if grep -nE "$banned" $files; then
  echo "checksrc: banned functions above (STYLE.md rule 12)"
  status=1
fi

if command -v clang-format >/dev/null; then
  for f in $files; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
      echo "checksrc: $f is not in the .clang-format style (run clang-format -i $f)"
      status=1
    fi
  done
else
  echo "checksrc: clang-format not installed"
  status=1
fi
[ $status -eq 0 ] && echo "checksrc: $(echo "$files" | wc -l) files clean"
exit $status
