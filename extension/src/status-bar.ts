/** The status bar item: leashd's state, and this workspace's running sessions and denials. */
import * as vscode from 'vscode';
import * as config from './config';
import type { LiveEvents } from './live-events';

export function statusBar(live: LiveEvents): vscode.Disposable {
  const item = vscode.window.createStatusBarItem(
    'leash.status',
    vscode.StatusBarAlignment.Left,
    10,
  );
  item.name = 'Leash';
  item.command = 'workbench.view.extension.leash';
  const update = (): void => {
    if (live.state !== 'running') {
      item.text = live.state === 'connecting' ? '$(sync~spin) Leash' : '$(debug-disconnect) Leash';
      const state = live.state === 'connecting' ? 'connecting' : 'not reachable';
      item.tooltip = `Leash: leashd ${state} on ${config.socketPath()}`;
      item.backgroundColor =
        live.state === 'unreachable'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    } else {
      const folder = config.workspaceFolder()?.uri.fsPath;
      const { running, denials } = live.model.totals(folder);
      item.text = `$(shield) Leash: ${running} running, ${denials} denied`;
      item.tooltip =
        `Leash: leashd running on ${config.socketPath()}\n` +
        `${running} session(s) of this workspace running, ` +
        `${denials} denial(s) since the window opened`;
      item.backgroundColor = undefined;
    }
    item.show();
  };
  update();
  const sub = live.onDidChange(update);
  return vscode.Disposable.from(item, sub);
}
