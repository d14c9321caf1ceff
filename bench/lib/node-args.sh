# shellcheck shell=bash
# The flags the CLI's shebang gives Node (`#!/usr/bin/env -S node <flags>`, src/cli/main.ts):
# the benches start `node <flags> main.js`, so that Tessera runs as the `tessera` command does.
#   read -ra NODE_ARGS < <(cli_node_args "$CLI")
cli_node_args() {
  local first prefix='#!/usr/bin/env -S node'
  IFS= read -r first < "$1" || true
  if [[ $first != "$prefix"* ]]; then echo "bench: $1 does not start with '$prefix'" >&2; return 1; fi
  echo "${first#"$prefix"}"
}
