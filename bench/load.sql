-- Benchmark data, set-based: leads and their active enrolments numbered
-- :first to :last (both tables keyed by the same number), tenant 1.
-- psql variables: :first, :last, :as_of.
--
-- Leads: four US time zones, one in ten without a first name (the templates'
-- {{first_name|there}} fallback fills it).  Enrolments: every tenth (number
-- divisible by 10) is due at :as_of (enrolled up to two hours before it, its
-- immediate first step not yet ticked); the others were enrolled in the 23
-- hours before :as_of, had their first step and wait for the second
-- ("+1 day"), due at least an hour after :as_of.  Nothing is due three hours
-- before :as_of.

INSERT INTO cadence.lead (tenant_id, lead_id, external_id, first_name, last_name, email, phone, time_zone,
                          segment, source, created_at)
SELECT 1, i, 'L' || i,
       CASE WHEN i % 10 = 3 THEN NULL ELSE 'Pat' || i END,
       'Lee' || i,
       'lead' || i || '@example.com',
       '+1555' || lpad((i % 10000000)::text, 7, '0'),
       (ARRAY['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'])[1 + i % 4],
       'new_inbound', 'web', :'as_of'::timestamptz - interval '2 days'
  FROM generate_series(:first::bigint, :last::bigint) AS i;

INSERT INTO cadence.enrolment (tenant_id, enrolment_id, lead_id, cadence_version_id, status, enrolled_at,
                               next_step_no, next_due_at)
SELECT 1, i, i, v.cadence_version_id, 'active', x.enrolled_at,
       CASE WHEN i % 10 = 0 THEN 1 ELSE 2 END,
       CASE WHEN i % 10 = 0 THEN x.enrolled_at ELSE x.enrolled_at + interval '1 day' END
  FROM generate_series(:first::bigint, :last::bigint) AS i
 CROSS JOIN (SELECT cadence_version_id FROM cadence.cadence_version
              WHERE tenant_id = 1 AND cadence_key = 'bench-email-nurture') AS v
 CROSS JOIN LATERAL (
        SELECT :'as_of'::timestamptz - CASE WHEN i % 10 = 0 THEN (1 + (i / 10) % 120) * interval '1 minute'
                                            ELSE (1 + i % 1380) * interval '1 minute' END AS enrolled_at) AS x;

-- Keep the identity sequences ahead of the explicit numbers.
SELECT setval(pg_get_serial_sequence('cadence.lead', 'lead_id'), :last::bigint) \g /dev/null
SELECT setval(pg_get_serial_sequence('cadence.enrolment', 'enrolment_id'), :last::bigint) \g /dev/null
