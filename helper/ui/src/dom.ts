/**
 * The one way this page makes elements. Strings are only ever set as text, never parsed as
 * markup: paths, hosts and command names come from the workload and may hold anything.
 */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as T;
}

export function clear(node: Element): void {
  node.replaceChildren();
}

let errorTimer: number | undefined;

/** Shows a problem at the top of the page until the next one, or for a while. */
export function showError(message: string): void {
  const box = byId('error');
  box.textContent = message;
  box.hidden = false;
  window.clearTimeout(errorTimer);
  errorTimer = window.setTimeout(() => (box.hidden = true), 15_000);
}
