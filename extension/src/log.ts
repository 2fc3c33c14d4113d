/** The extension's one logger: the "Leash" log output channel. */
import * as vscode from 'vscode';

export const log = vscode.window.createOutputChannel('Leash', { log: true });
