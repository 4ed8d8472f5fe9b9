-- The event kinds and scoring models the event trigger keeps in each
-- backend follow every change at once, in the session that makes it: a
-- kind a tenant registers is known to its next event, an override of a
-- built-in kind's effects applies from the next event, deleting it brings
-- the built-in effects back, and a registration rolled back (to a
-- savepoint) is forgotten, even after an event in between used it.  A new
-- version of the tenant's scoring model scores its next event, and a new
-- route moves the next lead whose tier changes; so does a kind inserted
-- as a logical replication subscriber applies changes, and rules changed
-- by hand in a cadence version.  One
-- tenant's override does not reach another tenant.  Changes that another
-- session commits: isolation spec config_change_seen.
-- The effect of a kind looked at is the hand-off alert: a kind with
-- default_hand_off alerts the lead's owner; email_open, built in, does not.
-- Simulated clock: every call passes its time.
BEGIN;
SELECT plan(21);

INSERT INTO cadence.rep (external_id, name, role, on_duty) VALUES ('R-KIM', 'Kim Park', 'rep', true);
INSERT INTO cadence.lead (external_id, first_name, time_zone, owner_rep_id)
SELECT 'K-' || n, 'Lead ' || n, 'America/Chicago', (SELECT rep_id FROM cadence.rep WHERE external_id = 'R-KIM')
  FROM generate_series(1, 4) AS n;

CREATE TEMPORARY VIEW kind_alerts AS
SELECT l.external_id, a.reason
  FROM cadence.alert a JOIN cadence.lead l ON l.tenant_id = a.tenant_id AND l.lead_id = a.lead_id;

-- an event of kind for lead K-<n> of the current tenant, at minute m of 2026-06-01 15:00 UTC
CREATE FUNCTION pg_temp.record(n integer, kind text, m integer) RETURNS bigint
LANGUAGE sql
AS $$
    SELECT cadence.record_event(l.lead_id, kind, '2026-06-01 15:00+00'::timestamptz + m * interval '1 minute',
                                NULL, '{}', 'crm', kind || '-' || n || '-' || m)
      FROM cadence.lead l WHERE l.tenant_id = cadence.current_tenant() AND l.external_id = 'K-' || n
$$;

SELECT ok(pg_temp.record(1, 'email_open', 1) > 0, 'an email open of K-1 is recorded (the backend now keeps the kinds)');
SELECT is((SELECT count(*) FROM kind_alerts), 0::bigint, 'a built-in email open alerts nobody');

SELECT throws_ok($$SELECT pg_temp.record(1, 'showroom_visit', 2)$$, '22023',
                 'unknown event kind "showroom_visit" in field "kind" (lead ' ||
                 (SELECT lead_id FROM cadence.lead WHERE external_id = 'K-1') || ')',
                 'a kind not registered yet is refused');
SELECT cadence.register_event_kind('showroom_visit', default_hand_off => true,
                                   description => 'The lead walked into the showroom') AS ignored \gset
SELECT ok(pg_temp.record(1, 'showroom_visit', 3) > 0, 'once registered, the same backend knows it at the next event');
SELECT results_eq($$SELECT external_id, reason FROM kind_alerts$$, $$VALUES ('K-1', 'showroom_visit')$$,
                  'and its effects apply: K-1''s owner is alerted');

-- the tenant makes email opens hand the lead over
SELECT cadence.register_event_kind('email_open', engagement => true, default_hand_off => true,
                                   description => 'An open hands the lead to its owner') AS ignored \gset
SELECT ok(pg_temp.record(2, 'email_open', 4) > 0, 'an email open of K-2 after the override');
SELECT results_eq($$SELECT external_id, reason FROM kind_alerts ORDER BY 1$$,
                  $$VALUES ('K-1', 'showroom_visit'), ('K-2', 'email_open')$$,
                  'the override applies from the next event: K-2''s owner is alerted');

DELETE FROM cadence.custom_event_kind WHERE kind = 'email_open';
SELECT ok(pg_temp.record(3, 'email_open', 5) > 0, 'an email open of K-3 once the override is deleted');
SELECT is((SELECT count(*) FROM kind_alerts WHERE external_id = 'K-3'), 0::bigint,
          'the built-in effects are back: nobody is alerted for K-3');

-- a registration rolled back is forgotten, though an event used it
SAVEPOINT before_brochure;
SELECT cadence.register_event_kind('brochure_request', description => 'The lead asked for a brochure') AS ignored \gset
SELECT pg_temp.record(4, 'brochure_request', 6) AS ignored \gset
ROLLBACK TO SAVEPOINT before_brochure;
SELECT throws_ok($$SELECT pg_temp.record(4, 'brochure_request', 7)$$, '22023', NULL,
                 'after ROLLBACK TO SAVEPOINT the kind is unknown again');

-- each new version of the model scores the next event (the backend kept the default until now)
SELECT is(cadence.define_scoring('{"base": 20, "tiers": {"hot": 90, "warm": 60, "moderate": 30},
                                   "exit_below": 0, "hysteresis": 0}'), 1, 'the tenant''s first model: 20 points for every lead');
SELECT ok(pg_temp.record(4, 'email_open', 8) > 0, 'an email open of K-4');
SELECT is((SELECT score FROM cadence.lead WHERE tenant_id = 1 AND external_id = 'K-4'), 20, 'scored 20 by the new model');
SELECT cadence.define_scoring('{"base": 55, "tiers": {"hot": 90, "warm": 60, "moderate": 30},
                                "exit_below": 0, "hysteresis": 0}') AS ignored \gset
SELECT pg_temp.record(4, 'email_open', 9) AS ignored \gset
SELECT is((SELECT score FROM cadence.lead WHERE tenant_id = 1 AND external_id = 'K-4'), 55,
          'after a second version (55 points), the next open scores 55');

-- a route set after the tenant's routes were read (none, when K-3 turned
-- hot) moves the next lead whose tier changes
SELECT cadence.define_cadence($${"key": "cfg-hot", "name": "Hot follow-up", "tier": "hot",
  "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Ready today", "body": "Come by."}}]}$$)
  AS ignored \gset
UPDATE cadence.tenant SET auto_enroll = true WHERE tenant_id = 1;
SELECT cadence.define_scoring('{"base": 95, "tiers": {"hot": 90, "warm": 60, "moderate": 30},
                                "exit_below": 0, "hysteresis": 0}') AS ignored \gset
SELECT pg_temp.record(3, 'email_open', 10) AS ignored \gset
SELECT cadence.set_route('*', 'hot', 'cfg-hot') AS ignored \gset
SELECT pg_temp.record(4, 'email_open', 10) AS ignored \gset
SELECT results_eq(
    $$SELECT l.tier, v.cadence_key, e.enrolled_at
        FROM cadence.lead l
        JOIN cadence.enrolment e ON e.tenant_id = l.tenant_id AND e.lead_id = l.lead_id
        JOIN cadence.cadence_version v ON v.tenant_id = e.tenant_id AND v.cadence_version_id = e.cadence_version_id
       WHERE l.tenant_id = 1 AND l.external_id = 'K-4'$$,
    $$VALUES ('hot'::text, 'cfg-hot'::text, '2026-06-01 15:10+00'::timestamptz)$$,
    'K-4 turns hot (a third model, 95 points) and the new route enrols it on cfg-hot at the open''s time');
SELECT results_eq($$SELECT tier, (SELECT count(*) FROM cadence.enrolment e WHERE e.tenant_id = 1 AND e.lead_id = l.lead_id)
                      FROM cadence.lead l WHERE l.tenant_id = 1 AND l.external_id = 'K-3'$$,
                  $$VALUES ('hot'::text, 0::bigint)$$,
                  'K-3, hot before the route was set, stays without a cadence');

-- a change applied as a logical replication subscriber applies it
-- (session_replication_role = replica, where only ALWAYS triggers fire)
SELECT pg_temp.record(3, 'email_open', 11) AS ignored \gset
SET session_replication_role = replica;
INSERT INTO cadence.custom_event_kind (tenant_id, kind, description) VALUES (1, 'trade_in_photos', 'Photos of the trade-in arrived');
SET session_replication_role = origin;
SELECT lives_ok($$SELECT pg_temp.record(3, 'trade_in_photos', 12)$$,
                'a kind inserted with session_replication_role = replica is known to the next event');

-- rules changed by hand in a cadence version apply from the next event
SELECT pg_temp.record(4, 'email_open', 13) AS ignored \gset
UPDATE cadence.cadence_version SET rules = '{"exit_on": ["email_open"]}' WHERE tenant_id = 1 AND cadence_key = 'cfg-hot';
SELECT pg_temp.record(4, 'email_open', 14) AS ignored \gset
SELECT results_eq(
    $$SELECT e.status, e.exit_reason, e.ended_at FROM cadence.enrolment e JOIN cadence.lead l USING (tenant_id, lead_id)
       WHERE l.tenant_id = 1 AND l.external_id = 'K-4'$$,
    $$VALUES ('exited'::text, 'email_open'::text, '2026-06-01 15:14+00'::timestamptz)$$,
    'an open after the cadence version''s rules were changed by hand (exit on an open) ends K-4''s enrolment');

-- the trigger function is not a function to call
SELECT throws_ok($$SELECT cadence.config_changed()$$, '39P01', 'cadence.config_changed() was not called by the trigger manager',
                 'cadence.config_changed() called directly is refused');

-- another tenant: the first one's override does not reach it
SELECT cadence.register_event_kind('email_open', engagement => true, default_hand_off => true,
                                   description => 'An open hands the lead to its owner') AS ignored \gset
SELECT cadence.create_tenant('Lakeside Auto') AS t2 \gset
SELECT cadence.set_tenant(:t2) AS ignored \gset
INSERT INTO cadence.rep (external_id, name, role, on_duty) VALUES ('R-LEE', 'Lee Wong', 'rep', true);
INSERT INTO cadence.lead (external_id, first_name, time_zone, owner_rep_id)
SELECT 'K-5', 'Lead in tenant 2', 'America/Chicago', rep_id FROM cadence.rep WHERE external_id = 'R-LEE';
SELECT ok(pg_temp.record(5, 'email_open', 15) > 0, 'an email open in the second tenant');
SELECT is((SELECT count(*) FROM cadence.alert WHERE tenant_id = :t2), 0::bigint,
          'the first tenant''s override does not apply there: no alert');
SELECT cadence.set_tenant(1) AS ignored \gset

SELECT * FROM finish();
ROLLBACK;
