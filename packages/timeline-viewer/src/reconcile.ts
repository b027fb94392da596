/**
 * A description of one element to draw. Redraws patch the elements already there (matched by
 * `key` among siblings) instead of replacing them, so a live chart keeps its nodes: an open
 * tooltip, a test's element handle or a hover state survive each poll.
 */
export interface DrawNode {
  key: string;
  tag: string;
  className: string;
  attrs?: Record<string, string>;
  /** Inline CSS text, e.g. `left:10px;width:40px`. */
  style?: string;
  /** Text content; ignored when `children` is given. */
  text?: string;
  children?: DrawNode[];
}

interface Drawn {
  key: string;
  attrs: string[];
  /** The description the element was last patched to. */
  last: DrawNode | undefined;
}

const drawn = new WeakMap<Element, Drawn>();

function patch(node: HTMLElement, want: DrawNode, record: Drawn): void {
  // The same description object again (a row that did not change): the element already shows it.
  if (record.last === want) return;
  record.last = want;
  if (node.className !== want.className) node.className = want.className;
  const names = want.attrs === undefined ? [] : Object.keys(want.attrs);
  for (const name of record.attrs) if (!names.includes(name)) node.removeAttribute(name);
  for (const name of names) {
    const value = want.attrs![name]!;
    if (node.getAttribute(name) !== value) node.setAttribute(name, value);
  }
  record.attrs = names;
  const style = want.style ?? "";
  if (node.getAttribute("style") !== style) node.setAttribute("style", style);
  if (want.children !== undefined) reconcile(node, want.children);
  else if (node.textContent !== (want.text ?? "")) node.textContent = want.text ?? "";
}

/** Makes `parent`'s children match `wanted`, reusing children with the same key and tag. */
export function reconcile(
  parent: Element | DocumentFragment | ShadowRoot,
  wanted: readonly DrawNode[],
): void {
  const doc = parent.ownerDocument ?? (parent as unknown as Document);
  const existing = new Map<string, HTMLElement>();
  for (const child of Array.from(parent.children)) {
    const record = drawn.get(child);
    if (record !== undefined) existing.set(record.key, child as HTMLElement);
  }
  const nodes: HTMLElement[] = [];
  for (const want of wanted) {
    let node = existing.get(want.key);
    let record = node === undefined ? undefined : drawn.get(node);
    if (node === undefined || record === undefined || node.localName !== want.tag) {
      node = doc.createElement(want.tag);
      record = { key: want.key, attrs: [], last: undefined };
      drawn.set(node, record);
    } else {
      existing.delete(want.key);
    }
    patch(node, want, record);
    nodes.push(node);
  }
  // Moving a node resets its hover and tooltip: remove what is no longer wanted, then move or
  // insert only what is out of place. A scrolled window of rows loses some at one end and gains
  // some at the other; the rows in between stay where they are.
  const keep = new Set<Node>(nodes);
  for (const child of Array.from(parent.childNodes)) if (!keep.has(child)) parent.removeChild(child);
  const current = parent.childNodes;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (current[i] !== node) parent.insertBefore(node, current[i] ?? null);
  }
}
