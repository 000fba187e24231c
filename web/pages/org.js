// org.js — the Organization page: one org's money and paperwork. Operators pick the org
// (#/org?org=acme) and may top it up, set its contract's limits, build, issue and mark paid its
// invoices; org admins see their own org's balance, limits, contracts, ledger, invoices and
// members, and create members (the token is shown once); members see the org and its
// contracts (the API lets them read no more). Documents (contract, invoice) open printable
// below their list (?contract=ID, ?invoice=ID: bookmarkable).
import { html, useEffect, useState } from '../lib/html.js';
import { api, apiAll } from '../lib/api.js';
import { href, setParams } from '../lib/route.js';
import { Busy, FormError } from '../lib/ui.js';
import { Balance, Limits, Members } from './org_people.js';
import { Contracts, Invoices, Ledger } from './org_papers.js';

function OrgPicker({ orgs, current }) {
  return html`<label class="field inline"><span>Org</span>
    <select name="org" value=${current} onChange=${(e) => setParams({ org: e.currentTarget.value, invoice: '', contract: '' })}>
      ${orgs.map((o) => html`<option value=${o.name}>${o.display_name ? `${o.display_name} (${o.name})` : o.name}</option>`)}
    </select></label>`;
}

function Org({ me, params }) {
  const [orgs, setOrgs] = useState(me.role === 'operator' ? null : []);
  const [org, setOrg] = useState(null);
  const [err, setErr] = useState(null);
  const [tick, setTick] = useState(0);
  const ref = me.role === 'operator' ? params.org || (orgs && orgs[0] && orgs[0].name) : me.org;
  useEffect(() => {
    if (me.role !== 'operator') return;
    apiAll('/v1/orgs', 5000).then(setOrgs, (e) => (setErr(e), setOrgs([])));
  }, []);
  useEffect(() => {
    if (!ref) return;
    setErr(null);
    api('GET', `/v1/orgs/${encodeURIComponent(ref)}`).then(setOrg, (e) => (setErr(e), setOrg(null)));
  }, [ref]);
  const refresh = () => setTick((t) => t + 1);
  const staff = me.role !== 'member';
  const ready = org || err || (orgs && !orgs.length);
  return html`<section data-page="org" data-ready=${ready ? '1' : '0'} data-org=${org ? org.id : ''}>
    <div class="orghead">
      <h1>${org ? org.display_name || org.name : 'Organization'}</h1>
      ${org ? html`<span class="muted">${org.name}${org.customer_code ? ` · customer code ${org.customer_code}` : ''} · <span class="mono">${org.id}</span></span>` : null}
      ${org ? html`<a data-action="org-requests" href=${href('requests', me.role === 'operator' ? { org: org.name } : {})}>Requests</a>` : null}
      ${me.role === 'operator' && orgs && orgs.length ? html`<${OrgPicker} orgs=${orgs} current=${org ? org.name : ref} />` : null}
    </div>
    <${FormError} err=${err} />
    ${me.role === 'operator' && orgs && !orgs.length ? html`<p class="card muted">No orgs yet: <code>allot org create NAME</code>.</p>` : null}
    ${!org && !err ? html`<${Busy} what="Reading the org" />` : null}
    ${org
      ? html`<div key=${org.id}>
          ${staff
            ? html`<div class="grid2 orgtop">
                <${Balance} me=${me} org=${org} tick=${tick} onChange=${refresh} />
                <${Limits} me=${me} org=${org} tick=${tick} onChange=${refresh} />
              </div>`
            : html`<p class="card muted">Members see the org's contracts here; its balance, ledger, invoices and members are for its admins.</p>`}
          <${Contracts} org=${org} params=${params} />
          ${staff ? html`<${Invoices} me=${me} org=${org} params=${params} tick=${tick} onChange=${refresh} />` : null}
          ${staff ? html`<${Members} me=${me} org=${org} />` : null}
          ${staff ? html`<${Ledger} org=${org} tick=${tick} />` : null}
        </div>`
      : null}
  </section>`;
}

export default { id: 'org', title: 'Organization', roles: ['operator', 'org_admin', 'member'], view: Org };
