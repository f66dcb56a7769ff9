/** DOM helpers of the site's script. Server strings only ever become text (textContent / text nodes), never HTML. */

type Root = ParentNode | null | undefined;

export function $<T extends Element = HTMLElement>(selector: string, root?: Root): T | null {
  return (root ?? document).querySelector<T>(selector);
}

export function $$<T extends Element = HTMLElement>(selector: string, root?: Root): T[] {
  return Array.from((root ?? document).querySelectorAll<T>(selector));
}

/** Like `$`, for an element the server always renders with its neighbours: missing means broken markup. */
export function must<T extends Element = HTMLElement>(selector: string, root?: Root): T {
  const node = $<T>(selector, root);
  if (!node) throw new Error(`the page has no ${selector}`);
  return node;
}

/** An element; `text` sets its text, `class` its class name, any other key an attribute. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Record<string, string>,
  children?: (string | Node)[],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children ?? []) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  return node;
}

export function show(node: Element | null, on: boolean): void {
  if (node) node.classList.toggle("hidden", !on);
}
