/** The Control UI page: wires the sessions, the policy editor and the live event table. */
import { ApiClient, EventStream, takeToken } from './api';
import { byId, showError } from './dom';
import { EventTable, readFilter, watchFilters } from './events';
import { PolicyEditor } from './policy';
import { SessionList } from './sessions';

const SESSION_POLL_MS = 2000;

function main(): void {
  const token = takeToken();
  if (!token) {
    showError('No token: open the address that `leash ui` prints (it ends in #token=…).');
    return;
  }
  const api = new ApiClient(token);
  const table = new EventTable(api);
  const editor = new PolicyEditor(api);
  const sessions = new SessionList(api, (s) => void editor.open(s));

  const conn = byId('conn');
  const stream = new EventStream(api, {
    event: (e) => table.add(e),
    live: () => {
      conn.textContent = 'live';
      conn.className = 'conn live';
    },
    down: (why) => {
      conn.textContent = why;
      conn.className = 'conn down';
    },
  });
  const restart = (): void => {
    table.clear();
    conn.textContent = 'loading…';
    conn.className = 'conn';
    stream.start(readFilter());
  };
  watchFilters(restart);
  restart();

  const poll = (): void => {
    sessions.refresh().catch((err: Error) => showError(err.message));
  };
  poll();
  window.setInterval(poll, SESSION_POLL_MS);
}

main();
