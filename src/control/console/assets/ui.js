// What every view shares: the context it is given, reporting errors, and the two dialogs
// (confirm, lockout guard).
import { ApiError, tenantPath } from "./api.js";
import { byId, count, h, replace, when } from "./dom.js";

/**
 * @typedef {{token: string, admin: boolean, tenant: string | null, remember: boolean}} Session
 * @typedef {{api: import("./api.js").Api, session: Session, main: HTMLElement,
 *   notify: (text: string) => void, navigate: (hash: string) => void}} Context
 */

/** @param {string} text said in the status line (aria-live), "" to clear it */
export function notify(text) {
  replace(byId("notice"), text === "" ? null : h("p", {}, text));
}

/**
 * What to tell a person about an error.
 * @param {unknown} error
 * @returns {string}
 */
export function describeError(error) {
  if (!(error instanceof ApiError)) return `Something went wrong in the page: ${String(error)}`;
  switch (error.code) {
    case "AUTH_RATE_LIMITED":
      return `Too many failed sign-ins from this address: try again in ${error.retryAfter ?? 60} seconds.`;
    case "PRECONDITION_FAILED":
      return "The tenant changed since this page loaded it (in another tab, or by someone else). The page now shows it as it is: check, then try again.";
    default:
      return error.message;
  }
}

/**
 * Shows `error` in `region` (an element with role="alert"), with every problem the API listed.
 * @param {HTMLElement} region
 * @param {unknown} error
 */
export function showError(region, error) {
  const details =
    error instanceof ApiError && error.details.length > 1
      ? h(
          "ul",
          {},
          error.details.map((d) => h("li", {}, d.message)),
        )
      : null;
  replace(region, h("p", {}, describeError(error)), details);
}

/**
 * Asks for confirmation in the confirm dialog.
 * @param {{title: string, body: string[], ok: string}} question
 * @returns {Promise<boolean>}
 */
export function confirmAction(question) {
  const dialog = /** @type {HTMLDialogElement} */ (byId("confirm"));
  replace(byId("confirm-title"), question.title);
  replace(
    byId("confirm-body"),
    question.body.map((p) => h("p", {}, p)),
  );
  replace(byId("confirm-ok"), question.ok);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

/**
 * A refusal by the lockout guard: the connections the change would cut, and the choice to
 * apply it anyway (only once the confirmation is ticked) or to allow one of them first.
 * @param {ApiError} error
 * @returns {Promise<{force: true} | {allow: string} | null>}
 */
function askGuard(error) {
  const dialog = /** @type {HTMLDialogElement} */ (byId("guard"));
  const confirm = /** @type {HTMLInputElement} */ (byId("guard-confirm"));
  const force = /** @type {HTMLButtonElement} */ (byId("guard-force"));
  replace(byId("guard-message"), error.message);
  replace(
    byId("guard-cut"),
    h(
      "table",
      { class: "cards" },
      h("caption", {}, "Connections this change would refuse"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Identity", "Last source", "Last seen", "Allowed", "Denied", "Action"].map((c) =>
            h("th", { scope: "col" }, c),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        error.wouldCut.map((o) =>
          h(
            "tr",
            {},
            h("th", { scope: "row", class: "mono", "data-label": "Identity" }, o.identity),
            h("td", { class: "mono", "data-label": "Last source" }, o.lastSource ?? "—"),
            h("td", { "data-label": "Last seen" }, when(o.lastSeenAt)),
            h("td", { class: "num", "data-label": "Allowed" }, count(o.allowed)),
            h("td", { class: "num", "data-label": "Denied" }, count(o.denied)),
            h(
              "td",
              { "data-label": "Action" },
              h(
                "button",
                { value: `allow ${o.identity}`, class: "small" },
                o.provider === "public" ? "Allow this network" : "Allow this endpoint",
              ),
            ),
          ),
        ),
      ),
    ),
  );
  confirm.checked = false;
  force.disabled = true;
  confirm.onchange = () => {
    force.disabled = !confirm.checked;
  };
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        const value = dialog.returnValue;
        if (value === "force" && confirm.checked) resolve({ force: true });
        else if (value.startsWith("allow ")) resolve({ allow: value.slice("allow ".length) });
        else resolve(null);
      },
      { once: true },
    );
    dialog.returnValue = "";
    dialog.showModal();
  });
}

/**
 * Runs a change of a tenant's policy. A refusal by the lockout guard opens the guard dialog,
 * where "apply anyway" repeats the change with force and "allow" adds a rule instead. Says
 * what happened: "applied"; "allowed" (a rule instead of the change); "stale" (412: the tenant
 * had changed meanwhile); "none" (refused or cancelled). Errors are shown in `region`.
 * @param {Context} ctx
 * @param {string} tenant
 * @param {(force: boolean) => Promise<unknown>} change
 * @param {HTMLElement} region
 * @returns {Promise<"applied" | "allowed" | "stale" | "none">}
 */
export async function applyChange(ctx, tenant, change, region) {
  replace(region);
  /** @param {unknown} error @returns {"stale" | "none"} */
  const failed = (error) => {
    showError(region, error);
    return error instanceof ApiError && error.code === "PRECONDITION_FAILED" ? "stale" : "none";
  };
  try {
    await change(false);
    return "applied";
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "LOCKOUT_GUARD") return failed(error);
    const choice = await askGuard(error);
    if (choice === null) {
      ctx.notify("Nothing was changed.");
      return "none";
    }
    try {
      if ("force" in choice) {
        await change(true);
        return "applied";
      }
      await ctx.api.request("POST", tenantPath(tenant, "observed", choice.allow, "allow"));
      ctx.notify(`Added a rule for ${choice.allow}; the change itself was not made.`);
      return "allowed";
    } catch (again) {
      return failed(again);
    }
  }
}
