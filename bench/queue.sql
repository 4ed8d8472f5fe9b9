-- The queue for figure 3, claim+complete.  A committed cadence.tick at :as_of
-- queues one touch per due enrolment (timed, for reference: it includes the
-- commit); then as many again are inserted directly, for enrolments whose
-- number ends in 5, as if an earlier tick had queued their first step.
-- bench.queue, the baseline's plain table, gets the same rows.
-- psql variables: :as_of, :n_due.

SET ROLE bench_app;
SELECT clock_timestamp() AS t0 \gset
SELECT cadence.tick(:'as_of') AS queued \gset
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS seconds \gset
SELECT bench.check(:queued = :n_due, format('committed tick queued %s touches, expected %s', :queued, :n_due)) \g /dev/null
INSERT INTO bench.result VALUES ('tick', 'engine_committed', 0, :seconds, :queued);
RESET ROLE;

INSERT INTO cadence.touch (tenant_id, lead_id, enrolment_id, step_no, channel, planned_at, due_at, status,
                           subject, body, created_at)
SELECT e.tenant_id, e.lead_id, e.enrolment_id, 1, 'email', e.enrolled_at, e.enrolled_at, 'queued',
       'Thanks for your enquiry, ' || coalesce(l.first_name, 'there'),
       'Hi ' || coalesce(l.first_name, 'there') || ', thanks for asking about the vehicle. Reply with a time that suits you.'
       || E'\n\nYou are receiving this because you contacted default. To stop these emails, reply UNSUBSCRIBE.',
       e.enrolled_at
  FROM cadence.enrolment e
  JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id
 WHERE e.tenant_id = 1 AND e.enrolment_id % 10 = 5
 ORDER BY e.enrolment_id
 LIMIT :n_due;

SELECT count(*) AS n_queue FROM cadence.touch
 WHERE tenant_id = 1 AND status = 'queued' AND channel = 'email' AND due_at <= :'as_of' \gset
SELECT bench.check(:n_queue = 2 * :n_due, format('%s touches queued and due, expected %s', :n_queue, 2 * :n_due))
\g /dev/null

INSERT INTO bench.queue SELECT * FROM cadence.touch WHERE status = 'queued' ORDER BY tenant_id, touch_id;

VACUUM ANALYZE cadence.touch;
VACUUM ANALYZE cadence.enrolment;
VACUUM ANALYZE bench.queue;
CHECKPOINT;
