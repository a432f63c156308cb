// The console's entry point: signing in and out, and which view the address shows: #/ is an
// admin's tenant list, #/tenants/<id> one tenant. The token never goes in the address.
import { showTenants } from "./admin.js";
import { Api, ApiError, tenantPath } from "./api.js";
import { byId, h, replace } from "./dom.js";
import { leaveTenantView, showTenant } from "./tenant.js";
import { notify, showError } from "./ui.js";

/** @typedef {import("./ui.js").Session} Session */

/** Kept in session storage (this tab only, forgotten when it closes), and only when asked. */
const STORAGE_KEY = "linkgate.console.session";
const main = byId("main");

/** @type {Session | null} */
let session = null;
const api = new Api(() => signOut("The token was refused (revoked or wrong): sign in again."));

/** @param {Session | null} next */
function setSession(next) {
  session = next;
  api.setToken(next?.token ?? null);
  sessionStorage.removeItem(STORAGE_KEY);
  if (next?.remember) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  const who = byId("who");
  if (next === null) {
    replace(who);
    return;
  }
  replace(
    who,
    h("span", {}, next.admin ? "Admin" : `Tenant ${next.tenant}`),
    h(
      "button",
      { type: "button", id: "sign-out", class: "small", onclick: () => signOut("Signed out.") },
      "Sign out",
    ),
  );
}

/** @param {string} message */
function signOut(message) {
  if (session === null) return;
  setSession(null);
  notify(message);
  history.replaceState(null, "", location.pathname);
  showSignIn();
}

function showSignIn() {
  leaveTenantView();
  document.title = "Sign in · linkgate console";
  const error = h("div", { class: "error", role: "alert", id: "sign-in-error" });
  const token = h("input", {
    id: "token",
    name: "token",
    type: "password",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": "token-hint",
  });
  const tenant = h("input", {
    id: "tenant",
    name: "tenant",
    autocomplete: "off",
    autocapitalize: "none",
    spellcheck: "false",
    pattern: "[a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?",
    "aria-describedby": "tenant-hint",
  });
  const remember = h("input", { id: "remember", type: "checkbox" });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "panel narrow", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    h(
      "p",
      {},
      "Choose which private endpoints may reach your service: register them, see which ones connect, rehearse in report-only mode, then enforce.",
    ),
    h("label", { for: "token" }, "Token"),
    token,
    h(
      "p",
      { id: "token-hint", class: "hint" },
      "A tenant token (lgt_…) from your provider, or an admin token. The page keeps it in memory and sends it only to linkgate's API, never in the address.",
    ),
    h(
      "label",
      { for: "tenant" },
      "Tenant ",
      h("span", { class: "muted" }, "(with a tenant token)"),
    ),
    tenant,
    h(
      "p",
      { id: "tenant-hint", class: "hint" },
      "Your tenant id, as in your host names: megacorp. Admins may leave it empty to list every tenant.",
    ),
    h("label", { class: "check" }, remember, " Stay signed in while this tab is open"),
    error,
    h("div", { class: "actions" }, button),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(error);
    button.disabled = true;
    try {
      const next = await signIn(token.value.trim(), tenant.value.trim(), remember.checked);
      setSession(next);
      notify("");
      navigate(next.tenant === null ? "#/" : `#/tenants/${next.tenant}`);
    } catch (problem) {
      showError(error, problem);
      token.focus();
    } finally {
      button.disabled = false;
    }
  });
  replace(main, form);
  token.focus();
}

/**
 * Finds what the token is, before anything is kept. Tenant tokens are "lgt_…" (docs/api.md)
 * and read their own tenant; any other token is taken for an admin's and lists tenants (a
 * tenant token would be refused that with 403, and is then tried as one).
 * @param {string} token
 * @param {string} tenant
 * @param {boolean} remember
 * @returns {Promise<Session>}
 */
async function signIn(token, tenant, remember) {
  const probe = new Api(() => {});
  probe.setToken(token);
  if (!token.startsWith("lgt_")) {
    try {
      await probe.request("GET", "/v1/tenants", { query: { limit: 1 } });
      return { token, admin: true, tenant: tenant === "" ? null : tenant, remember };
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== "AUTH_FORBIDDEN") throw error;
    }
  }
  if (tenant === "") {
    throw new ApiError(400, "TENANT_REQUIRED", "This is a tenant token: enter your tenant id too.");
  }
  await probe.request("GET", tenantPath(tenant));
  return { token, admin: false, tenant, remember };
}

/** @param {string} hash */
function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** Shows the view the address asks for. */
function route() {
  if (session === null) {
    showSignIn();
    return;
  }
  const match = /^#\/tenants\/([a-z0-9-]{1,63})$/.exec(location.hash);
  const ctx = { api, session, main, notify, navigate };
  if (match !== null) {
    showTenant(ctx, match[1]);
    return;
  }
  leaveTenantView();
  if (session.admin) showTenants(ctx);
  else navigate(`#/tenants/${session.tenant}`);
}

/** @returns {Session | null} */
function storedSession() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null");
    return stored !== null && typeof stored.token === "string" ? stored : null;
  } catch {
    return null;
  }
}

window.addEventListener("hashchange", route);
setSession(storedSession());
route();
