# shellcheck shell=bash
# The flags the CLI's shebang gives Node (`#!/usr/bin/env -S node <flags>`, src/cli/main.ts):
# the benches start `node <flags> main.js`, so that Tessera runs as the `tessera` command does.
#   read_node_args NODE_ARGS "$CLI" || exit 1     then   node "${NODE_ARGS[@]}" "$CLI" ...
cli_node_args() {
  local first prefix='#!/usr/bin/env -S node'
  IFS= read -r first < "$1" || true
  if [[ $first != "$prefix"* ]]; then echo "bench: $1 does not start with '$prefix'" >&2; return 1; fi
  echo "${first#"$prefix"}"
}

# read_node_args ARRAY CLI: the flags of CLI's shebang into the array named ARRAY.
read_node_args() {
  local flags
  flags=$(cli_node_args "$2") || return 1
  read -ra "$1" <<< "$flags"
}
