#!/bin/sh
# `npm ci` / `npm install` run this: it builds the optional posix_spawn addon and the job keeper (binding.gyp). It never fails
# the install: without a compiler the daemon starts jobs through child_process and its log says why.
# Node's own headers are used when its installation has them (no download needed).
nodedir=$(node -p 'require("node:path").resolve(process.execPath, "../..")')
set --
if [ -f "$nodedir/include/node/node_api.h" ] && [ -f "$nodedir/include/node/uv.h" ]; then set -- "--nodedir=$nodedir"; fi
if node-gyp rebuild "$@" >&2; then exit 0; fi
echo "gotorch: the native spawner (posix_spawn) was not built; jobs will start through child_process" >&2
exit 0
