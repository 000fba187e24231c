-- browser_scale_fleet_pg.sql — browser_scale_fleet.sql in PostgreSQL's dialect: the same
-- bench-sized world, the same rows, written by tests/integration/browser_scale.sh with psql
-- into a stopped server's database when the suite runs on PostgreSQL (AL_TEST_DB=postgres).
-- Keep the two files in step: a row either writes differently is a difference between the
-- stores the suite would not see. Besides SQLite's rows, the events get their positions
-- (events.pos, migration 12) as al_store_events_seal gives them at commit; the change feed's
-- rows are the triggers'. Variables (psql -v): nodes, now, day0, actor, org0/name0 …
-- org2/name2, whole, mig (as SQLite's parameters).
\set ON_ERROR_STOP 1
BEGIN;
CREATE TEMP TABLE seq AS SELECT i FROM generate_series(0, :nodes - 1) AS i;

INSERT INTO nodes(name, zone, labels, last_seen, created_at, online)
SELECT 'n' || lpad(i::text, 5, '0'), 'z' || (i % 4), '{}', :now, :now, 1 FROM seq;

INSERT INTO gpus(id, node, idx, uuid, model, reported_model, pool, healthy, drained, present)
SELECT 'gpu_n' || lpad(i::text, 5, '0') || '-' || k, 'n' || lpad(i::text, 5, '0'), k,
       'GPU-sc000000-0000-0000-' || lpad(to_hex(k), 4, '0') || '-' || lpad(to_hex(i), 12, '0'),
       CASE WHEN i % 2 = 1 THEN 'A100-80GB' ELSE 'H100-80GB' END,
       CASE WHEN i % 2 = 1 THEN 'A100-80GB' ELSE 'H100-80GB' END, 'dedicated', 1, 0, 1
FROM seq, generate_series(0, 7) AS k;

INSERT INTO events(at, actor, kind, object, data)
SELECT :now, :'actor', 'node.registered', 'n' || lpad(i::text, 5, '0'), '{"gpus":8}'
FROM seq ORDER BY i;

-- the plan (browser_scale_fleet.sql's): reservation i of whole GPUs 0..c-1 of node i
-- (c = 1..4), and reservation i of a 3g.40gb on GPU 7 of node i (units 0-3 or 4-7)
CREATE TEMP TABLE plan AS
SELECT 'rsv_7' || lpad(to_hex(i), 15, '0') AS id, i, 0 AS mig, 1 + i % 4 AS c,
       :day0::bigint + ((i * 37) % 150 - 30) * 86400 + (i % 24) * 3600 AS s,
       (1 + i % 14) * 86400::bigint AS len
FROM seq WHERE i < :whole
UNION ALL
SELECT 'rsv_7' || lpad(to_hex(100000 + i), 15, '0'), i, 1, 1,
       :day0::bigint + ((i * 53) % 150 - 30) * 86400 + (i % 12) * 7200, (1 + i % 10) * 86400::bigint
FROM seq WHERE i < :mig;

CREATE TEMP TABLE plan2 AS
SELECT p.*, p.s + p.len AS e, 'n' || lpad(p.i::text, 5, '0') AS node,
       CASE WHEN p.i % 2 = 1 THEN 'A100-80GB' ELSE 'H100-80GB' END AS model,
       CASE p.i % 3 WHEN 0 THEN :'org0' WHEN 1 THEN :'org1' ELSE :'org2' END AS org,
       CASE p.i % 3 WHEN 0 THEN :'name0' WHEN 1 THEN :'name1' ELSE :'name2' END AS org_name,
       CASE WHEN p.s + p.len <= :now THEN 'ended' WHEN p.s <= :now THEN 'active'
            ELSE 'scheduled' END AS state,
       (p.i / 2) % 2 * 4 AS su
FROM plan p;

CREATE FUNCTION pg_temp.utc(t bigint) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT to_char(to_timestamp(t) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

INSERT INTO reservations(id, org_id, state, start_at, end_at, doc)
SELECT id, org, state, s, e, json_build_object(
  'id', id, 'org', org, 'org_name', org_name,
  'request', 'req_' || substr(id, 5), 'quote', 'qte_' || substr(id, 5), 'state', state,
  'start', pg_temp.utc(s), 'end', pg_temp.utc(e),
  'kind', CASE mig WHEN 1 THEN 'mig' ELSE 'gpu' END, 'model', model,
  'profile', CASE mig WHEN 1 THEN '3g.40gb' END, 'count', c,
  'allocations', CASE mig
    WHEN 1 THEN json_build_array(json_build_object('node', node, 'gpu', 'gpu_' || node || '-7',
      'gpu_uuid', 'GPU-sc000000-0000-0000-0007-' || lpad(to_hex(i), 12, '0'), 'kind', 'mig',
      'profile', '3g.40gb', 'start_unit', su))
    ELSE (SELECT json_agg(json_build_object('node', node, 'gpu', 'gpu_' || node || '-' || k,
      'gpu_uuid', 'GPU-sc000000-0000-0000-' || lpad(to_hex(k), 4, '0') || '-'
      || lpad(to_hex(i), 12, '0'), 'kind', 'gpu') ORDER BY k)
      FROM generate_series(0, 3) AS k WHERE k < c)
    END,
  'lines', json_build_array(json_build_object(
    'what', model || CASE mig WHEN 1 THEN ' 3g.40gb compute slice-hour' ELSE ' GPU-hour' END,
    'unit', CASE mig WHEN 1 THEN 'mig_slice_hour' ELSE 'gpu_hour' END,
    'units', c * CASE mig WHEN 1 THEN 3 ELSE 1 END, 'hours', len / 3600,
    'billed_seconds', len, 'rate_micros', CASE mig WHEN 1 THEN 400000 ELSE 2500000 END,
    'amount_micros', c * (len / 3600) * CASE mig WHEN 1 THEN 1200000 ELSE 2500000 END)),
  'total_micros', c * (len / 3600) * CASE mig WHEN 1 THEN 1200000 ELSE 2500000 END,
  'currency', 'USD', 'payment_terms', 'invoiced', 'contract', NULL, 'granularity', 'hour',
  'min_hours', 1, 'billing_rule', 'whole hours, a started hour in full, minimum 1 h',
  'price_version', 1, 'origin', 'bench',
  'created_at', pg_temp.utc(:now), 'updated_at', pg_temp.utc(:now))::text
FROM plan2;

INSERT INTO holds(gpu_id, owner, kind, profile, start_unit, mask, t0, t1)
SELECT 'gpu_' || node || '-' || k, id, 'gpu', '', -1, -1, s, e
FROM plan2, generate_series(0, 3) AS k
WHERE mig = 0 AND k < c AND state <> 'ended';
INSERT INTO holds(gpu_id, owner, kind, profile, start_unit, mask, t0, t1)
SELECT 'gpu_' || node || '-7', id, 'mig', '3g.40gb', su, 15::bigint << su, s, e
FROM plan2 WHERE mig = 1 AND state <> 'ended';

INSERT INTO events(at, actor, kind, object, data)
SELECT :now, :'actor', 'reservation.scheduled', id,
       json_build_object('org', org, 'origin', 'bench')::text
FROM plan2 ORDER BY mig, i;
INSERT INTO event_orgs(org, seq)
SELECT data::json ->> 'org', seq FROM events
WHERE kind = 'reservation.scheduled' AND data::json ->> 'origin' = 'bench';

-- the positions, as al_store_events_seal gives them at commit (store_replica.c)
UPDATE events e SET pos = o.p
FROM (SELECT seq, (SELECT coalesce(max(pos), 0) FROM events) + row_number() OVER (ORDER BY seq) AS p
      FROM events WHERE pos IS NULL) o
WHERE e.seq = o.seq;
COMMIT;
