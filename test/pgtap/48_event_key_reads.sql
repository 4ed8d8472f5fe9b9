-- One event's trigger reads and locks its lead's rows by key and writes the
-- lead through the executor's own steps (src/key_read.c, src/lead_write.c),
-- without statements.  It must do what the statements did: the score it
-- writes is the one score() computes; a CHECK constraint on a written
-- column holds, and so does a NOT VALID one the row breaks, each failing
-- the event with nothing left behind; a trigger of the lead table's own
-- fires (the write is then a statement); a policy of a table's own besides
-- the tenant's, or the tenant policy altered, applies (the reads are then
-- statements); a CHECK constraint's inlined function replaced applies at
-- the next event; an index the reads use renamed sends the event to
-- statements; a write of the lead by another statement of the event (a
-- user's trigger) is kept; a role without the rights the statements needed
-- is refused.
-- Simulated clock: every call passes its time.  Leads are in Chicago,
-- tenant 1, under the default scoring model (base 30; timeline this_month
-- +35; an email click 8 points halving every 14 days).
BEGIN;
SELECT plan(28);

INSERT INTO cadence.lead (external_id, first_name, time_zone, attributes, created_at) VALUES
    ('K-PLAIN',  'Pia',  'America/Chicago', '{"timeline": "this_month"}', '2026-06-01 15:00+00'),
    ('K-CHECK',  'Carl', 'America/Chicago', '{"timeline": "this_month"}', '2026-06-01 15:00+00'),
    ('K-ZED',    'Zed',  'America/Chicago', '{"timeline": "this_month"}', '2026-06-01 15:00+00'),
    ('K-TRIG',   'Tia',  'America/Chicago', '{"timeline": "this_month"}', '2026-06-01 15:00+00'),
    ('K-HIDDEN', 'Hal',  'America/Chicago', '{"timeline": "this_month"}', '2026-06-01 15:00+00'),
    ('K-OTHER',  'Oli',  'America/Chicago', '{"timeline": "this_month"}', '2026-06-01 15:00+00'),
    ('K-MOVED',  'Mo',   'America/Chicago', '{"timeline": "this_month"}', '2026-06-01 15:00+00'),
    ('K-CAP1',   'Cy',   'America/Chicago', '{"timeline": "this_month"}', '2026-06-01 15:00+00'),
    ('K-CAP2',   'Di',   'America/Chicago', '{"timeline": "this_month"}', '2026-06-01 15:00+00');
SELECT max(lead_id) FILTER (WHERE external_id = 'K-PLAIN') AS plain,
       max(lead_id) FILTER (WHERE external_id = 'K-CHECK') AS checked,
       max(lead_id) FILTER (WHERE external_id = 'K-ZED') AS zed,
       max(lead_id) FILTER (WHERE external_id = 'K-TRIG') AS trig,
       max(lead_id) FILTER (WHERE external_id = 'K-HIDDEN') AS hidden,
       max(lead_id) FILTER (WHERE external_id = 'K-OTHER') AS other,
       max(lead_id) FILTER (WHERE external_id = 'K-MOVED') AS moved,
       max(lead_id) FILTER (WHERE external_id = 'K-CAP1') AS cap1,
       max(lead_id) FILTER (WHERE external_id = 'K-CAP2') AS cap2
  FROM cadence.lead \gset

-- The plain table: the event's write through the executor's steps.
SET LOCAL ROLE cadence_app;
SELECT cadence.set_tenant(1) AS ignored \gset
SELECT is(cadence.event_reads_by_key(), true, 'with the extension''s tables as installed, events are read by key');
SELECT cadence.record_event(:plain, 'email_click', '2026-06-02 15:00+00', provider_id => 'k-plain-1') AS ev \gset
SELECT row_eq(format($$SELECT score, tier, scored_at, last_engagement_at FROM cadence.lead WHERE lead_id = %s$$, :plain),
              ROW(73, 'warm'::text, '2026-06-02 15:00+00'::timestamptz, '2026-06-02 15:00+00'::timestamptz),
              'a click: 30 + 35 + 8 = 73 (warm), scored and engaged at the click''s time');
SELECT is((SELECT score FROM cadence.lead WHERE lead_id = :plain), cadence.score(:plain, '2026-06-02 15:00+00'),
          'the stored score is the one score() computes afresh');
SELECT cadence.record_event(:plain, 'sms_reply', '2026-06-02 16:00+00', payload => '{"body": "Saturday works"}',
                            source => 'twilio', provider_id => 'k-plain-2') AS ev \gset
SELECT row_eq(format($$SELECT preferred_channel, last_response_at FROM cadence.lead WHERE lead_id = %s$$, :plain),
              ROW('sms'::text, '2026-06-02 16:00+00'::timestamptz),
              'an SMS reply writes the channel (a foreign key''s column) and the response time');
RESET ROLE;

-- A CHECK constraint on a written column fails the event, naming the constraint.
ALTER TABLE cadence.lead ADD CONSTRAINT score_at_most_70 CHECK (score <= 70) NOT VALID;
SET LOCAL ROLE cadence_app;
SELECT throws_ok(format($$SELECT cadence.record_event(%s, 'email_click', '2026-06-02 15:00+00', provider_id => 'k-check-1')$$,
                        :checked),
                 '23514', 'new row for relation "lead" violates check constraint "score_at_most_70"',
                 'a click that would score 73 breaks the score''s own CHECK constraint (at most 70)');
SELECT is((SELECT count(*) FROM cadence.event WHERE provider_id = 'k-check-1'), 0::bigint,
          'and the event is not recorded');
SELECT row_eq(format($$SELECT score, last_engagement_at FROM cadence.lead WHERE lead_id = %s$$, :checked),
              ROW(65, NULL::timestamptz), 'and the lead keeps its score (65) and has no engagement');
RESET ROLE;
ALTER TABLE cadence.lead DROP CONSTRAINT score_at_most_70;

-- A NOT VALID constraint on a column the event does not write is checked too, as an UPDATE checks it.
ALTER TABLE cadence.lead ADD CONSTRAINT no_zed CHECK (first_name <> 'Zed') NOT VALID;
SET LOCAL ROLE cadence_app;
SELECT throws_ok(format($$SELECT cadence.record_event(%s, 'email_open', '2026-06-02 15:00+00', provider_id => 'k-zed-1')$$, :zed),
                 '23514', 'new row for relation "lead" violates check constraint "no_zed"',
                 'a NOT VALID constraint that the lead''s row breaks fails its event, as an UPDATE would');
SELECT lives_ok(format($$SELECT cadence.record_event(%s, 'email_open', '2026-06-02 15:00+00', provider_id => 'k-zed-2')$$, :plain),
                'and another lead''s event goes through');
RESET ROLE;
ALTER TABLE cadence.lead DROP CONSTRAINT no_zed;

-- A trigger of the table's own on UPDATE fires for the event's write.
CREATE TEMP TABLE lead_updates (lead_id bigint, old_score integer, new_score integer);
GRANT SELECT, INSERT ON lead_updates TO cadence_app;
CREATE FUNCTION pg_temp.note_lead_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_updates VALUES (NEW.lead_id, OLD.score, NEW.score);
    RETURN NEW;
END
$$;
CREATE TRIGGER note_lead_update AFTER UPDATE ON cadence.lead FOR EACH ROW EXECUTE FUNCTION pg_temp.note_lead_update();
SET LOCAL ROLE cadence_app;
SELECT cadence.record_event(:trig, 'email_click', '2026-06-02 15:00+00', provider_id => 'k-trig-1') AS ev \gset
SELECT results_eq('SELECT lead_id, old_score, new_score FROM lead_updates',
                  format('VALUES (%s::bigint, 65, 73)', :trig),
                  'a trigger of the lead table''s own sees the event''s one write: 65 to 73');
RESET ROLE;
DROP TRIGGER note_lead_update ON cadence.lead;

-- A policy of the event table's own: the reads are statements, which apply it.
-- Three clicks backfilled from an old system, which cadence_app must not see,
-- on each of two leads.  (cadence_app records an event first, so that the
-- session has found, for that role, that the reads by key apply; the policy
-- created afterwards must change that.)
INSERT INTO cadence.event (tenant_id, lead_id, kind, occurred_at, payload, source, provider_id)
SELECT 1, l, 'email_click', '2026-06-02 14:00+00'::timestamptz - k * interval '1 minute', '{}', 'backfill',
       'k-old-' || l || '-' || k
  FROM generate_series(1, 3) k, unnest(ARRAY[:hidden, :other]::bigint[]) l;
SET LOCAL ROLE cadence_app;
SELECT cadence.record_event(:plain, 'email_open', '2026-06-02 14:30+00', provider_id => 'k-before-policy') AS ev \gset
RESET ROLE;
CREATE POLICY no_backfill ON cadence.event AS RESTRICTIVE TO cadence_app USING (source <> 'backfill');
SET LOCAL ROLE cadence_app;
SELECT is(cadence.event_reads_by_key(), false, 'a policy of the event table''s own: events are read with statements');
SELECT cadence.record_event(:hidden, 'email_click', '2026-06-02 15:00+00', provider_id => 'k-hidden-1') AS ev \gset
SELECT is((SELECT score FROM cadence.lead WHERE lead_id = :hidden), 73,
          'a restrictive policy on events: the score counts the one click the role may see (73)');
SELECT is(cadence.score(:hidden, '2026-06-02 15:00+00'), 73, 'as score() computes it for the role');
RESET ROLE;
SELECT cmp_ok(cadence.score(:hidden, '2026-06-02 15:00+00'), '>', 73,
              'where the backfilled clicks would have counted too');
DROP POLICY no_backfill ON cadence.event;
SET LOCAL ROLE cadence_app;
SELECT is(cadence.event_reads_by_key(), true, 'the policy dropped: by key again');
RESET ROLE;

-- The tenant policy changed: the reads are statements, which apply it as it now is.
SET LOCAL ROLE cadence_app;
SELECT cadence.record_event(:plain, 'email_open', '2026-06-02 14:40+00', provider_id => 'k-before-alter') AS ev \gset
RESET ROLE;
ALTER POLICY tenant_isolation ON cadence.event
    USING (tenant_id = cadence.current_tenant() AND source <> 'backfill');
SET LOCAL ROLE cadence_app;
SELECT is(cadence.event_reads_by_key(), false, 'the tenant policy altered: with statements');
SELECT cadence.record_event(:other, 'email_click', '2026-06-02 15:00+00', provider_id => 'k-other-1') AS ev \gset
SELECT is((SELECT score FROM cadence.lead WHERE lead_id = :other), 73,
          'the tenant policy altered to hide backfilled events: the score counts the one click the role may see (73)');
RESET ROLE;
ALTER POLICY tenant_isolation ON cadence.event
    USING (tenant_id = COALESCE(NULLIF(current_setting('cadence.tenant_id', true), '')::bigint, 1::bigint));

-- A CHECK constraint that calls a SQL function of the DBA's: planning inlines
-- the function, and its new body applies from the next event on.
CREATE FUNCTION public.k_score_cap() RETURNS integer LANGUAGE sql IMMUTABLE RETURN 100;
ALTER TABLE cadence.lead ADD CONSTRAINT score_under_cap CHECK (score <= public.k_score_cap()) NOT VALID;
SET LOCAL ROLE cadence_app;
SELECT lives_ok(format($$SELECT cadence.record_event(%s, 'email_click', '2026-06-02 15:00+00', provider_id => 'k-cap-1')$$,
                       :cap1),
                'a click to 73 under a cap of 100 goes through');
RESET ROLE;
CREATE OR REPLACE FUNCTION public.k_score_cap() RETURNS integer LANGUAGE sql IMMUTABLE RETURN 70;
SET LOCAL ROLE cadence_app;
SELECT throws_ok(format($$SELECT cadence.record_event(%s, 'email_click', '2026-06-02 15:00+00', provider_id => 'k-cap-2')$$,
                        :cap2),
                 '23514', 'new row for relation "lead" violates check constraint "score_under_cap"',
                 'the cap''s function replaced to say 70: the next click to 73 breaks the constraint');
RESET ROLE;
ALTER TABLE cadence.lead DROP CONSTRAINT score_under_cap;
DROP FUNCTION public.k_score_cap();

-- An index the reads use renamed: the event is applied with statements.
ALTER INDEX cadence.touch_lead RENAME TO touch_lead_renamed;
SET LOCAL ROLE cadence_app;
SELECT is(cadence.event_reads_by_key(), false, 'touch_lead renamed: with statements');
SELECT lives_ok(format($$SELECT cadence.record_event(%s, 'email_click', '2026-06-02 15:00+00', provider_id => 'k-renamed-1')$$,
                       :cap2),
                'with touch_lead renamed, an event still goes through');
SELECT is((SELECT score FROM cadence.lead WHERE lead_id = :cap2), 73, 'and scores its lead (73)');
RESET ROLE;
ALTER INDEX cadence.touch_lead_renamed RENAME TO touch_lead;
SELECT is(cadence.event_reads_by_key(), true, 'as the superuser, whom no policy applies to, and with the index back: by key');

-- A statement of the event's writes the lead before the event's own write (here a
-- trigger of the user's on the enrolments): the event's write is a statement, over
-- the row as that left it.
SELECT cadence.define_cadence($${
  "key": "key-reads", "name": "Key reads",
  "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Hello", "body": "Photos inside."}}]
}$$) AS ignored \gset
SELECT cadence.enroll(:moved, 'key-reads', '2026-06-02 15:00+00') AS ignored \gset
CREATE FUNCTION pg_temp.mark_lead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cadence.lead SET segment = 'ended:' || NEW.status WHERE tenant_id = NEW.tenant_id AND lead_id = NEW.lead_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER mark_lead AFTER UPDATE OF status ON cadence.enrolment FOR EACH ROW EXECUTE FUNCTION pg_temp.mark_lead();
SET LOCAL ROLE cadence_app;
SELECT cadence.record_event(:moved, 'sold', '2026-06-02 16:00+00', provider_id => 'k-moved-1') AS ev \gset
SELECT row_eq(format($$SELECT segment, last_engagement_at FROM cadence.lead WHERE lead_id = %s$$, :moved),
              ROW('ended:exited'::text, '2026-06-02 16:00+00'::timestamptz),
              'a sale: the user''s trigger marks the lead as its enrolment ends, and the event''s write keeps that mark');
RESET ROLE;
DROP TRIGGER mark_lead ON cadence.enrolment;

-- Rights: the statements needed UPDATE on the touches and enrolments they locked; so do the reads by key.
CREATE ROLE cadence_test_webhook;
GRANT cadence_reader TO cadence_test_webhook;
GRANT INSERT ON cadence.event TO cadence_test_webhook;
GRANT EXECUTE ON FUNCTION cadence.record_event(bigint, text, timestamptz, bigint, jsonb, text, text) TO cadence_test_webhook;
SET LOCAL ROLE cadence_test_webhook;
SELECT throws_ok(format($$SELECT cadence.record_event(%s, 'email_open', '2026-06-02 17:00+00', provider_id => 'k-rights-1')$$,
                        :plain),
                 '42501', 'permission denied for table touch',
                 'a role that may insert events but not update touches is refused, naming the table');
RESET ROLE;
GRANT UPDATE (status) ON cadence.touch TO cadence_test_webhook;
SET LOCAL ROLE cadence_test_webhook;
SELECT throws_ok(format($$SELECT cadence.record_event(%s, 'email_open', '2026-06-02 17:00+00', provider_id => 'k-rights-2')$$,
                        :plain),
                 '42501', 'permission denied for table enrolment',
                 'with UPDATE on one column of the touches, the enrolments are the next table refused');
RESET ROLE;
GRANT UPDATE (status) ON cadence.enrolment TO cadence_test_webhook;
SET LOCAL ROLE cadence_test_webhook;
SELECT throws_ok(format($$SELECT cadence.record_event(%s, 'email_open', '2026-06-02 17:00+00', provider_id => 'k-rights-3')$$,
                        :plain),
                 '42501', 'permission denied for table lead',
                 'then the lead, which its write needs UPDATE on');
RESET ROLE;
SELECT is((SELECT count(*) FROM cadence.event WHERE provider_id LIKE 'k-rights-%'), 0::bigint,
          'and none of the refused events is recorded');

SELECT * FROM finish();
ROLLBACK;
