import { html } from '../lib/html.js';
function M() { return html`<section data-page="migchanges" data-ready="1"><h1>MIG changes</h1></section>`; }
export default { id: 'migchanges', title: 'MIG changes', roles: ['operator', 'org_admin', 'member'], view: M };
