/** The helper's one logger: one JSON object per line on stderr, with level, component and session. */

export type Level = 'debug' | 'info' | 'warn' | 'error';

const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: Level = (process.env.LEASH_LOG_LEVEL as Level | undefined) ?? 'info';

export function setLogLevel(level: Level): void {
  threshold = level;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

// When stderr fails (its reader is gone: EPIPE), the log has nowhere to go. Without this
// listener the failure is an uncaught exception, whose own log line fails again, forever.
let stderrGone = false;
process.stderr.on('error', () => {
  stderrGone = true;
});

export function logger(component: string, base: Record<string, unknown> = {}): Logger {
  const write = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (stderrGone || order[level] < order[threshold]) return;
    const line = { time: new Date().toISOString(), level, component, ...base, msg, ...fields };
    process.stderr.write(JSON.stringify(line) + '\n');
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => logger(component, { ...base, ...fields }),
  };
}
