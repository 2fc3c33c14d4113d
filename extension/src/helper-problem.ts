/**
 * Why leashd could not be used, in words for a notification, and the fixes to offer. Pure: the
 * gRPC status code and the socket's state come in, so the wording is unit-tested.
 */

export type ProblemKind = 'not-running' | 'no-permission' | 'refused';

export interface HelperProblem {
  kind: ProblemKind;
  message: string;
  /** Buttons for the notification, in order. */
  fixes: Fix[];
}

export type Fix = 'Start Helper' | 'Show Log' | 'Open Settings';

/** grpc.status.UNAVAILABLE: nothing answered on the socket. */
const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;

export type SocketState = 'missing' | 'no-access' | 'present';

/**
 * `code` is the gRPC status code (undefined for errors that never reached gRPC), `details`
 * leashd's own message when it answered.
 */
export function helperProblem(
  socket: string,
  socketState: SocketState,
  code: number | undefined,
  details: string,
): HelperProblem {
  if (code === UNAVAILABLE || code === DEADLINE_EXCEEDED) {
    if (socketState === 'no-access') {
      return {
        kind: 'no-permission',
        message:
          `Leash: no permission to use leashd's socket ${socket}. Join the \`leash\` group ` +
          '(then log in again), or point the setting leash.socketPath at a socket you may use.',
        fixes: ['Open Settings', 'Show Log'],
      };
    }
    const why = socketState === 'missing' ? 'there is no socket' : 'nothing answers on it';
    return {
      kind: 'not-running',
      message: `Leash: leashd is not running on ${socket} (${why}). Start it to run sessions.`,
      fixes: ['Start Helper', 'Open Settings', 'Show Log'],
    };
  }
  return {
    kind: 'refused',
    message: `Leash: leashd refused: ${details || 'no reason given'}`,
    fixes: ['Show Log'],
  };
}
