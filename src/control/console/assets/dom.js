// Building the page: elements made with h(), never from HTML strings, so that nothing the API
// returns (descriptions, labels, error messages) can become markup.

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, string | number | boolean | null | undefined | EventListener>} Attributes
 */

/**
 * An element: `attributes` are set as attributes ("on…" ones as event listeners; false and
 * null leave them out); children are nodes or text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attributes} [attributes]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

/**
 * @param {Element} parent
 * @param {(Child | Child[])[]} children
 */
function append(parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === "number" ? String(child) : child);
  }
}

/**
 * Replaces the content of `parent`, keeping the focus on the element with the same id if the
 * new content has one (a refresh must not throw the keyboard user back to the top).
 * @param {Element} parent
 * @param {...(Child | Child[])} children
 */
export function replace(parent, ...children) {
  const focused = document.activeElement;
  const focusedId = focused !== null && parent.contains(focused) ? focused.id : "";
  parent.replaceChildren();
  append(parent, children);
  if (focusedId !== "") {
    const again = document.getElementById(focusedId);
    if (again instanceof HTMLElement) again.focus();
  }
}

/** @param {string} id @returns {HTMLElement} */
export function byId(id) {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`no element #${id}`);
  return element;
}

/**
 * An element id for a value such as a rule id or an identity ("aws:vpce-…", "public:…/24").
 * @param {string} prefix
 * @param {string} value
 */
export function idFor(prefix, value) {
  return `${prefix}-${value.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const STEPS = /** @type {const} */ ([
  ["second", 60],
  ["minute", 60],
  ["hour", 24],
  ["day", 30],
  ["month", 12],
  ["year", Number.POSITIVE_INFINITY],
]);

/**
 * A <time> saying how long ago (or how far ahead) `iso` is, with the full date as its title;
 * `none` when there is no time.
 * @param {string | null} iso
 * @param {string} [none]
 */
export function when(iso, none = "never") {
  if (iso === null) return h("span", { class: "muted" }, none);
  const at = new Date(iso);
  let amount = (at.getTime() - Date.now()) / 1000;
  let unit = /** @type {Intl.RelativeTimeFormatUnit} */ ("second");
  for (const [name, size] of STEPS) {
    unit = name;
    if (Math.abs(amount) < size) break;
    amount /= size;
  }
  return h(
    "time",
    { datetime: iso, title: absolute.format(at) },
    relative.format(Math.round(amount), unit),
  );
}

const numbers = new Intl.NumberFormat();

/** @param {number} n */
export function count(n) {
  return numbers.format(n);
}
