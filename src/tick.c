/*
 * tick.c
 *		cadence.tick(as_of): advance every enrolment whose next step is due.
 *
 * One set-based statement does a batch of enrolments of one tenant: it locks
 * the due enrolments (SKIP LOCKED, so concurrent ticks share the work and
 * never take the same lead twice), decides for each step whether it is
 * queued, skipped, held or moves the enrolment out, computes the due time
 * through the compliance gates (plan_touch) and renders the message
 * (render), inserts the touches and moves each enrolment to its next step.
 * The per-row computing is done by C functions the statement calls; the
 * rows move in sets.  The statement is repeated until nothing is due, so an
 * enrolment that fell several steps behind catches up in one tick.
 *
 * Tenants are processed one at a time and every statement is confined to
 * one tenant, which keeps the tick valid on a cluster distributed by tenant.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "cadence.h"

PG_FUNCTION_INFO_V1(cadence_tick);
PG_FUNCTION_INFO_V1(cadence_tick_for_tenant);

/*
 * The tick statement.  $1 tenant, $2 as_of, $3 batch size.  It returns the
 * number of enrolments it processed and the number of touches it queued.
 *
 * The next step is planned no earlier than this touch goes out, so order
 * is kept when a gate defers a touch; between two steps timed from the
 * enrolment ("+5 minutes" after "immediate") the gap is kept as well, so a
 * text planned five minutes after a call still follows the deferred call by
 * five minutes.
 *
 * The step's outcome is decided in this order: global opt-out (the
 * enrolment exits), the step's condition, channel opt-out and consent
 * (cadence.consent_refusal(), which the claim asks again), a
 * missing address, a missing merge field (held for review), else queued.
 */
static const char *const tick_sql =
"WITH due AS ("
"    SELECT e.tenant_id, e.enrolment_id, e.lead_id, e.cadence_version_id,"
"           e.next_step_no AS step_no, e.next_due_at AS planned_at, e.enrolled_at, e.move_reason"
"      FROM cadence.enrolment e"
"     WHERE e.tenant_id = $1 AND e.status = 'active' AND e.next_due_at <= $2"
"     ORDER BY e.next_due_at, e.enrolment_id"
"     LIMIT $3"
"       FOR NO KEY UPDATE SKIP LOCKED"
"), on_duty AS MATERIALIZED ("
"    SELECT array_agg(r.rep_id ORDER BY r.rep_id) AS reps"
"      FROM cadence.rep r"
"     WHERE r.tenant_id = $1 AND r.on_duty AND r.active AND r.role = 'rep'"
"), candidate AS ("
"    SELECT d.*, s.condition, s.subject AS subject_template, s.body AS body_template, s.variants,"
"           s.timing_kind, s.step_offset, s.is_break_up,"
"           ch.channel, ch.requires_consent, ch.address_field, ch.rep_task,"
"           coalesce(p.allowed_from, ch.allowed_from) AS allowed_from,"
"           coalesce(p.allowed_until, ch.allowed_until) AS allowed_until,"
"           lim.max_per_day, lim.min_gap,"
"           l.time_zone, l.phone, l.email, rep.rep_id AS assignee,"
"           tn.email_footer, tn.sms_opt_out_line,"
"           cadence.render_context(l, rep, tn) AS context,"
"           l.opted_out AS opted_out_everywhere,"
"           cadence.consent_refusal(l.opted_out, l.blocked_channels, l.consented_channels,"
"                                   ch.channel, ch.requires_consent) AS consent_refusal,"
"           CASE s.condition"
"             WHEN 'previous_call_unanswered' THEN"
"               (SELECT t.outcome FROM cadence.touch t"
"                 WHERE t.tenant_id = d.tenant_id AND t.enrolment_id = d.enrolment_id"
"                   AND t.step_no < d.step_no AND t.channel = 'call' AND t.status <> 'skipped'"
"                 ORDER BY t.step_no DESC LIMIT 1) IS DISTINCT FROM 'answered'"
"             WHEN 'no_response' THEN"
"               l.last_response_at IS NULL OR l.last_response_at < coalesce("
"                 (SELECT max(t.due_at) FROM cadence.touch t"
"                   WHERE t.tenant_id = d.tenant_id AND t.enrolment_id = d.enrolment_id"
"                     AND t.step_no < d.step_no AND t.status IN ('queued', 'claimed', 'done')),"
"                 d.enrolled_at)"
"             ELSE true"
"           END AS condition_met,"
"           line.opt_out_line,"
"           /* the lead's other attempts that count against the channel's limits"
"              (calls and voicemails together) and that the cap (24 hours) or the"
"              gap (however long) can reach, in hours, not calendar days */"
"           CASE WHEN lim.max_per_day IS NOT NULL OR lim.min_gap IS NOT NULL THEN"
"             ARRAY(SELECT t.due_at FROM cadence.touch t"
"                    WHERE t.tenant_id = d.tenant_id AND t.lead_id = d.lead_id"
"                      AND t.channel = ANY (lim.counted_channels)"
"                      AND t.status IN ('queued', 'claimed', 'done', 'failed')"
"                      AND t.due_at > d.planned_at"
"                                     - pg_catalog.make_interval(secs => greatest(86400,"
"                                           extract(epoch FROM coalesce(lim.min_gap, interval '0'))"
"                                         )::double precision))"
"           END AS earlier_attempts,"
"           (d.enrolment_id % (1 + pg_catalog.jsonb_array_length(s.variants)))::integer AS variant"
"      FROM due d"
"      JOIN cadence.step s"
"        ON s.tenant_id = d.tenant_id AND s.cadence_version_id = d.cadence_version_id AND s.step_no = d.step_no"
"      JOIN cadence.lead l ON l.tenant_id = d.tenant_id AND l.lead_id = d.lead_id"
"      JOIN cadence.tenant tn ON tn.tenant_id = d.tenant_id"
/*
 * A step offering several channels takes the first the lead can receive
 * (not opted out, consent where needed, an address), preferring the
 * lead's preferred channel; if none can, the first (and is skipped below).
 */
"      JOIN cadence.channel ch"
"        ON ch.channel = CASE WHEN pg_catalog.cardinality(s.channel_options) = 1 THEN s.channel_options[1]"
"                             ELSE (SELECT o.channel"
"                                     FROM unnest(s.channel_options) WITH ORDINALITY AS o(channel, n)"
"                                     JOIN cadence.channel c2 ON c2.channel = o.channel"
"                                    ORDER BY (cadence.consent_refusal(false, l.blocked_channels, l.consented_channels,"
"                                                                      o.channel, c2.requires_consent) IS NULL"
"                                              AND CASE c2.address_field"
"                                                    WHEN 'phone' THEN coalesce(btrim(l.phone), '') <> ''"
"                                                    WHEN 'email' THEN coalesce(btrim(l.email), '') <> ''"
"                                                    ELSE true END) DESC,"
"                                             (o.channel = l.preferred_channel) IS TRUE DESC, o.n"
"                                    LIMIT 1) END"
"      LEFT JOIN cadence.channel_policy p ON p.tenant_id = d.tenant_id AND p.channel = ch.channel"
"      JOIN cadence.attempt_limits($1) lim ON lim.channel = ch.channel"
/* whether a text carries the opt-out line, from the lines of the lead's texts written so far */
"      CROSS JOIN LATERAL cadence.opt_out_line_due(d.tenant_id, d.lead_id, ch.channel) line"
"      CROSS JOIN on_duty"
"      LEFT JOIN cadence.rep owner"
"        ON owner.tenant_id = l.tenant_id AND owner.rep_id = l.owner_rep_id AND owner.active"
"      LEFT JOIN cadence.rep rep"
"        ON rep.tenant_id = d.tenant_id"
"       AND rep.rep_id = coalesce(owner.rep_id,"
"                                 on_duty.reps[1 + (l.lead_id % pg_catalog.cardinality(on_duty.reps))])"
/* the columns are listed so that the merge context is built once per touch */
"), planned AS ("
"    SELECT c.tenant_id, c.enrolment_id, c.lead_id, c.cadence_version_id, c.step_no, c.planned_at,"
"           c.enrolled_at, c.move_reason, c.condition, c.timing_kind, c.step_offset, c.is_break_up,"
"           c.channel, c.requires_consent, c.address_field, c.rep_task, c.time_zone, c.phone, c.email,"
"           c.assignee, c.opted_out_everywhere, c.consent_refusal, c.condition_met,"
"           c.variant, c.opt_out_line, g.due_at, g.defer_reasons, r.subject, r.body, r.missing"
"      FROM candidate c"
"     CROSS JOIN LATERAL cadence.plan_touch(c.planned_at, c.time_zone, c.allowed_from, c.allowed_until,"
"                                           c.max_per_day, c.min_gap, c.earlier_attempts) g"
"     CROSS JOIN LATERAL cadence.render_touch("
"           CASE WHEN c.channel <> 'email' THEN NULL"
"                WHEN c.variant = 0 THEN c.subject_template"
"                ELSE coalesce(c.variants -> (c.variant - 1) ->> 'subject', c.subject_template) END,"
"           cadence.with_compliance_text("
"             CASE WHEN c.variant = 0 THEN c.body_template ELSE c.variants -> (c.variant - 1) ->> 'body' END,"
"             c.channel, c.email_footer, c.sms_opt_out_line, c.opt_out_line),"
"           c.context) r"
"), decided AS ("
"    SELECT p.*,"
"           CASE WHEN p.opted_out_everywhere THEN 'opted_out'"
"                WHEN NOT p.condition_met THEN 'condition_not_met:' || p.condition"
"                WHEN p.consent_refusal IS NOT NULL THEN p.consent_refusal"
"                WHEN p.address_field = 'phone' AND coalesce(btrim(p.phone), '') = '' THEN 'no_phone'"
"                WHEN p.address_field = 'email' AND coalesce(btrim(p.email), '') = '' THEN 'no_email'"
"                WHEN pg_catalog.cardinality(p.missing) > 0"
"                THEN 'missing_merge_field:' || pg_catalog.array_to_string(p.missing, ',')"
"           END AS reason"
"      FROM planned p"
"), inserted AS ("
"    INSERT INTO cadence.touch (tenant_id, lead_id, enrolment_id, step_no, channel, planned_at, due_at,"
"                               defer_reasons, status, status_reason, subject, body, opt_out_line, variant,"
"                               assignee_rep_id, created_at)"
"    SELECT d.tenant_id, d.lead_id, d.enrolment_id, d.step_no, d.channel, d.planned_at,"
"           CASE WHEN d.reason IS NULL THEN d.due_at ELSE d.planned_at END,"
"           CASE WHEN d.reason IS NULL THEN d.defer_reasons ELSE '{}' END,"
"           CASE WHEN d.reason IS NULL THEN 'queued'"
"                WHEN d.reason LIKE 'missing_merge_field:%' THEN 'held' ELSE 'skipped' END,"
"           d.reason, d.subject, d.body, d.opt_out_line, d.variant,"
"           CASE WHEN d.rep_task THEN d.assignee END, $2"
"      FROM decided d"
/* touches are numbered in enrolment order, whatever the plan: same input, same ids */
"     ORDER BY d.enrolment_id"
"    ON CONFLICT (tenant_id, enrolment_id, step_no) DO NOTHING"
"    RETURNING status"
"), advanced AS ("
"    UPDATE cadence.enrolment e"
"       SET next_step_no = d.step_no + 1,"
"           next_due_at = CASE"
"             WHEN f.fate <> 'next' THEN NULL"
"             WHEN n.timing_kind = 'after_previous' THEN"
"               CASE WHEN d.reason IS NULL OR d.reason LIKE 'missing_merge_field:%' THEN NULL"
"                    ELSE cadence.step_due(n.timing_kind, n.step_offset, n.day_number, n.window_from,"
"                                          n.window_until, n.weekdays, d.enrolled_at, d.planned_at, d.time_zone) END"
/* kept in order (and gap) behind a deferred touch, then put back into the step's window and weekdays */
"             ELSE cadence.step_due('offset', NULL, NULL, n.window_from, n.window_until, n.weekdays,"
"                    greatest(cadence.step_due(n.timing_kind, n.step_offset, n.day_number, n.window_from,"
"                                              n.window_until, n.weekdays, d.enrolled_at, NULL, d.time_zone),"
"                             f.sent_at"
"                             + CASE WHEN n.timing_kind = 'offset' AND d.timing_kind = 'offset'"
"                                    THEN n.step_offset - d.step_offset ELSE interval '0' END),"
"                    NULL, d.time_zone)"
"           END,"
"           status = CASE f.fate WHEN 'opt_out' THEN 'exited' WHEN 'complete' THEN 'completed' ELSE 'active' END,"
"           ended_at = CASE WHEN f.fate IN ('opt_out', 'complete') THEN $2 END,"
"           exit_reason = CASE f.fate WHEN 'opt_out' THEN 'opt_out' WHEN 'complete' THEN 'cadence_completed' END,"
"           move_due_at = CASE f.fate WHEN 'opt_out' THEN NULL"
"                                     WHEN 'move' THEN greatest($2, f.sent_at)"
"                                          + CASE WHEN d.is_break_up THEN interval '1 day' ELSE interval '0' END"
"                                     ELSE e.move_due_at END,"
"           move_to = CASE WHEN f.fate = 'move' AND NOT d.is_break_up"
"                          THEN v.rules -> 'on_complete' ->> 'move_to' ELSE e.move_to END,"
"           move_reason = CASE WHEN f.fate = 'move' AND NOT d.is_break_up"
"                              THEN 'cadence_completed' ELSE e.move_reason END"
"      FROM decided d"
"      JOIN cadence.cadence_version v"
"        ON v.tenant_id = d.tenant_id AND v.cadence_version_id = d.cadence_version_id"
"      LEFT JOIN cadence.step n"
"        ON n.tenant_id = d.tenant_id AND n.cadence_version_id = d.cadence_version_id"
"       AND n.step_no = d.step_no + 1 AND NOT n.is_break_up"
/*
 * What happens to the enrolment: on to the next step; out after a global
 * opt-out; after the last step (or the break-up message) a move to the
 * next cadence, or a wait for the silence clock, or the end.
 */
"     CROSS JOIN LATERAL (SELECT CASE"
"                 WHEN d.opted_out_everywhere THEN 'opt_out'"
"                 WHEN n.step_no IS NOT NULL THEN 'next'"
"                 WHEN d.is_break_up OR v.rules ? 'on_complete' THEN 'move'"
"                 WHEN d.move_reason = 'silence' THEN 'wait_for_silence'"
"                 ELSE 'complete' END,"
"               CASE WHEN d.reason IS NULL THEN d.due_at ELSE d.planned_at END) AS f(fate, sent_at)"
"     WHERE e.tenant_id = d.tenant_id AND e.enrolment_id = d.enrolment_id"
"    RETURNING 1"
")"
"SELECT (SELECT count(*) FROM advanced), (SELECT count(*) FROM inserted WHERE status = 'queued')";

/*
 * Moves to another cadence whose time has come ($1 tenant, $2 as_of, $3
 * batch): after the last step when the rules say on_complete, or after a
 * silence (on_silence).  A silence move with a break-up message first sends
 * that message (by pointing the enrolment at its step, which the tick
 * statement then plans like any other) and moves a day after it went out.
 *
 * For a silence move, move_due_at is the earliest time: engagement events
 * only write the lead's last_engagement_at, and the move is due once that
 * is on_silence.after ago.  An enrolment found too early is given its
 * later time instead (pushed).  An event being applied holds the
 * enrolment, so its lead is skipped; the lead itself is locked in share
 * mode, so that a writer of last_engagement_at that committed since the
 * statement began (an event, complete_touches, the CRM) is seen: the row is
 * read again as it left it.  The lead is locked first, so that a lead held
 * by a writer (a long rescore, say) is skipped without leaving its
 * enrolment locked until the tick commits.
 * Returns the enrolments handled (moved, pushed, or sent to the break-up
 * message) and the moves made.
 */
static const char *const move_sql =
"WITH due AS ("
"    SELECT e.tenant_id, e.enrolment_id, e.lead_id, e.cadence_version_id, e.next_step_no, e.move_to, e.move_reason,"
"           CASE WHEN e.move_reason = 'silence'"
"                THEN greatest(e.move_due_at, l.last_engagement_at"
"                                             + cadence.parse_duration(v.rules -> 'on_silence' ->> 'after'))"
"           END AS silence_due"
"      FROM cadence.enrolment e"
"      JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id"
"      JOIN cadence.cadence_version v ON v.tenant_id = e.tenant_id AND v.cadence_version_id = e.cadence_version_id"
"     WHERE e.tenant_id = $1 AND e.status = 'active' AND e.move_due_at <= $2"
"     ORDER BY e.move_due_at, e.enrolment_id"
"     LIMIT $3"
"       FOR SHARE OF l SKIP LOCKED"
"       FOR NO KEY UPDATE OF e SKIP LOCKED"
"), pushed AS ("
"    UPDATE cadence.enrolment e"
"       SET move_due_at = d.silence_due"
"      FROM due d"
"     WHERE e.tenant_id = d.tenant_id AND e.enrolment_id = d.enrolment_id AND d.silence_due > $2"
"    RETURNING 1"
"), planned AS ("
"    SELECT d.*, b.step_no AS break_up_step,"
"           coalesce(d.move_reason = 'silence' AND d.next_step_no <= b.step_no, false) AS break_up_first"
"      FROM due d"
"      LEFT JOIN cadence.step b"
"        ON b.tenant_id = d.tenant_id AND b.cadence_version_id = d.cadence_version_id AND b.is_break_up"
"     WHERE d.silence_due IS NULL OR d.silence_due <= $2"
"), break_up AS ("
"    UPDATE cadence.enrolment e"
"       SET next_step_no = p.break_up_step, next_due_at = $2, move_due_at = NULL"
"      FROM planned p"
"     WHERE e.tenant_id = p.tenant_id AND e.enrolment_id = p.enrolment_id AND p.break_up_first"
"    RETURNING 1"
"), ended AS ("
"    UPDATE cadence.enrolment e"
"       SET status = CASE WHEN p.move_reason = 'cadence_completed' THEN 'completed' ELSE 'exited' END,"
"           exit_reason = p.move_reason, ended_at = $2, next_due_at = NULL, move_due_at = NULL"
"      FROM planned p"
"     WHERE e.tenant_id = p.tenant_id AND e.enrolment_id = p.enrolment_id AND NOT p.break_up_first"
"    RETURNING e.tenant_id, e.enrolment_id, e.lead_id, p.move_to, p.move_reason, p.break_up_step"
"), withdrawn AS ("
"    UPDATE cadence.touch t"
"       SET status = 'cancelled', status_reason = 'moved_on_silence', lease_until = NULL"
"      FROM ended x"
"     WHERE t.tenant_id = x.tenant_id AND t.enrolment_id = x.enrolment_id AND x.move_reason = 'silence'"
"       AND t.status IN ('queued', 'held') AND t.step_no IS DISTINCT FROM x.break_up_step"
"    RETURNING 1"
")"
"SELECT (SELECT count(*) FROM break_up) + (SELECT count(*) FROM ended) + (SELECT count(*) FROM pushed)"
"       + 0 * (SELECT count(*) FROM withdrawn),"
/* the new enrolments are made in the order of the old ones: same input, same ids */
"       (SELECT coalesce(cardinality(cadence.start_enrolments(array_agg(x.tenant_id ORDER BY x.enrolment_id),"
"                                                    array_agg(x.lead_id ORDER BY x.enrolment_id),"
"                                                    array_agg(x.move_to ORDER BY x.enrolment_id),"
"                                                    array_agg($2::timestamptz ORDER BY x.enrolment_id),"
"                                                    array_agg(x.enrolment_id ORDER BY x.enrolment_id))), 0)::bigint"
"          FROM ended x"
"         WHERE EXISTS (SELECT FROM cadence.cadence c WHERE c.tenant_id = x.tenant_id AND c.cadence_key = x.move_to))";

/*
 * Alerts that waited longer than the tenant's hand-off timeout without
 * human contact go to a manager: an on-duty one first, else any active one.
 * A tenant with no active manager has nobody to pass them to: an alert
 * then stays open, unescalated, and is marked no_manager_at (once, by the
 * first tick that found nobody) for the dashboards to show; it goes to the
 * first manager a later tick finds.  Until then the marked alerts are left
 * alone, so that ticks do not take them up again and again: they have an
 * index of their own (alert_awaiting_manager), read only once there is a
 * manager.
 */
static const char *const alert_sql =
"WITH manager AS ("
"    SELECT (array_agg(r.rep_id ORDER BY r.on_duty DESC, r.rep_id))[1] AS rep_id"
"      FROM cadence.rep r"
"     WHERE r.tenant_id = $1 AND r.role = 'manager' AND r.active"
"), due AS ("
"    SELECT a.tenant_id, a.alert_id"
"      FROM cadence.alert a"
"     WHERE a.tenant_id = $1 AND a.status = 'open' AND a.no_manager_at IS NULL AND a.escalate_at <= $2"
"     ORDER BY a.escalate_at"
"     LIMIT $3"
"       FOR NO KEY UPDATE OF a SKIP LOCKED"
"), waited AS ("
"    SELECT a.tenant_id, a.alert_id"
"      FROM cadence.alert a"
"     WHERE a.tenant_id = $1 AND a.status = 'open' AND a.no_manager_at IS NOT NULL AND a.escalate_at <= $2"
"       AND EXISTS (SELECT FROM manager m WHERE m.rep_id IS NOT NULL)"
"     ORDER BY a.escalate_at"
"     LIMIT $3"
"       FOR NO KEY UPDATE OF a SKIP LOCKED"
"), escalated AS ("
"    UPDATE cadence.alert a"
"       SET status = CASE WHEN manager.rep_id IS NULL THEN 'open' ELSE 'escalated' END,"
"           escalated_at = CASE WHEN manager.rep_id IS NOT NULL THEN $2 END,"
"           escalated_to_rep_id = manager.rep_id,"
"           no_manager_at = coalesce(a.no_manager_at, CASE WHEN manager.rep_id IS NULL THEN $2 END)"
"      FROM (SELECT * FROM due UNION ALL SELECT * FROM waited) d, manager"
"     WHERE a.tenant_id = d.tenant_id AND a.alert_id = d.alert_id"
"    RETURNING 1"
")"
"SELECT count(*), 0::bigint FROM escalated";

/*
 * Whether anything at all is due for a tenant: the earliest entry of each
 * due-time index, read with a plan made once.  It spares an idle tick the
 * planning of the big statements, which would otherwise be most of its
 * cost, and its own cost does not grow with the number of enrolments, nor
 * with the alerts waiting for a manager: those are looked at (in an index
 * of their own) only once the tenant has an active manager.
 */
static const char *const due_check_sql =
"SELECT (coalesce((SELECT e.next_due_at FROM cadence.enrolment e"
"                  WHERE e.tenant_id = $1 AND e.status = 'active' AND e.next_due_at IS NOT NULL"
"                  ORDER BY e.next_due_at LIMIT 1) <= $2, false)"
"    OR coalesce((SELECT e.move_due_at FROM cadence.enrolment e"
"                  WHERE e.tenant_id = $1 AND e.status = 'active' AND e.move_due_at IS NOT NULL"
"                  ORDER BY e.move_due_at LIMIT 1) <= $2, false)"
"    OR coalesce((SELECT a.escalate_at FROM cadence.alert a"
"                  WHERE a.tenant_id = $1 AND a.status = 'open' AND a.no_manager_at IS NULL"
"                  ORDER BY a.escalate_at LIMIT 1) <= $2, false)"
/* an alert waiting for a manager is due again only once there is one */
"    OR (EXISTS (SELECT FROM cadence.rep r"
"                 WHERE r.tenant_id = $1 AND r.role = 'manager' AND r.active)"
"        AND EXISTS (SELECT FROM cadence.alert a"
"                     WHERE a.tenant_id = $1 AND a.status = 'open' AND a.no_manager_at IS NOT NULL"
"                       AND a.escalate_at <= $2)))::integer::bigint,"
"       0::bigint";

static const char *const tenants_sql =
"SELECT tenant_id FROM cadence.tenant ORDER BY tenant_id";

static SPIPlanPtr due_check_plan = NULL;
static SPIPlanPtr tenants_plan = NULL;
static SPIPlanPtr tick_plan = NULL;
static SPIPlanPtr move_plan = NULL;
static SPIPlanPtr alert_plan = NULL;

/* Limit on statements per tenant and tick: a guard, not a tuning knob. */
#define MAX_ROUNDS_PER_TENANT 10000

/*
 * A per-tenant statement, prepared once per backend: its parameters are
 * always the tenant, as_of and the batch size.  The big statements keep one
 * generic plan: they read the due rows through their index whatever as_of
 * is, and planning them again at every tick would cost more than the work
 * of a typical tick.
 */
static SPIPlanPtr
TickPlan(SPIPlanPtr *cache, const char *sql)
{
	static Oid	argtypes[3] = {INT8OID, TIMESTAMPTZOID, INT4OID};

	return KeptPlan(cache, sql, 3, argtypes, CURSOR_OPT_GENERIC_PLAN);
}

/*
 * Run one per-tenant statement; it returns (rows handled, touches or moves
 * made).  Adds the second figure to *made and returns the first.
 */
static int64
RunTenantStatement(SPIPlanPtr plan, int64 tenant_id, TimestampTz as_of, int64 *made)
{
	Datum		args[3];
	bool		isnull;
	int64		handled;

	args[0] = Int64GetDatum(tenant_id);
	args[1] = TimestampTzGetDatum(as_of);
	args[2] = Int32GetDatum(cadence_tick_batch_size);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "tick statement failed");

	handled = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*made += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return handled;
}

/*
 * Everything due for one tenant: moves between cadences, steps (repeated
 * until nothing is due, since a move or a step can make another one due at
 * once), then alerts past their hand-off timeout.  Returns touches queued.
 */
static int64
TickTenant(int64 tenant_id, TimestampTz as_of)
{
	int64		queued = 0;
	int64		moves = 0;
	int64		escalations = 0;
	int64		unused = 0;
	int			round;

	if (RunTenantStatement(TickPlan(&due_check_plan, due_check_sql),
						   tenant_id, as_of, &unused) == 0)
		return 0;

	for (round = 0; round < MAX_ROUNDS_PER_TENANT; round++)
	{
		int64		handled;

		CHECK_FOR_INTERRUPTS();
		handled = RunTenantStatement(TickPlan(&move_plan, move_sql), tenant_id, as_of, &moves);
		handled += RunTenantStatement(TickPlan(&tick_plan, tick_sql), tenant_id, as_of, &queued);
		if (handled == 0)
			break;
	}
	while (RunTenantStatement(TickPlan(&alert_plan, alert_sql), tenant_id, as_of,
							  &escalations) > 0)
		CHECK_FOR_INTERRUPTS();
	return queued;
}

/*
 * Check a tick's as_of and connect to SPI (the caller finishes it).
 */
static void
StartTick(TimestampTz as_of)
{
	if (TIMESTAMP_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be a finite time, not \"%s\"",
						timestamptz_to_str(as_of))));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

/*
 * cadence.tick_for_tenant(tenant_id bigint, as_of timestamptz) returns integer
 *
 * Advance the due enrolments of one tenant only, whoever the caller is (the
 * scheduler's per-tenant pass: a superuser's cadence.tick() would tick every
 * tenant).  Under row-level security the caller still sees only the
 * current tenant's rows.
 */
Datum
cadence_tick_for_tenant(PG_FUNCTION_ARGS)
{
	int64		tenant_id = PG_GETARG_INT64(0);
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(1);
	int64		queued;

	StartTick(as_of);
	queued = TickTenant(tenant_id, as_of);
	SPI_finish();
	PG_RETURN_INT32((int32) Min(queued, PG_INT32_MAX));
}

/*
 * cadence.tick(as_of timestamptz) returns integer
 *
 * Advance every due enrolment of every tenant the caller can see (under
 * row-level security, the current tenant only), one tenant at a time.
 */
Datum
cadence_tick(PG_FUNCTION_ARGS)
{
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(0);
	int64	   *tenants;
	int			ntenants;
	int			i;
	int64		queued = 0;

	StartTick(as_of);
	if (SPI_execute_plan(KeptPlan(&tenants_plan, tenants_sql, 0, NULL, 0), NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list tenants");
	ntenants = (int) SPI_processed;
	tenants = palloc(sizeof(int64) * Max(ntenants, 1));
	for (i = 0; i < ntenants; i++)
	{
		bool		isnull;

		tenants[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);

	for (i = 0; i < ntenants; i++)
		queued += TickTenant(tenants[i], as_of);

	SPI_finish();
	PG_RETURN_INT32((int32) Min(queued, PG_INT32_MAX));
}
