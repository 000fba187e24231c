// check-answers.mjs SPEC DIR [SUITE] — validate the answers the debug server's tap recorded
// (DIR/answers-*.jsonl, one JSON line per answer: server/tap.h) against the OpenAPI 3.1 file
// SPEC (docs/openapi.yaml): the operation (the route's pattern and the method; HEAD is GET
// without its body), a response declared for the status, a media type for the content type,
// and the body against that response's JSON Schema (Draft 2020-12, as OAS 3.1 uses, with
// ajv-formats). An answer to no route is checked against the spec's x-allot-unrouted
// responses. Prints one "ok - …" line per operation and status seen, one "not ok - …" per
// distinct failure (with the first answer that showed it); exits 1 when any failed.
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const [specPath, dir, suite = path.basename(dir || '')] = process.argv.slice(2);
if (!specPath || !dir) {
    console.error('usage: check-answers.mjs SPEC DIR [SUITE]');
    process.exit(2);
}
const spec = YAML.parse(fs.readFileSync(specPath, 'utf8'));
const SPEC_ID = 'https://allot.invalid/openapi.yaml';
// The whole spec as one schema document, so that every "#/components/…" reference of a
// response schema resolves inside it; its other members are not keywords (strict off).
const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
addFormats(ajv);
ajv.addSchema({ ...spec, $id: SPEC_ID });

const pointer = (...parts) =>
    '#/' + parts.map((p) => String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

// "/v1/orgs/{org}/balance" → "/v1/orgs/*/balance", the router's pattern.
const byPattern = new Map();
for (const p of Object.keys(spec.paths || {}))
    byPattern.set(p.replace(/\{[^}]+\}/g, '*'), p);

// A response object, its $ref followed, and the JSON pointer of its object.
function resolveResponse(resp, ptr) {
    let hops = 0;
    while (resp && resp.$ref && hops++ < 8) {
        ptr = resp.$ref;
        resp = ptr.slice(2).split('/').reduce(
            (o, k) => (o ? o[k.replaceAll('~1', '/').replaceAll('~0', '~')] : undefined), spec);
    }
    return [resp, ptr];
}

const validators = new Map();
function validatorFor(ptr) {
    if (!validators.has(ptr)) validators.set(ptr, ajv.compile({ $ref: SPEC_ID + ptr }));
    return validators.get(ptr);
}

const baseType = (t) => (t || '').split(';')[0].trim().toLowerCase();

// Check one recorded answer; returns [key, failure or null].
function check(a) {
    if (a.tap_error) return ['(the tap)', a.tap_error];
    const method = a.method === 'HEAD' ? 'get' : String(a.method).toLowerCase();
    let responses, where, key;
    if (a.route == null) {
        responses = spec['x-allot-unrouted']?.responses || {};
        where = ['x-allot-unrouted', 'responses'];
        key = `(no route) ${a.status}`;
    } else {
        const p = byPattern.get(a.route);
        key = `${method.toUpperCase()} ${p || a.route} ${a.status}`;
        if (!p) return [key, `route ${a.route} is not in the spec`];
        const op = spec.paths[p][method];
        if (!op) return [key, `${method.toUpperCase()} ${p} is not in the spec`];
        responses = op.responses || {};
        where = ['paths', p, method, 'responses'];
    }
    const st = String(a.status);
    if (!(st in responses)) return [key, `status ${st} is not declared`];
    const [resp, rptr] = resolveResponse(responses[st], pointer(...where, st));
    if (!a.body_utf8) return [key, 'the body is not UTF-8'];
    if (!resp.content) return [key, a.body === '' ? null : 'a body where the spec declares none'];
    const types = Object.keys(resp.content);
    const mt = types.find((t) => t.toLowerCase() === String(a.content_type).toLowerCase()) ||
               types.find((t) => baseType(t) === baseType(a.content_type));
    if (!mt) return [key, `content type ${a.content_type} is not declared (${types.join(', ')})`];
    if (!resp.content[mt].schema) return [key, null];
    let body = a.body;
    if (baseType(mt) === 'application/json' || baseType(mt).endsWith('+json')) {
        try {
            body = JSON.parse(a.body);
        } catch (e) {
            return [key, `the body is not JSON: ${e.message}`];
        }
    }
    const v = validatorFor(rptr + '/' + ['content', mt, 'schema'].map(
        (k) => k.replaceAll('~', '~0').replaceAll('/', '~1')).join('/'));
    if (v(body)) return [key, null];
    const e = v.errors[0];
    return [key, `${e.instancePath || '(body)'} ${e.message}` +
                 (e.params && Object.keys(e.params).length ? ' ' + JSON.stringify(e.params) : '')];
}

const files = fs.existsSync(dir)
    ? fs.readdirSync(dir).filter((f) => /^answers-.*\.jsonl$/.test(f)).sort() : [];
const seen = new Map(); // key → count of valid answers
const failures = new Map(); // key + failure → {count, example}
let total = 0;
for (const f of files) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
        if (!line) continue;
        total++;
        let a;
        try {
            a = JSON.parse(line);
        } catch {
            failures.set(`unreadable line in ${f}`, { count: 1, example: line.slice(0, 200) });
            continue;
        }
        const [key, why] = check(a);
        if (why == null) {
            seen.set(key, (seen.get(key) || 0) + 1);
            continue;
        }
        const fk = `${key}: ${why}`;
        const prev = failures.get(fk);
        if (prev) prev.count++;
        else failures.set(fk, { count: 1, example: `${a.method} ${a.path}: ${String(a.body).slice(0, 300)}` });
    }
}
for (const [key, n] of [...seen].sort())
    console.log(`ok - openapi ${suite}: ${key} matches the spec (${n} answer${n > 1 ? 's' : ''})`);
for (const [fk, { count, example }] of failures) {
    console.log(`not ok - openapi ${suite}: ${fk} (${count} answer${count > 1 ? 's' : ''})`);
    console.log(`#   e.g. ${example}`);
}
console.log(`# openapi ${suite}: ${total} answers, ${failures.size} distinct failures`);
process.exit(failures.size ? 1 : 0);
