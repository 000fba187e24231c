-- browser_scale_fleet.sql — a bench-sized world written straight into a stopped server's
-- database by tests/integration/browser_scale.sh (sqlite3 -cmd '.parameter set …'), because
-- registering 80,000 GPUs and booking thousands of reservations through the API takes
-- minutes on a loaded machine and the suite must stay near a minute. The rows are the ones
-- the API writes (bench/e2e.c's fleet: nodes n00000… of 8 GPUs, H100-80GB and A100-80GB by
-- turns; reservations as documents with their holds, in states consistent with now) — a
-- schema change that breaks this file fails the suite loudly, never silently.
-- Parameters: :nodes, :now (unix s), :day0 (today 00:00 UTC), :actor (the operator's id),
-- :org0/:name0 … :org2/:name2 (three orgs made through the API), :whole, :mig (how many
-- reservations of each kind; :whole and :mig at most :nodes).
BEGIN;
CREATE TEMP TABLE seq(i INTEGER PRIMARY KEY);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :nodes)
INSERT INTO seq SELECT i FROM n;

INSERT INTO nodes(name, zone, labels, last_seen, created_at, online)
SELECT printf('n%05d', i), 'z' || (i % 4), '{}', :now, :now, 1 FROM seq;

INSERT INTO gpus(id, node, idx, uuid, model, reported_model, pool, healthy, drained, present)
SELECT printf('gpu_n%05d-%d', i, k), printf('n%05d', i), k,
       printf('GPU-sc000000-0000-0000-%04x-%012x', k, i),
       CASE WHEN i % 2 THEN 'A100-80GB' ELSE 'H100-80GB' END,
       CASE WHEN i % 2 THEN 'A100-80GB' ELSE 'H100-80GB' END, 'dedicated', 1, 0, 1
FROM seq, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3
           UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7);

INSERT INTO events(at, actor, kind, object, data)
SELECT :now, :actor, 'node.registered', printf('n%05d', i), '{"gpus":8}' FROM seq;

-- the plan: reservation i of whole GPUs 0..c-1 of node i (c = 1..4), and reservation i of a
-- 3g.40gb on GPU 7 of node i (units 0-3 or 4-7); windows of 1..14 days from 30 days ago to
-- 120 days ahead, so that each zoom level shows some and every state is there
CREATE TEMP TABLE plan AS
SELECT printf('rsv_7%015x', i) AS id, i, 0 AS mig, 1 + i % 4 AS c,
       :day0 + ((i * 37) % 150 - 30) * 86400 + (i % 24) * 3600 AS s, (1 + i % 14) * 86400 AS len
FROM seq WHERE i < :whole
UNION ALL
SELECT printf('rsv_7%015x', 100000 + i), i, 1, 1,
       :day0 + ((i * 53) % 150 - 30) * 86400 + (i % 12) * 7200, (1 + i % 10) * 86400
FROM seq WHERE i < :mig;

CREATE TEMP TABLE plan2 AS
SELECT p.*, p.s + p.len AS e, printf('n%05d', p.i) AS node,
       CASE WHEN p.i % 2 THEN 'A100-80GB' ELSE 'H100-80GB' END AS model,
       CASE p.i % 3 WHEN 0 THEN :org0 WHEN 1 THEN :org1 ELSE :org2 END AS org,
       CASE p.i % 3 WHEN 0 THEN :name0 WHEN 1 THEN :name1 ELSE :name2 END AS org_name,
       CASE WHEN p.s + p.len <= :now THEN 'ended' WHEN p.s <= :now THEN 'active'
            ELSE 'scheduled' END AS state,
       (p.i / 2) % 2 * 4 AS su
FROM plan p;

-- documents as GET /v1/reservations answers them (docs/openapi.yaml's Reservation: the suite
-- checks every answer against it), priced at the demo prices: a GPU-hour 2.50, a MIG compute
-- slice-hour 0.40 (3g.40gb: 3 slices)
INSERT INTO reservations(id, org_id, state, start_at, end_at, doc)
SELECT id, org, state, s, e, json_object(
  'id', id, 'org', org, 'org_name', org_name,
  'request', 'req_' || substr(id, 5), 'quote', 'qte_' || substr(id, 5), 'state', state,
  'start', strftime('%Y-%m-%dT%H:%M:%SZ', s, 'unixepoch'),
  'end', strftime('%Y-%m-%dT%H:%M:%SZ', e, 'unixepoch'),
  'kind', CASE mig WHEN 1 THEN 'mig' ELSE 'gpu' END, 'model', model,
  'profile', CASE mig WHEN 1 THEN '3g.40gb' END, 'count', c,
  'allocations', CASE mig
    WHEN 1 THEN json_array(json_object('node', node, 'gpu', printf('gpu_%s-7', node),
      'gpu_uuid', printf('GPU-sc000000-0000-0000-%04x-%012x', 7, i), 'kind', 'mig',
      'profile', '3g.40gb', 'start_unit', su))
    ELSE (SELECT json_group_array(json_object('node', node, 'gpu', printf('gpu_%s-%d', node, k),
      'gpu_uuid', printf('GPU-sc000000-0000-0000-%04x-%012x', k, i), 'kind', 'gpu'))
      FROM (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) WHERE k < c)
    END,
  'lines', json_array(json_object(
    'what', model || CASE mig WHEN 1 THEN ' 3g.40gb compute slice-hour' ELSE ' GPU-hour' END,
    'unit', CASE mig WHEN 1 THEN 'mig_slice_hour' ELSE 'gpu_hour' END,
    'units', c * CASE mig WHEN 1 THEN 3 ELSE 1 END, 'hours', len / 3600,
    'billed_seconds', len, 'rate_micros', CASE mig WHEN 1 THEN 400000 ELSE 2500000 END,
    'amount_micros', c * (len / 3600) * CASE mig WHEN 1 THEN 1200000 ELSE 2500000 END)),
  'total_micros', c * (len / 3600) * CASE mig WHEN 1 THEN 1200000 ELSE 2500000 END,
  'currency', 'USD', 'payment_terms', 'invoiced', 'contract', NULL, 'granularity', 'hour',
  'min_hours', 1, 'billing_rule', 'whole hours, a started hour in full, minimum 1 h',
  'price_version', 1, 'origin', 'bench',
  'created_at', strftime('%Y-%m-%dT%H:%M:%SZ', :now, 'unixepoch'),
  'updated_at', strftime('%Y-%m-%dT%H:%M:%SZ', :now, 'unixepoch'))
FROM plan2;

INSERT INTO holds(gpu_id, owner, kind, profile, start_unit, mask, t0, t1)
SELECT printf('gpu_%s-%d', node, k), id, 'gpu', '', -1, -1, s, e
FROM plan2, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3)
WHERE mig = 0 AND k < c AND state != 'ended';
INSERT INTO holds(gpu_id, owner, kind, profile, start_unit, mask, t0, t1)
SELECT printf('gpu_%s-7', node), id, 'mig', '3g.40gb', su, 15 << su, s, e
FROM plan2 WHERE mig = 1 AND state != 'ended';

INSERT INTO events(at, actor, kind, object, data)
SELECT :now, :actor, 'reservation.scheduled', id, json_object('org', org, 'origin', 'bench')
FROM plan2;
INSERT INTO event_orgs(org, seq)
SELECT json_extract(data, '$.org'), seq FROM events
WHERE kind = 'reservation.scheduled' AND json_extract(data, '$.origin') = 'bench';
COMMIT;
