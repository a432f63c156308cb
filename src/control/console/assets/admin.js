// An admin's view: every tenant, and a form to create one (tokens are minted on a tenant's page).
import { ApiError } from "./api.js";
import { byId, count, h, replace } from "./dom.js";
import { showError } from "./ui.js";

/**
 * @typedef {import("./ui.js").Context} Context
 * @typedef {import("./api.js").Tenant} Tenant
 */

const PAGE = 100;

/** @param {Context} ctx */
export async function showTenants(ctx) {
  document.title = "Tenants · linkgate console";
  const error = h("div", { class: "error", role: "alert", id: "tenants-error" });
  const list = h("div", { id: "tenants-table" });
  replace(
    ctx.main,
    h("h1", { id: "tenants-title", tabindex: "-1" }, "Tenants"),
    error,
    h("section", { class: "panel", "aria-labelledby": "tenants-title" }, list),
    createForm(ctx),
  );
  /** @type {Tenant[]} */
  const tenants = [];
  /** @type {string | null} */
  let cursor = null;
  const more = async () => {
    try {
      const page = await ctx.api.request("GET", "/v1/tenants", { query: { limit: PAGE, cursor } });
      tenants.push(...page.items);
      cursor = page.nextCursor;
      render();
    } catch (problem) {
      if (!(problem instanceof ApiError && problem.status === 401)) showError(error, problem);
    }
  };
  const render = () =>
    replace(
      list,
      tenants.length === 0
        ? h("p", { class: "empty" }, "No tenants yet: create the first one below.")
        : h(
            "table",
            { class: "cards" },
            h("caption", { class: "visually-hidden" }, "Tenants"),
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Tenant", "Mode", "Rules", "Host names", "Managed by"].map((c) =>
                  h("th", { scope: "col" }, c),
                ),
              ),
            ),
            h(
              "tbody",
              {},
              tenants.map((t) =>
                h(
                  "tr",
                  {},
                  h(
                    "th",
                    { scope: "row", "data-label": "Tenant" },
                    h("a", { href: `#/tenants/${t.id}` }, t.id),
                  ),
                  h(
                    "td",
                    { "data-label": "Mode" },
                    h(
                      "span",
                      { class: t.enforcement === "enforce" ? "badge ok" : "badge warn" },
                      t.enforcement,
                    ),
                  ),
                  h(
                    "td",
                    { class: "num", "data-label": "Rules" },
                    t.allow === null ? "no list" : count(t.allow.rules.length),
                  ),
                  h(
                    "td",
                    { "data-label": "Host names" },
                    t.hostnames.join(", ") || "from patterns",
                  ),
                  h(
                    "td",
                    { "data-label": "Managed by" },
                    t.managedBy === "api" ? "API" : "config file",
                  ),
                ),
              ),
            ),
          ),
      cursor !== null
        ? h(
            "div",
            { class: "actions" },
            h(
              "button",
              { type: "button", class: "secondary", id: "tenants-more", onclick: more },
              "Show more",
            ),
          )
        : null,
    );
  await more();
  byId("tenants-title").focus();
}

/** @param {Context} ctx */
function createForm(ctx) {
  const error = h("div", { class: "error", role: "alert", id: "create-error" });
  const id = h("input", {
    id: "new-id",
    name: "id",
    required: true,
    autocomplete: "off",
    autocapitalize: "none",
    spellcheck: "false",
    pattern: "[a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?",
    "aria-describedby": "new-id-hint",
  });
  const hostnames = h("input", {
    id: "new-hostnames",
    name: "hostnames",
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": "new-hostnames-hint",
  });
  const upstream = h("input", {
    id: "new-upstream",
    name: "upstream",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "10.0.9.9:443",
    "aria-describedby": "new-upstream-hint",
  });
  const enforce = h("input", { id: "new-enforce", type: "checkbox" });
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "create-title" },
    h("h2", { id: "create-title" }, "Create a tenant"),
    h("label", { for: "new-id" }, "Tenant id"),
    id,
    h(
      "p",
      { id: "new-id-hint", class: "hint" },
      "Lower-case letters, digits and hyphens: the {tenant} of your host patterns.",
    ),
    h(
      "label",
      { for: "new-hostnames" },
      "Host names ",
      h("span", { class: "muted" }, "(optional)"),
    ),
    hostnames,
    h(
      "p",
      { id: "new-hostnames-hint", class: "hint" },
      "Separated by spaces or commas, beside those the host patterns give.",
    ),
    h("label", { for: "new-upstream" }, "Upstream ", h("span", { class: "muted" }, "(optional)")),
    upstream,
    h(
      "p",
      { id: "new-upstream-hint", class: "hint" },
      "host:port; empty for the configuration's routing.upstream.",
    ),
    h(
      "label",
      { class: "check" },
      enforce,
      " Enforce from the start (otherwise report-only, so the tenant can rehearse)",
    ),
    error,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Create tenant")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(error);
    /** @type {Record<string, unknown>} */
    const body = { id: id.value.trim(), enforcement: enforce.checked ? "enforce" : "report-only" };
    const names = hostnames.value.split(/[\s,]+/).filter((n) => n !== "");
    if (names.length > 0) body.hostnames = names;
    if (upstream.value.trim() !== "") body.upstream = upstream.value.trim();
    try {
      const created = await ctx.api.request("POST", "/v1/tenants", { body });
      ctx.notify(`Created tenant ${created.id}.`);
      ctx.navigate(`#/tenants/${created.id}`);
    } catch (problem) {
      showError(error, problem);
      id.focus();
    }
  });
  return form;
}
