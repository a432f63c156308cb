// The console's entry point: signing in and out, and which view the address shows: #/ is an
// admin's tenant list, #/tenants/<id> one tenant. The token never goes in the address.
import { showTenants } from "./admin.js";
import { Api } from "./api.js";
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
    h("label", { class: "check" }, remember, " Stay signed in while this tab is open"),
    error,
    h("div", { class: "actions" }, button),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(error);
    button.disabled = true;
    try {
      const next = await signIn(token.value.trim(), remember.checked);
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
 * Asks the API what the token is (GET /v1/whoami), before anything is kept: an admin's lists
 * the tenants, a tenant's opens its own tenant.
 * @param {string} token
 * @param {boolean} remember
 * @returns {Promise<Session>}
 */
async function signIn(token, remember) {
  const probe = new Api(() => {});
  probe.setToken(token);
  const who = /** @type {{kind: string, tenant: string | null}} */ (
    await probe.request("GET", "/v1/whoami")
  );
  if (who.kind === "admin") return { token, admin: true, tenant: null, remember };
  return { token, admin: false, tenant: /** @type {string} */ (who.tenant), remember };
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
