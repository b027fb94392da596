// Up to this many entries are always listed; a longer list waits until someone reaches for it.
const ALWAYS_LISTED = 200;

/**
 * One of the toolbar's filter selects: an "all" option, then one option per entry.
 *
 * A viewer of ten thousand runs would hold ten thousand options and rebuild them whenever a run
 * is added or changes status. So a long list is not listed until someone reaches for the select
 * (focuses it with the keyboard, or presses a pointer on it, which comes before it opens): until
 * then it holds "all" and the selected value. Each update adds, removes or renames only the
 * options that changed (rebuilding them all would also close a select someone has open).
 */
export class FilterSelect {
  readonly #select: HTMLSelectElement;
  #filled = false;
  #all = "";
  #values: readonly string[] = [];
  #texts: readonly string[] = [];
  #value: string | undefined;
  /** The option of each value listed, with the text it shows. */
  #options = new Map<string, { option: HTMLOptionElement; text: string }>();

  constructor(select: HTMLSelectElement) {
    this.#select = select;
    const fill = () => {
      if (this.#filled) return;
      this.#filled = true;
      this.#draw();
    };
    select.addEventListener("focus", fill);
    select.addEventListener("pointerdown", fill);
  }

  /**
   * Shows `all` then `entries` (`[value, text]`), selecting `value` (`undefined`: all). A value
   * that is not among the entries (a filter naming a run not held yet) gets an option of its own.
   */
  show(all: string, entries: ReadonlyArray<readonly [string, string]>, value: string | undefined): void {
    const values: string[] = [];
    const texts: string[] = [];
    for (const [v, text] of entries) {
      values.push(v);
      texts.push(text);
    }
    if (value !== undefined && !values.includes(value)) {
      values.push(value);
      texts.push(value);
    }
    const same =
      all === this.#all &&
      value === this.#value &&
      values.length === this.#values.length &&
      values.every((v, i) => v === this.#values[i] && texts[i] === this.#texts[i]);
    if (same && this.#select.options.length > 0) return;
    this.#all = all;
    this.#values = values;
    this.#texts = texts;
    this.#value = value;
    this.#draw();
  }

  #draw(): void {
    const select = this.#select;
    const listed = new Map<string, { option: HTMLOptionElement; text: string }>();
    const wanted: HTMLOptionElement[] = [];
    const want = (value: string, text: string) => {
      let entry = this.#options.get(value);
      if (entry === undefined) entry = { option: new Option(text, value), text };
      else if (entry.text !== text) {
        entry.option.text = text;
        entry.text = text;
      }
      listed.set(value, entry);
      wanted.push(entry.option);
    };
    const everything = this.#filled || this.#values.length <= ALWAYS_LISTED;
    want("", this.#all);
    for (let i = 0; i < this.#values.length; i++) {
      const value = this.#values[i]!;
      if (everything || value === this.#value) want(value, this.#texts[i]!);
    }
    this.#options = listed;
    const keep = new Set<Node>(wanted);
    for (const child of Array.from(select.childNodes)) if (!keep.has(child)) select.removeChild(child);
    const current = select.childNodes;
    for (let i = 0; i < wanted.length; i++) {
      if (current[i] !== wanted[i]) select.insertBefore(wanted[i]!, current[i] ?? null);
    }
    if (select.value !== (this.#value ?? "")) select.value = this.#value ?? "";
  }
}
