/**
 * The environment for a Node program the extension starts (the `leash` CLI): the extension
 * host's own, without its IPC channel to VS Code. A Node child that inherits NODE_CHANNEL_FD
 * takes that descriptor for an IPC channel of its own: without one it aborts, and in
 * code-server's extension host the CLI's output never arrived.
 */
export function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy.NODE_CHANNEL_FD;
  delete copy.NODE_CHANNEL_SERIALIZATION_MODE;
  return copy;
}
