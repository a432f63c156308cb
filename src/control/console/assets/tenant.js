// One tenant: its enforcement and public-internet switches, its rules (with the add form), the
// identities seen reaching it, its tokens and its history.
import { ApiError, tenantPath } from "./api.js";
import { byId, count, h, idFor, replace, when } from "./dom.js";
import { applyChange, confirmAction, showError } from "./ui.js";
import { cidrProblem, endpointProblem, expiryProblem } from "./validate.js";

/**
 * @typedef {import("./ui.js").Context} Context
 * @typedef {import("./api.js").Tenant} Tenant
 * @typedef {import("./api.js").Rule} Rule
 * @typedef {import("./api.js").Observed} Observed
 * @typedef {import("./api.js").AuditEntry} AuditEntry
 * @typedef {import("./api.js").Token} Token
 * @typedef {"aws" | "azure" | "gcp" | "cidr"} RuleKind
 */

/** How often the page reads the tenant and its observed identities again while shown. */
const REFRESH_MS = 5000;
const DAY_MS = 24 * 3600 * 1000;
const AUDIT_PAGE = 20;

/** The decision codes of docs/observability.md, as a customer reads them. */
const REASONS = /** @type {Record<string, string>} */ ({
  POLICY_NO_RESTRICTION: "allowed: no allow list yet",
  POLICY_LINK_ALLOWED: "allowed by the rule for this endpoint",
  POLICY_LINK_CIDR_ALLOWED: "allowed by a rule for this endpoint and source range",
  POLICY_CIDR_ALLOWED: "allowed by a source range rule",
  POLICY_PUBLIC_ALLOWED: "allowed: public internet is on",
  POLICY_LINK_NOT_ALLOWED: "no rule for this endpoint",
  POLICY_LINK_SOURCE_NOT_ALLOWED: "source outside this endpoint's ranges",
  POLICY_PUBLIC_NOT_ALLOWED: "no range holds the source, public internet off",
  POLICY_REVOKED: "closed: a change revoked its permission",
});

const DENIALS = new Set([
  "POLICY_LINK_NOT_ALLOWED",
  "POLICY_LINK_SOURCE_NOT_ALLOWED",
  "POLICY_PUBLIC_NOT_ALLOWED",
]);

/** Where each cloud shows the ID the rule needs. */
const KINDS =
  /** @type {Record<RuleKind, {label: string, field: string, placeholder: string, hint: string}>} */ ({
    aws: {
      label: "AWS VPC endpoint",
      field: "VPC endpoint ID",
      placeholder: "vpce-0123456789abcdef0",
      hint: "“vpce-” and 17 hex digits. In the AWS console: VPC › Endpoints, column “VPC endpoint ID”; or run aws ec2 describe-vpc-endpoints --query 'VpcEndpoints[].VpcEndpointId'.",
    },
    azure: {
      label: "Azure private endpoint",
      field: "LinkID",
      placeholder: "553665985",
      hint: "A number, not the endpoint's resource GUID: the Private Link Service you connect to records it as the connection's linkIdentifier. Simplest: connect once through the endpoint in report-only mode, then use “Allow this endpoint” under Observed identities.",
    },
    gcp: {
      label: "GCP Private Service Connect endpoint",
      field: "PSC connection ID",
      placeholder: "18446744072646845442",
      hint: "A number of up to 20 digits. Run gcloud compute forwarding-rules describe ENDPOINT --region REGION --format='value(pscConnectionId)'.",
    },
    cidr: {
      label: "Public source range only",
      field: "",
      placeholder: "",
      hint: "For connections over the public internet. A range alone never admits Private Link traffic: the same private addresses exist in every customer's network.",
    },
  });

/** The view shown now; a refresh timer of an older one stops itself. */
let shown = 0;

/** Stops the tenant view's refreshes: another view, or the sign-in form, replaces it. */
export function leaveTenantView() {
  shown++;
}

/**
 * @param {Context} ctx
 * @param {string} id
 */
export function showTenant(ctx, id) {
  const generation = ++shown;
  document.title = `${id} · linkgate console`;
  replace(ctx.main, h("p", { class: "muted" }, `Loading ${id}…`));
  new TenantView(ctx, id, () => generation === shown).start();
}

class TenantView {
  /** @type {Tenant | null} */
  tenant = null;
  /** @type {Observed[]} */
  observed = [];
  /** @type {string | null} */
  observedCursor = null;
  /** @type {AuditEntry[]} */
  audit = [];
  /** @type {string | null} */
  auditCursor = null;
  /** @type {Token[]} */
  tokens = [];

  /**
   * @param {Context} ctx
   * @param {string} id
   * @param {() => boolean} current whether this view is still the one shown
   */
  constructor(ctx, id, current) {
    this.ctx = ctx;
    this.id = id;
    this.current = current;
    this.error = h("div", { class: "error", role: "alert", id: "tenant-error" });
    this.policy = h("section", { "aria-labelledby": "policy-title", class: "panel" });
    this.rules = h("div", { id: "rules-table" });
    this.ruleError = h("div", { class: "error", role: "alert", id: "rule-error" });
    this.observedBox = h("div", { id: "observed-table" });
    this.tokensBox = h("div", { id: "tokens-table" });
    this.auditBox = h("div", { id: "audit-table" });
  }

  async start() {
    try {
      await this.load();
    } catch (error) {
      if (!this.current()) return;
      if (error instanceof ApiError && error.code === "TENANT_NOT_FOUND") this.showNotFound();
      else if (!(error instanceof ApiError && error.status === 401)) {
        replace(this.ctx.main, this.error);
        showError(this.error, error);
      }
      return;
    }
    if (!this.current()) return;
    this.render();
    this.schedule();
  }

  showNotFound() {
    document.title = "Not found · linkgate console";
    replace(
      this.ctx.main,
      h(
        "section",
        { class: "panel narrow", "aria-labelledby": "not-found-title" },
        h("h1", { id: "not-found-title" }, "Tenant not found"),
        h(
          "p",
          { role: "alert" },
          `There is no tenant “${this.id}”, or not one this token may see.`,
        ),
        this.ctx.session.admin
          ? h("p", {}, h("a", { href: "#/" }, "All tenants"))
          : h("p", {}, h("a", { href: `#/tenants/${this.ctx.session.tenant}` }, "Your tenant")),
      ),
    );
    byId("not-found-title").focus();
  }

  /** Reads the tenant and everything shown about it. */
  async load() {
    const { api } = this.ctx;
    const [tenant, observed, audit, tokens] = await Promise.all([
      api.request("GET", tenantPath(this.id)),
      this.readOptional(() =>
        api.request("GET", tenantPath(this.id, "observed"), { query: { limit: 1000 } }),
      ),
      this.readOptional(() =>
        api.request("GET", tenantPath(this.id, "audit"), { query: { limit: AUDIT_PAGE } }),
      ),
      this.readOptional(() => api.all(tenantPath(this.id, "tokens"))),
    ]);
    this.tenant = tenant;
    this.observed = observed?.items ?? [];
    this.observedCursor = observed?.nextCursor ?? null;
    this.audit = audit?.items ?? [];
    this.auditCursor = audit?.nextCursor ?? null;
    this.tokens = tokens ?? [];
  }

  /**
   * Observed identities, tokens and the audit log live in the store: without one they answer
   * STORE_NOT_CONFIGURED, and the view shows the rest.
   * @template T
   * @param {() => Promise<T>} read
   * @returns {Promise<T | null>}
   */
  async readOptional(read) {
    try {
      return await read();
    } catch (error) {
      if (error instanceof ApiError && error.code === "STORE_NOT_CONFIGURED") return null;
      throw error;
    }
  }

  /** Reads the tenant and the observed identities again every few seconds while shown. */
  schedule() {
    setTimeout(async () => {
      if (!this.current()) return;
      if (document.visibilityState === "visible" && !document.querySelector("dialog[open]")) {
        try {
          await this.refresh();
        } catch (error) {
          // A 401 signs out (the Api does it); other failures show and the timer goes on.
          if (this.current()) showError(this.error, error);
        }
      }
      if (this.current()) this.schedule();
    }, REFRESH_MS);
  }

  /** Reads the tenant and its observed identities again and redraws them (the focus stays). */
  async refresh() {
    const { api } = this.ctx;
    const [tenant, observed] = await Promise.all([
      api.request("GET", tenantPath(this.id)),
      this.readOptional(() =>
        api.request("GET", tenantPath(this.id, "observed"), { query: { limit: 1000 } }),
      ),
    ]);
    if (!this.current()) return;
    const changedPolicy = tenant.etag !== this.tenant?.etag;
    this.tenant = tenant;
    this.observed = observed?.items ?? [];
    this.observedCursor = observed?.nextCursor ?? null;
    this.renderPolicy();
    this.renderRules();
    this.renderObserved();
    if (changedPolicy) await this.reloadAudit();
  }

  /** After a change: everything again. */
  async reload() {
    await this.load();
    if (!this.current()) return;
    this.renderPolicy();
    this.renderRules();
    this.renderObserved();
    this.renderTokens();
    this.renderAudit();
  }

  async reloadAudit() {
    const audit = await this.readOptional(() =>
      this.ctx.api.request("GET", tenantPath(this.id, "audit"), { query: { limit: AUDIT_PAGE } }),
    );
    this.audit = audit?.items ?? [];
    this.auditCursor = audit?.nextCursor ?? null;
    this.renderAudit();
  }

  get tenantOf() {
    return /** @type {Tenant} */ (this.tenant);
  }

  get readOnly() {
    return this.tenantOf.managedBy === "config";
  }

  render() {
    const t = this.tenantOf;
    const admin = this.ctx.session.admin;
    replace(
      this.ctx.main,
      admin
        ? h(
            "nav",
            { "aria-label": "Breadcrumb", class: "crumbs" },
            h("a", { href: "#/" }, "All tenants"),
            " › ",
            t.id,
          )
        : null,
      h("h1", { id: "tenant-title", tabindex: "-1" }, t.id),
      h(
        "p",
        { class: "muted" },
        t.hostnames.length > 0
          ? `Host names: ${t.hostnames.join(", ")}`
          : "Host names from the host patterns",
      ),
      this.readOnly
        ? h(
            "p",
            { class: "note" },
            "This tenant is defined in linkgate's configuration file: the console shows it but cannot change it. Ask your linkgate operator.",
          )
        : null,
      this.error,
      this.policy,
      h(
        "section",
        { class: "panel", "aria-labelledby": "rules-title" },
        h("h2", { id: "rules-title" }, "Rules"),
        h("p", { class: "muted" }, "What may connect. Hits are counted about once a second."),
        this.rules,
        this.readOnly ? null : this.addRuleForm(),
      ),
      h(
        "section",
        { class: "panel", "aria-labelledby": "observed-title" },
        h(
          "div",
          { class: "section-head" },
          h("h2", { id: "observed-title" }, "Observed identities"),
          h(
            "button",
            {
              type: "button",
              class: "small secondary",
              id: "observed-refresh",
              onclick: () => this.refreshNow(),
            },
            "Refresh",
          ),
        ),
        h(
          "p",
          { class: "muted" },
          "Every private endpoint, and every public source network, that connected to your host names, with what your rules did. In report-only mode “denied” counts the connections that enforcing would refuse.",
        ),
        this.observedBox,
      ),
      h(
        "section",
        { class: "panel", "aria-labelledby": "audit-title" },
        h("h2", { id: "audit-title" }, "History"),
        this.auditBox,
      ),
      h(
        "section",
        { class: "panel", "aria-labelledby": "tokens-title" },
        h("h2", { id: "tokens-title" }, "API tokens"),
        this.tokensBox,
        admin ? this.mintForm() : null,
      ),
    );
    this.renderPolicy();
    this.renderRules();
    this.renderObserved();
    this.renderTokens();
    this.renderAudit();
    byId("tenant-title").focus();
  }

  async refreshNow() {
    try {
      await this.refresh();
      this.ctx.notify("Up to date.");
    } catch (error) {
      showError(this.error, error);
    }
  }

  /**
   * Runs a change (through the lockout guard), then shows the tenant as it is now.
   * @param {(force: boolean) => Promise<unknown>} change
   * @param {HTMLElement} region
   * @returns {Promise<boolean>} whether the change was made
   */
  async change(change, region) {
    const outcome = await applyChange(this.ctx, this.id, change, region);
    if (outcome !== "none" && this.current()) {
      try {
        await this.reload();
      } catch (error) {
        showError(this.error, error);
      }
    }
    return outcome === "applied";
  }

  /** @param {boolean} force */
  forceQuery(force) {
    return force ? { force: true } : {};
  }

  renderPolicy() {
    const t = this.tenantOf;
    const enforcing = t.enforcement === "enforce";
    const policyError = h("div", { class: "error", role: "alert", id: "policy-error" });
    const publicOn = t.allow === null || t.allow.publicInternet;
    replace(
      this.policy,
      h("h2", { id: "policy-title" }, "Policy"),
      h(
        "div",
        { class: "switch-row" },
        h(
          "button",
          {
            type: "button",
            role: "switch",
            id: "enforce-switch",
            "aria-checked": String(enforcing),
            "aria-labelledby": "enforce-label",
            "aria-describedby": "enforce-state",
            disabled: this.readOnly,
            onclick: () => this.setEnforcement(enforcing ? "report-only" : "enforce", policyError),
          },
          h("span", { class: "knob", "aria-hidden": "true" }),
        ),
        h(
          "div",
          {},
          h("span", { id: "enforce-label", class: "switch-label" }, "Enforce"),
          h(
            "p",
            { id: "enforce-state", class: "hint" },
            enforcing
              ? "Enforcing: connections your rules do not admit are refused."
              : "Report-only: nothing is refused; connections your rules would refuse are let through and counted as denied.",
          ),
        ),
      ),
      h(
        "div",
        { class: "switch-row" },
        h(
          "button",
          {
            type: "button",
            role: "switch",
            id: "public-switch",
            "aria-checked": String(publicOn),
            "aria-labelledby": "public-label",
            "aria-describedby": "public-state",
            disabled: this.readOnly || t.allow === null,
            onclick: () => this.setPublicInternet(!publicOn, policyError),
          },
          h("span", { class: "knob", "aria-hidden": "true" }),
        ),
        h(
          "div",
          {},
          h("span", { id: "public-label", class: "switch-label" }, "Public internet"),
          h(
            "p",
            { id: "public-state", class: "hint" },
            t.allow === null
              ? "No allow list yet: every connection is admitted, public or private. Your first rule starts the list."
              : publicOn
                ? "Connections from any public address are admitted."
                : "Public connections need a source range rule.",
          ),
        ),
      ),
      policyError,
    );
  }

  /**
   * @param {"enforce" | "report-only"} enforcement
   * @param {HTMLElement} region
   */
  async setEnforcement(enforcement, region) {
    if (enforcement === "enforce") {
      const since = Date.now() - DAY_MS;
      const refused = this.observed.filter(
        (o) => DENIALS.has(o.lastReason) && new Date(o.lastSeenAt).getTime() >= since,
      );
      if (refused.length > 0) {
        const ok = await confirmAction({
          title: "Enforce this policy?",
          body: [
            `Your rules would refuse ${refused.length === 1 ? "this identity" : `these ${refused.length} identities`}, seen in the last 24 hours: ${refused.map((o) => o.identity).join(", ")}.`,
            "Once enforced, their connections are refused. Allow them first if they are yours.",
          ],
          ok: "Enforce",
        });
        if (!ok) return;
      }
    }
    const done = await this.change(
      (force) =>
        this.ctx.api.request("PATCH", tenantPath(this.id), {
          body: { enforcement },
          ifMatch: this.tenantOf.etag,
          query: this.forceQuery(force),
        }),
      region,
    );
    if (done)
      this.ctx.notify(
        enforcement === "enforce" ? "Enforcing." : "Report-only: nothing is refused.",
      );
  }

  /**
   * @param {boolean} publicInternet
   * @param {HTMLElement} region
   */
  async setPublicInternet(publicInternet, region) {
    const done = await this.change(
      (force) =>
        this.ctx.api.request("PATCH", tenantPath(this.id), {
          body: { allow: { publicInternet } },
          ifMatch: this.tenantOf.etag,
          query: this.forceQuery(force),
        }),
      region,
    );
    if (done)
      this.ctx.notify(publicInternet ? "Public internet admitted." : "Public internet off.");
  }

  renderRules() {
    const t = this.tenantOf;
    const rules = t.allow?.rules ?? [];
    if (rules.length === 0) {
      replace(
        this.rules,
        h(
          "p",
          { class: "empty" },
          t.allow === null
            ? "No rules: every connection is admitted."
            : "No rules: only what the public internet switch admits.",
        ),
      );
      return;
    }
    replace(
      this.rules,
      h(
        "table",
        { class: "cards" },
        h("caption", { class: "visually-hidden" }, "Rules"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Rule", "Description", "Hits", "Last hit", "Expires", "Action"].map((c) =>
              h("th", { scope: "col" }, c),
            ),
          ),
        ),
        h(
          "tbody",
          {},
          rules.map((r) =>
            h(
              "tr",
              { id: idFor("rule", r.id) },
              h("th", { scope: "row", class: "mono", "data-label": "Rule" }, ruleText(r)),
              h(
                "td",
                { "data-label": "Description" },
                r.description ?? h("span", { class: "muted" }, "—"),
              ),
              h("td", { class: "num", "data-label": "Hits" }, count(r.hits)),
              h("td", { "data-label": "Last hit" }, when(r.lastHitAt)),
              h(
                "td",
                { "data-label": "Expires" },
                r.expired
                  ? h("span", { class: "badge warn" }, "expired")
                  : when(r.expiresAt, "never"),
              ),
              h(
                "td",
                { "data-label": "Action" },
                this.readOnly
                  ? null
                  : h(
                      "button",
                      {
                        type: "button",
                        class: "small danger",
                        id: idFor("delete", r.id),
                        "aria-label": `Delete rule ${ruleText(r)}`,
                        onclick: () => this.deleteRule(r),
                      },
                      "Delete",
                    ),
              ),
            ),
          ),
        ),
      ),
    );
  }

  /** @param {Rule} rule */
  async deleteRule(rule) {
    const ok = await confirmAction({
      title: "Delete this rule?",
      body: [
        `${ruleText(rule)}${rule.description ? ` (${rule.description})` : ""}`,
        "Connections that only this rule admits are refused from now on, and live ones closed.",
      ],
      ok: "Delete",
    });
    if (!ok) return;
    const done = await this.change(
      (force) =>
        this.ctx.api.request("DELETE", tenantPath(this.id, "rules", rule.id), {
          ifMatch: this.tenantOf.etag,
          query: this.forceQuery(force),
        }),
      this.ruleError,
    );
    if (done) {
      this.ctx.notify(`Deleted rule ${ruleText(rule)}.`);
      byId("rules-title").setAttribute("tabindex", "-1");
      byId("rules-title").focus();
    }
  }

  addRuleForm() {
    const kind = h(
      "select",
      { id: "rule-kind", name: "kind" },
      Object.entries(KINDS).map(([value, k]) => h("option", { value }, k.label)),
    );
    const endpoint = h("input", {
      id: "rule-endpoint",
      name: "endpoint",
      autocomplete: "off",
      autocapitalize: "none",
      spellcheck: "false",
      "aria-describedby": "rule-endpoint-hint rule-endpoint-problem",
    });
    const endpointLabel = h("label", { for: "rule-endpoint", id: "rule-endpoint-label" });
    const endpointHint = h("p", { id: "rule-endpoint-hint", class: "hint" });
    const endpointProblemText = h("p", { id: "rule-endpoint-problem", class: "problem" });
    const endpointField = h(
      "div",
      { class: "field" },
      endpointLabel,
      endpoint,
      endpointHint,
      endpointProblemText,
    );
    const cidr = h("input", {
      id: "rule-cidr",
      name: "cidr",
      autocomplete: "off",
      spellcheck: "false",
      placeholder: "203.0.113.0/24",
      "aria-describedby": "rule-cidr-hint rule-cidr-problem",
    });
    const cidrLabel = h("label", { for: "rule-cidr" });
    const cidrHint = h("p", { id: "rule-cidr-hint", class: "hint" });
    const cidrProblemText = h("p", { id: "rule-cidr-problem", class: "problem" });
    const description = h("input", {
      id: "rule-description",
      name: "description",
      maxlength: 1024,
      autocomplete: "off",
    });
    const expires = h("input", {
      id: "rule-expires",
      name: "expires",
      type: "datetime-local",
      "aria-describedby": "rule-expires-hint rule-expires-problem",
    });
    const expiresProblemText = h("p", { id: "rule-expires-problem", class: "problem" });
    const submit = h("button", { type: "submit" }, "Add rule");

    /** @returns {RuleKind} */
    const kindOf = () => /** @type {RuleKind} */ (kind.value);
    const endpointValue = () => {
      const k = kindOf();
      const text = endpoint.value.trim();
      return text.startsWith(`${k}:`) ? text.slice(k.length + 1) : text;
    };
    /** @type {Record<string, boolean>} */
    const touched = {};
    const problems = () => {
      const k = kindOf();
      const cidrText = cidr.value.trim();
      return {
        endpoint:
          k === "cidr"
            ? null
            : endpointValue() === ""
              ? "enter the ID"
              : endpointProblem(k, endpointValue()),
        cidr: cidrText === "" ? (k === "cidr" ? "enter a range" : null) : cidrProblem(cidrText),
        expires: expiryProblem(expires.value, Date.now()),
      };
    };
    /** @param {boolean} all show every problem (on submit), not only those of touched fields */
    const check = (all) => {
      const p = problems();
      for (const [input, text, problem] of /** @type {const} */ ([
        [endpoint, endpointProblemText, p.endpoint],
        [cidr, cidrProblemText, p.cidr],
        [expires, expiresProblemText, p.expires],
      ])) {
        const show = problem !== null && (all || touched[input.id]);
        if (show) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
        replace(text, show ? problem : null);
      }
      return p;
    };
    const describeKind = () => {
      const k = KINDS[kindOf()];
      const isRange = kindOf() === "cidr";
      endpointField.hidden = isRange;
      replace(endpointLabel, k.field);
      endpoint.setAttribute("placeholder", k.placeholder);
      replace(endpointHint, k.hint);
      replace(
        cidrLabel,
        isRange ? "Source range (CIDR)" : "Only from these source addresses (CIDR, optional)",
      );
      replace(
        cidrHint,
        isRange ? k.hint : "Leave empty to admit the endpoint whatever the address behind it.",
      );
      check(false);
    };
    for (const input of [endpoint, cidr, expires]) {
      input.addEventListener("input", () => {
        if (input.value !== "") touched[input.id] = true;
        check(false);
      });
      input.addEventListener("blur", () => {
        touched[input.id] = true;
        check(false);
      });
    }
    kind.addEventListener("change", describeKind);

    const form = h(
      "form",
      { class: "add-rule", "aria-labelledby": "add-rule-title", novalidate: true },
      h("h3", { id: "add-rule-title" }, "Add a rule"),
      h("label", { for: "rule-kind" }, "Connections through"),
      kind,
      endpointField,
      h("div", { class: "field" }, cidrLabel, cidr, cidrHint, cidrProblemText),
      h(
        "div",
        { class: "field" },
        h(
          "label",
          { for: "rule-description" },
          "Description ",
          h("span", { class: "muted" }, "(optional)"),
        ),
        description,
      ),
      h(
        "div",
        { class: "field" },
        h(
          "label",
          { for: "rule-expires" },
          "Expires ",
          h("span", { class: "muted" }, "(optional)"),
        ),
        expires,
        h(
          "p",
          { id: "rule-expires-hint", class: "hint" },
          "In your time zone. The rule stops admitting then; it stays listed until deleted.",
        ),
        expiresProblemText,
      ),
      this.ruleError,
      h("div", { class: "actions" }, submit),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(this.ruleError);
      const p = check(true);
      const first = [
        [endpoint, p.endpoint],
        [cidr, p.cidr],
        [expires, p.expires],
      ].find(([, problem]) => problem !== null);
      if (first !== undefined) {
        /** @type {HTMLElement} */ (first[0]).focus();
        return;
      }
      const k = kindOf();
      /** @type {Record<string, string>} */
      const body = {};
      if (k !== "cidr") body.link = `${k}:${endpointValue()}`;
      if (cidr.value.trim() !== "") body.cidr = cidr.value.trim();
      if (description.value.trim() !== "") body.description = description.value.trim();
      if (expires.value !== "") body.expiresAt = new Date(expires.value).toISOString();
      submit.disabled = true;
      try {
        const done = await this.change(
          (force) =>
            this.ctx.api.request("POST", tenantPath(this.id, "rules"), {
              body,
              ifMatch: this.tenantOf.etag,
              query: this.forceQuery(force),
            }),
          this.ruleError,
        );
        if (done) {
          form.reset();
          for (const key of Object.keys(touched)) delete touched[key];
          describeKind();
          this.ctx.notify(`Added rule ${body.link ?? body.cidr}.`);
          endpoint.focus();
        }
      } finally {
        submit.disabled = false;
      }
    });
    describeKind();
    return form;
  }

  /** @param {Observed} o the rule that admits exactly this identity, if any */
  ruleFor(o) {
    const rules = this.tenantOf.allow?.rules ?? [];
    if (o.provider === "public") {
      const network = o.identity.slice("public:".length);
      return rules.find((r) => r.link === null && r.cidr === network);
    }
    return rules.find((r) => r.link === o.identity && r.cidr === null);
  }

  renderObserved() {
    if (this.observed.length === 0) {
      replace(
        this.observedBox,
        h(
          "p",
          { class: "empty" },
          "Nothing has connected yet. Connect once through your endpoint (report-only mode refuses nothing) and it appears here within seconds.",
        ),
      );
      return;
    }
    const sorted = [...this.observed].sort((a, b) => b.lastSeenAt.localeCompare(a.lastSeenAt));
    replace(
      this.observedBox,
      h(
        "table",
        { class: "cards" },
        h("caption", { class: "visually-hidden" }, "Observed identities"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            [
              "Identity",
              "Last source",
              "Allowed",
              "Denied",
              "Last seen",
              "Last reason",
              "Action",
            ].map((c) => h("th", { scope: "col" }, c)),
          ),
        ),
        h(
          "tbody",
          {},
          sorted.map((o) => {
            const rule = this.ruleFor(o);
            return h(
              "tr",
              { id: idFor("observed", o.identity) },
              h("th", { scope: "row", class: "mono", "data-label": "Identity" }, o.identity),
              h(
                "td",
                { "data-label": "Last source" },
                h(
                  "span",
                  {},
                  h("span", { class: "mono" }, o.lastSource ?? "—"),
                  h("span", { class: "muted" }, ` via ${o.listener}`),
                ),
              ),
              h("td", { class: "num", "data-label": "Allowed" }, count(o.allowed)),
              h("td", { class: "num", "data-label": "Denied" }, count(o.denied)),
              h("td", { "data-label": "Last seen" }, when(o.lastSeenAt)),
              h(
                "td",
                { "data-label": "Last reason" },
                h(
                  "span",
                  {
                    class: DENIALS.has(o.lastReason) ? "badge warn" : "badge ok",
                    title: o.lastReason,
                  },
                  REASONS[o.lastReason] ?? o.lastReason,
                ),
              ),
              h(
                "td",
                { "data-label": "Action" },
                rule !== undefined
                  ? h("span", { class: "muted" }, "has a rule")
                  : this.readOnly
                    ? null
                    : h(
                        "button",
                        {
                          type: "button",
                          class: "small",
                          id: idFor("allow", o.identity),
                          "aria-label": `Allow ${o.identity}`,
                          onclick: () => this.allowObserved(o),
                        },
                        o.provider === "public" ? "Allow this network" : "Allow this endpoint",
                      ),
              ),
            );
          }),
        ),
      ),
      this.observedCursor !== null
        ? h("p", { class: "muted" }, "Showing the first 1000 identities.")
        : null,
    );
  }

  /** @param {Observed} o */
  async allowObserved(o) {
    const done = await this.change(
      (force) =>
        this.ctx.api.request("POST", tenantPath(this.id, "observed", o.identity, "allow"), {
          ifMatch: this.tenantOf.etag,
          query: this.forceQuery(force),
        }),
      this.error,
    );
    if (done) {
      this.ctx.notify(`Added a rule for ${o.identity}.`);
      byId("observed-title").setAttribute("tabindex", "-1");
      byId("observed-title").focus();
    }
  }

  renderTokens() {
    if (this.tokens.length === 0) {
      replace(this.tokensBox, h("p", { class: "empty" }, "No tokens."));
      return;
    }
    replace(
      this.tokensBox,
      h(
        "table",
        { class: "cards" },
        h("caption", { class: "visually-hidden" }, "API tokens"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Label", "Created", "Last used", "State", "Action"].map((c) =>
              h("th", { scope: "col" }, c),
            ),
          ),
        ),
        h(
          "tbody",
          {},
          this.tokens.map((token) =>
            h(
              "tr",
              {},
              h(
                "th",
                { scope: "row", "data-label": "Label" },
                token.label ?? h("span", { class: "muted" }, token.id),
              ),
              h("td", { "data-label": "Created" }, when(token.createdAt)),
              h("td", { "data-label": "Last used" }, when(token.lastUsedAt)),
              h(
                "td",
                { "data-label": "State" },
                token.revokedAt === null
                  ? h("span", { class: "badge ok" }, "active")
                  : h("span", { class: "badge" }, "revoked"),
              ),
              h(
                "td",
                { "data-label": "Action" },
                token.revokedAt === null
                  ? h(
                      "button",
                      {
                        type: "button",
                        class: "small danger",
                        id: idFor("revoke", token.id),
                        "aria-label": `Revoke token ${token.label ?? token.id}`,
                        onclick: () => this.revokeToken(token),
                      },
                      "Revoke",
                    )
                  : null,
              ),
            ),
          ),
        ),
      ),
    );
  }

  /** @param {Token} token */
  async revokeToken(token) {
    const ok = await confirmAction({
      title: "Revoke this token?",
      body: [
        `Token ${token.label ?? token.id} is refused from its next request on. If this page signed in with it, you are signed out.`,
      ],
      ok: "Revoke",
    });
    if (!ok) return;
    try {
      await this.ctx.api.request("DELETE", tenantPath(this.id, "tokens", token.id));
      this.ctx.notify(`Revoked token ${token.label ?? token.id}.`);
      await this.reload();
    } catch (error) {
      if (this.current()) showError(this.error, error);
    }
  }

  mintForm() {
    const label = h("input", {
      id: "token-label",
      name: "label",
      maxlength: 200,
      autocomplete: "off",
    });
    const result = h("div", { id: "token-result", "aria-live": "polite" });
    const error = h("div", { class: "error", role: "alert", id: "token-error" });
    const form = h(
      "form",
      { "aria-labelledby": "mint-title", class: "mint" },
      h("h3", { id: "mint-title" }, "Mint a token for this tenant"),
      h(
        "label",
        { for: "token-label" },
        "Label ",
        h("span", { class: "muted" }, "(optional, e.g. terraform)"),
      ),
      label,
      error,
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Mint token")),
      result,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(error);
      try {
        const body = label.value.trim() === "" ? {} : { label: label.value.trim() };
        const minted = await this.ctx.api.request("POST", tenantPath(this.id, "tokens"), { body });
        form.reset();
        replace(result, secretBox(minted.token));
        byId("token-secret").focus();
        this.tokens = await this.ctx.api.all(tenantPath(this.id, "tokens"));
        this.renderTokens();
        await this.reloadAudit();
      } catch (problem) {
        showError(error, problem);
      }
    });
    return form;
  }

  renderAudit() {
    if (this.audit.length === 0) {
      replace(this.auditBox, h("p", { class: "empty" }, "No changes yet."));
      return;
    }
    const more = h(
      "button",
      {
        type: "button",
        class: "small secondary",
        id: "audit-more",
        onclick: async () => {
          try {
            const page = await this.ctx.api.request("GET", tenantPath(this.id, "audit"), {
              query: { limit: AUDIT_PAGE, cursor: this.auditCursor },
            });
            this.audit.push(...page.items);
            this.auditCursor = page.nextCursor;
            this.renderAudit();
          } catch (error) {
            showError(this.error, error);
          }
        },
      },
      "Show older changes",
    );
    replace(
      this.auditBox,
      h(
        "table",
        { class: "cards" },
        h("caption", { class: "visually-hidden" }, "History of changes, newest first"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["When", "Who", "What"].map((c) => h("th", { scope: "col" }, c)),
          ),
        ),
        h(
          "tbody",
          {},
          this.audit.map((entry) =>
            h(
              "tr",
              {},
              h("td", { "data-label": "When" }, when(entry.at)),
              h("td", { class: "mono", "data-label": "Who" }, entry.actor),
              h("td", { "data-label": "What" }, auditText(entry)),
            ),
          ),
        ),
      ),
      this.auditCursor !== null ? h("div", { class: "actions" }, more) : null,
    );
  }
}

/** @param {{link: string | null, cidr: string | null}} rule */
function ruleText(rule) {
  if (rule.link !== null && rule.cidr !== null) return `${rule.link} from ${rule.cidr}`;
  return rule.link ?? rule.cidr ?? "";
}

/**
 * One line for an audit entry.
 * @param {AuditEntry} entry
 */
function auditText(entry) {
  /** @type {any} */
  const before = entry.before;
  /** @type {any} */
  const after = entry.after;
  switch (entry.action) {
    case "rule.create":
      return `Added rule ${ruleText(after)}${after.description ? ` (${after.description})` : ""}`;
    case "rule.delete":
      return `Deleted rule ${ruleText(before)}`;
    case "rules.replace":
      return `Replaced the rules (${before?.length ?? 0} → ${after?.length ?? 0})`;
    case "token.create":
      return `Minted token ${after.label ?? after.id}`;
    case "token.revoke":
      return `Revoked token ${before.label ?? before.id}`;
    case "tenant.create":
      return "Created the tenant";
    case "tenant.delete":
      return "Deleted the tenant";
    case "tenant.update": {
      const changes = [];
      if (before.enforcement !== after.enforcement)
        changes.push(`${before.enforcement} → ${after.enforcement}`);
      const publicBefore = before.allow?.publicInternet;
      const publicAfter = after.allow?.publicInternet;
      if (before.allow === null && after.allow !== null) changes.push("allow list on");
      else if (before.allow !== null && after.allow === null) changes.push("allow list off");
      else if (publicBefore !== publicAfter)
        changes.push(`public internet ${publicAfter ? "on" : "off"}`);
      if (JSON.stringify(before.hostnames) !== JSON.stringify(after.hostnames))
        changes.push("host names changed");
      if (before.upstream !== after.upstream) changes.push("upstream changed");
      return `Changed the tenant${changes.length > 0 ? `: ${changes.join(", ")}` : ""}`;
    }
    default:
      return entry.action;
  }
}

/**
 * A freshly minted secret: shown this once, with a copy button.
 * @param {string} secret
 */
function secretBox(secret) {
  const input = h("input", {
    id: "token-secret",
    readonly: true,
    value: secret,
    class: "mono",
    "aria-describedby": "token-secret-hint",
  });
  const status = h("span", { role: "status", class: "muted" });
  return h(
    "div",
    { class: "secret" },
    h("label", { for: "token-secret" }, "New token"),
    h(
      "div",
      { class: "inline" },
      input,
      h(
        "button",
        {
          type: "button",
          id: "token-copy",
          class: "small",
          onclick: async () => {
            input.select();
            try {
              await navigator.clipboard.writeText(secret);
              replace(status, "Copied.");
            } catch {
              // No clipboard outside a secure context (plain http on another host): the text
              // is selected for Ctrl+C.
              replace(status, "Selected: press Ctrl+C (⌘C) to copy.");
            }
          },
        },
        "Copy",
      ),
      status,
    ),
    h(
      "p",
      { id: "token-secret-hint", class: "hint" },
      "Shown this once: linkgate keeps only a hash. Give it to the tenant over a safe channel.",
    ),
  );
}
