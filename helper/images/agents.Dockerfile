# The agents image: Leash's offline base, a current Node, and each agent CLI from the npm
# registry at the version pinned in helper/src/agents/versions.json. Built by
# scripts/build-agent-image.sh, which supplies the build context (Node and npm as the registry
# ships them) and the versions as build arguments.
#
# Each agent is installed in a stage of its own under /opt/agents/<agent>, and the final image
# copies each in: changing one agent's version rebuilds that agent's stage only.
#
# npm in the build trusts what the host's npm trusts (registry-ca.crt, from the context): a
# network that intercepts TLS needs its CA. The final image does not keep it.

FROM leash/base:latest AS node
COPY node.tgz npm.tgz /tmp/
RUN mkdir -p /usr/local/lib/node_modules/npm \
 && tar -xzf /tmp/node.tgz -C /usr/local --strip-components=1 package/bin/node \
 && tar -xzf /tmp/npm.tgz -C /usr/local/lib/node_modules/npm --strip-components=1 \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && rm /tmp/node.tgz /tmp/npm.tgz \
 && node --version && npm --version
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

FROM node AS claude
ARG CLAUDE_PACKAGE
ARG CLAUDE_VERSION
COPY registry-ca.crt /tmp/
RUN NPM_CONFIG_CAFILE=/tmp/registry-ca.crt npm install -g --prefix /opt/agents/claude --cache /tmp/npm-cache \
      "$CLAUDE_PACKAGE@$CLAUDE_VERSION" \
 && rm -rf /tmp/npm-cache && /opt/agents/claude/bin/claude --version

FROM node AS codex
ARG CODEX_PACKAGE
ARG CODEX_VERSION
COPY registry-ca.crt /tmp/
RUN NPM_CONFIG_CAFILE=/tmp/registry-ca.crt npm install -g --prefix /opt/agents/codex --cache /tmp/npm-cache \
      "$CODEX_PACKAGE@$CODEX_VERSION" \
 && rm -rf /tmp/npm-cache && /opt/agents/codex/bin/codex --version

FROM node AS gemini
ARG GEMINI_PACKAGE
ARG GEMINI_VERSION
COPY registry-ca.crt /tmp/
RUN NPM_CONFIG_CAFILE=/tmp/registry-ca.crt npm install -g --prefix /opt/agents/gemini --cache /tmp/npm-cache \
      "$GEMINI_PACKAGE@$GEMINI_VERSION" \
 && rm -rf /tmp/npm-cache && /opt/agents/gemini/bin/gemini --version

FROM node AS qwen
ARG QWEN_PACKAGE
ARG QWEN_VERSION
COPY registry-ca.crt /tmp/
RUN NPM_CONFIG_CAFILE=/tmp/registry-ca.crt npm install -g --prefix /opt/agents/qwen --cache /tmp/npm-cache \
      "$QWEN_PACKAGE@$QWEN_VERSION" \
 && rm -rf /tmp/npm-cache && /opt/agents/qwen/bin/qwen --version

FROM node AS opencode
ARG OPENCODE_PACKAGE
ARG OPENCODE_VERSION
COPY registry-ca.crt /tmp/
RUN NPM_CONFIG_CAFILE=/tmp/registry-ca.crt npm install -g --prefix /opt/agents/opencode --cache /tmp/npm-cache \
      "$OPENCODE_PACKAGE@$OPENCODE_VERSION" \
 && rm -rf /tmp/npm-cache && /opt/agents/opencode/bin/opencode --version

FROM node
COPY --from=claude /opt/agents/claude /opt/agents/claude
COPY --from=codex /opt/agents/codex /opt/agents/codex
COPY --from=gemini /opt/agents/gemini /opt/agents/gemini
COPY --from=qwen /opt/agents/qwen /opt/agents/qwen
COPY --from=opencode /opt/agents/opencode /opt/agents/opencode
CMD ["/bin/bash"]
