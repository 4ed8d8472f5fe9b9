/*
 * event.c
 *		The trigger that applies engagement events as they arrive.
 *
 * cadence.event_applied() runs once per INSERT or COPY into cadence.event
 * (AFTER ... FOR EACH STATEMENT, with the new rows as the transition table
 * new_events), so a bulk load is applied in sets rather than row by row.
 * It first refuses the whole statement if any event is invalid (an unknown
 * kind, a touch of another lead, a malformed payload), then one statement
 * applies every effect:
 *
 *	- consent: unsubscribe, STOP-like SMS replies, START, opt_out are written
 *	  to the consent ledger, whose own trigger cancels unsent touches;
 *	- the lead: last response, last engagement, preferred channel;
 *	- the enrolment: exit (exit_on), pause and hand to a human (pause_on),
 *	  escalation to another cadence when a counter over a window is reached
 *	  (escalate; the move keeps history and adds to the score), and the
 *	  silence clock pushed back by engagement (on_silence);
 *	- touches of an enrolment that stops are cancelled;
 *	- alerts for a human (hand_off_on), and alerts closed by human contact.
 *
 * Each cadence's rules say which kinds exit, pause or alert; kinds' defaults
 * apply when a cadence does not say.  Every row written belongs to the
 * event's own tenant, and cadence definitions are only read.
 */
#include "postgres.h"

#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "cadence.h"

PG_FUNCTION_INFO_V1(cadence_event_applied);

/*
 * Below this many new rows the kept (generic) plans are used; a bulk load
 * is planned afresh so that the planner sees how big the batch is.
 */
#define SMALL_BATCH 1000

/* The first invalid event, if any: what is wrong and with which event. */
static const char *const validate_sql =
"SELECT n.kind, n.lead_id, n.touch_id,"
"       CASE WHEN NOT EXISTS (SELECT FROM cadence.event_kind b WHERE b.kind = n.kind)"
"             AND NOT EXISTS (SELECT FROM cadence.custom_event_kind c"
"                              WHERE c.tenant_id = n.tenant_id AND c.kind = n.kind) THEN 'kind'"
"            WHEN n.payload ? 'body' AND pg_catalog.jsonb_typeof(n.payload -> 'body') <> 'string' THEN 'body'"
"            ELSE 'touch' END"
"  FROM new_events n"
" WHERE (NOT EXISTS (SELECT FROM cadence.event_kind b WHERE b.kind = n.kind)"
"        AND NOT EXISTS (SELECT FROM cadence.custom_event_kind c"
"                         WHERE c.tenant_id = n.tenant_id AND c.kind = n.kind))"
"    OR (n.payload ? 'body' AND pg_catalog.jsonb_typeof(n.payload -> 'body') <> 'string')"
"    OR (n.touch_id IS NOT NULL AND NOT EXISTS (SELECT FROM cadence.touch t"
"                                                WHERE t.tenant_id = n.tenant_id AND t.touch_id = n.touch_id"
"                                                  AND t.lead_id = n.lead_id))"
" LIMIT 1";

static const char *const apply_sql =
/* every new event with its effective kind (STOP in an SMS reply is sms_stop) and that kind's effects */
"WITH ev AS ("
"    SELECT n.tenant_id, n.event_id, n.lead_id, n.occurred_at, n.source, k.kind,"
"           coalesce(c.response, b.response) AS response,"
"           coalesce(c.engagement, b.engagement) AS engagement,"
"           coalesce(c.human_contact, b.human_contact) AS human_contact,"
"           CASE WHEN c.kind IS NULL THEN b.consent_channel ELSE c.consent_channel END AS consent_channel,"
"           CASE WHEN c.kind IS NULL THEN b.consent_action ELSE c.consent_action END AS consent_action,"
"           CASE WHEN c.kind IS NULL THEN b.preferred_channel ELSE c.preferred_channel END AS preferred_channel,"
"           coalesce(c.default_exit, b.default_exit) AS default_exit,"
"           coalesce(c.default_pause, b.default_pause) AS default_pause,"
"           coalesce(c.default_hand_off, b.default_hand_off) AS default_hand_off"
"      FROM new_events n"
"     CROSS JOIN LATERAL (SELECT coalesce(CASE WHEN n.kind = 'sms_reply'"
"                                            THEN cadence.sms_keyword_kind(n.payload ->> 'body') END,"
"                                       n.kind)) AS k(kind)"
"      LEFT JOIN cadence.custom_event_kind c ON c.tenant_id = n.tenant_id AND c.kind = k.kind"
"      LEFT JOIN cadence.event_kind b ON b.kind = k.kind"
/* the lead's running enrolment, locked, and what its cadence makes of each event */
"), running AS ("
"    SELECT e.tenant_id, e.lead_id, e.enrolment_id, e.status, e.enrolled_at, e.move_reason,"
"           v.cadence_key, v.rules"
"      FROM cadence.enrolment e"
"      JOIN cadence.cadence_version v"
"        ON v.tenant_id = e.tenant_id AND v.cadence_version_id = e.cadence_version_id"
"     WHERE (e.tenant_id, e.lead_id) IN (SELECT ev.tenant_id, ev.lead_id FROM ev)"
"       AND e.status IN ('active', 'paused')"
"       FOR UPDATE OF e"
"), effects AS ("
"    SELECT ev.*, r.enrolment_id, r.status AS enrolment_status, r.enrolled_at, r.move_reason, r.cadence_key, r.rules,"
"           CASE WHEN r.rules ? 'exit_on' THEN (r.rules -> 'exit_on') ? ev.kind ELSE ev.default_exit END AS exits,"
"           CASE WHEN r.rules ? 'pause_on' THEN (r.rules -> 'pause_on') ? ev.kind ELSE ev.default_pause END AS pauses,"
"           CASE WHEN r.rules ? 'hand_off_on' THEN (r.rules -> 'hand_off_on') ? ev.kind"
"                ELSE ev.default_hand_off END AS hands_off"
"      FROM ev"
"      LEFT JOIN running r ON r.tenant_id = ev.tenant_id AND r.lead_id = ev.lead_id"
/* one row per lead: the first exit, pause and hand-off, the latest engagement */
"), decision AS ("
"    SELECT f.tenant_id, f.lead_id, f.enrolment_id, f.enrolment_status, f.enrolled_at, f.move_reason,"
"           f.cadence_key, f.rules,"
"           (array_agg(f.kind ORDER BY f.occurred_at, f.event_id) FILTER (WHERE f.exits))[1] AS exit_kind,"
"           min(f.occurred_at) FILTER (WHERE f.exits) AS exit_at,"
"           (array_agg(f.kind ORDER BY f.occurred_at, f.event_id) FILTER (WHERE f.pauses))[1] AS pause_kind,"
"           min(f.occurred_at) FILTER (WHERE f.pauses) AS pause_at,"
"           (array_agg(f.kind ORDER BY f.occurred_at, f.event_id) FILTER (WHERE f.hands_off))[1] AS hand_off_kind,"
"           (array_agg(f.event_id ORDER BY f.occurred_at, f.event_id) FILTER (WHERE f.hands_off))[1] AS hand_off_event,"
"           min(f.occurred_at) FILTER (WHERE f.hands_off) AS hand_off_at,"
"           max(f.occurred_at) FILTER (WHERE f.response) AS response_at,"
"           max(f.occurred_at) FILTER (WHERE f.engagement) AS engaged_at,"
"           min(f.occurred_at) FILTER (WHERE f.human_contact) AS contact_at,"
"           (array_agg(f.kind ORDER BY f.occurred_at, f.event_id) FILTER (WHERE f.human_contact))[1] AS contact_kind,"
"           (array_agg(f.preferred_channel ORDER BY f.occurred_at DESC, f.event_id DESC)"
"              FILTER (WHERE f.preferred_channel IS NOT NULL))[1] AS preferred_channel,"
"           max(f.occurred_at) AS last_at,"
"           array_agg(DISTINCT f.kind) AS kinds"
"      FROM effects f"
"     GROUP BY f.tenant_id, f.lead_id, f.enrolment_id, f.enrolment_status, f.enrolled_at, f.move_reason,"
"              f.cadence_key, f.rules"
/*
 * The first escalation rule of the cadence that a new event completes: the
 * count of its event kind since the enrolment began, within the window,
 * reaches the rule's count.  Only to a cadence that exists, never to itself.
 * Events are counted only for rules whose kind is among the lead's new ones.
 */
"), escalation AS ("
"    SELECT DISTINCT ON (d.tenant_id, d.lead_id) d.tenant_id, d.lead_id, d.enrolment_id, d.last_at,"
"           r.rule ->> 'move_to' AS move_to, coalesce((r.rule ->> 'score')::integer, 0) AS score"
"      FROM decision d"
"     CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(d.rules -> 'escalate') WITH ORDINALITY AS r(rule, ord)"
"     WHERE d.enrolment_status = 'active' AND d.exit_kind IS NULL"
"       AND r.rule ->> 'move_to' <> d.cadence_key"
"       AND d.kinds @> ARRAY[r.rule -> 'when' ->> 'event']"
"       AND (SELECT count(*) FROM cadence.event h"
"             WHERE h.tenant_id = d.tenant_id AND h.lead_id = d.lead_id"
"               AND h.kind = r.rule -> 'when' ->> 'event'"
"               AND h.occurred_at >= d.enrolled_at AND h.occurred_at <= d.last_at"
"               AND h.occurred_at > d.last_at - coalesce(cadence.parse_duration(r.rule -> 'when' ->> 'within'),"
"                                                        d.last_at - d.enrolled_at + interval '1 microsecond'))"
"           >= coalesce((r.rule -> 'when' ->> 'count')::integer, 1)"
"       AND EXISTS (SELECT FROM cadence.cadence c WHERE c.tenant_id = d.tenant_id AND c.cadence_key = r.rule ->> 'move_to')"
"     ORDER BY d.tenant_id, d.lead_id, r.ord"
/* the enrolment stops (exit, escalation, pause), or its silence clock restarts */
"), stopped AS ("
"    UPDATE cadence.enrolment e"
"       SET status = CASE WHEN d.exit_kind IS NOT NULL OR x.lead_id IS NOT NULL THEN 'exited'"
"                         WHEN d.pause_kind IS NOT NULL THEN 'paused' ELSE e.status END,"
"           exit_reason = CASE WHEN d.exit_kind IS NOT NULL THEN d.exit_kind"
"                              WHEN x.lead_id IS NOT NULL THEN 'escalated'"
"                              WHEN d.pause_kind IS NOT NULL AND e.status = 'active' THEN 'handed_off:' || d.pause_kind"
"                              ELSE e.exit_reason END,"
"           ended_at = CASE WHEN d.exit_kind IS NOT NULL THEN d.exit_at"
"                           WHEN x.lead_id IS NOT NULL THEN x.last_at ELSE e.ended_at END,"
"           paused_at = CASE WHEN d.exit_kind IS NULL AND x.lead_id IS NULL AND d.pause_kind IS NOT NULL"
"                                 AND e.status = 'active' THEN d.pause_at ELSE e.paused_at END,"
"           next_due_at = CASE WHEN d.exit_kind IS NOT NULL OR x.lead_id IS NOT NULL OR d.pause_kind IS NOT NULL"
"                              THEN NULL ELSE e.next_due_at END,"
"           move_due_at = CASE WHEN d.exit_kind IS NOT NULL OR x.lead_id IS NOT NULL OR d.pause_kind IS NOT NULL"
"                              THEN NULL"
"                              WHEN e.move_reason = 'silence' AND d.engaged_at IS NOT NULL"
"                              THEN greatest(e.move_due_at, d.engaged_at"
"                                   + cadence.parse_duration(d.rules -> 'on_silence' ->> 'after'))"
"                              ELSE e.move_due_at END"
"      FROM decision d"
"      LEFT JOIN escalation x ON x.tenant_id = d.tenant_id AND x.lead_id = d.lead_id"
"     WHERE e.tenant_id = d.tenant_id AND e.enrolment_id = d.enrolment_id"
"       AND e.status IN ('active', 'paused')"
"       AND (d.exit_kind IS NOT NULL OR x.lead_id IS NOT NULL"
"            OR (d.pause_kind IS NOT NULL AND e.status = 'active')"
"            OR (e.move_reason = 'silence' AND d.engaged_at IS NOT NULL))"
"    RETURNING e.tenant_id, e.enrolment_id, e.lead_id, e.status, e.exit_reason, x.move_to, x.last_at, x.score"
/*
 * Unsent touches are withdrawn: those of an enrolment that stopped, and
 * after an exit (sold, lost, booked, opted out) every unsent touch of the
 * lead, even one its finished enrolment queued last.
 */
"), withdrawn AS ("
"    UPDATE cadence.touch t"
"       SET status = 'cancelled', status_reason = coalesce(d.exit_kind, s.exit_reason), lease_until = NULL"
"      FROM decision d"
"      LEFT JOIN stopped s ON s.tenant_id = d.tenant_id AND s.lead_id = d.lead_id AND s.status IN ('exited', 'paused')"
"     WHERE t.tenant_id = d.tenant_id AND t.lead_id = d.lead_id"
"       AND (d.exit_kind IS NOT NULL OR t.enrolment_id = s.enrolment_id)"
"       AND t.status IN ('queued', 'claimed', 'held')"
"    RETURNING 1"
"), lead_updated AS ("
"    UPDATE cadence.lead l"
"       SET last_response_at = greatest(l.last_response_at, d.response_at),"
"           last_engagement_at = greatest(l.last_engagement_at, d.engaged_at),"
"           preferred_channel = coalesce(d.preferred_channel, l.preferred_channel),"
"           score_bonus = l.score_bonus + coalesce(s.score, 0)"
"      FROM decision d"
"      LEFT JOIN stopped s ON s.tenant_id = d.tenant_id AND s.lead_id = d.lead_id AND s.exit_reason = 'escalated'"
"     WHERE l.tenant_id = d.tenant_id AND l.lead_id = d.lead_id"
"       AND (d.response_at IS NOT NULL OR d.engaged_at IS NOT NULL OR d.preferred_channel IS NOT NULL"
"            OR s.move_to IS NOT NULL)"
"    RETURNING 1"
"), consented AS ("
"    INSERT INTO cadence.consent (tenant_id, lead_id, channel, action, method, recorded_at, recorded_by, evidence)"
"    SELECT ev.tenant_id, ev.lead_id, ev.consent_channel, ev.consent_action, 'event:' || ev.kind, ev.occurred_at,"
"           'cadence.event', pg_catalog.jsonb_build_object('event_id', ev.event_id, 'source', ev.source)"
"      FROM ev"
"     WHERE ev.consent_channel IS NOT NULL"
"    RETURNING 1"
/* a person reached the lead, or the lead left (sold, lost, opted out): no one should chase it now */
"), contacted AS ("
"    UPDATE cadence.alert a"
"       SET status = 'closed', closed_at = least(d.contact_at, d.exit_at),"
"           closed_by = 'event:' || CASE WHEN d.contact_at <= d.exit_at OR d.exit_at IS NULL"
"                                        THEN d.contact_kind ELSE d.exit_kind END"
"      FROM decision d"
"     WHERE (d.contact_at IS NOT NULL OR d.exit_at IS NOT NULL)"
"       AND a.tenant_id = d.tenant_id AND a.lead_id = d.lead_id"
"       AND a.status IN ('open', 'escalated') AND a.created_at <= least(d.contact_at, d.exit_at)"
"    RETURNING 1"
")"
/* moves and alerts are made in sets, in lead order: same input, same ids and reps */
"SELECT (SELECT coalesce(cardinality(cadence.start_enrolments(array_agg(s.tenant_id ORDER BY s.tenant_id, s.lead_id),"
"                                                    array_agg(s.lead_id ORDER BY s.tenant_id, s.lead_id),"
"                                                    array_agg(s.move_to ORDER BY s.tenant_id, s.lead_id),"
"                                                    array_agg(s.last_at ORDER BY s.tenant_id, s.lead_id),"
"                                                    array_agg(s.enrolment_id ORDER BY s.tenant_id, s.lead_id))), 0)::bigint"
"          FROM stopped s WHERE s.exit_reason = 'escalated'),"
"       (SELECT cadence.raise_alerts(array_agg(d.tenant_id ORDER BY d.tenant_id, d.lead_id),"
"                                    array_agg(d.lead_id ORDER BY d.tenant_id, d.lead_id),"
"                                    array_agg(d.enrolment_id ORDER BY d.tenant_id, d.lead_id),"
"                                    array_agg(d.hand_off_event ORDER BY d.tenant_id, d.lead_id),"
"                                    array_agg(d.hand_off_kind ORDER BY d.tenant_id, d.lead_id),"
"                                    array_agg(d.hand_off_at ORDER BY d.tenant_id, d.lead_id))"
"          FROM decision d WHERE d.hand_off_kind IS NOT NULL AND d.exit_kind IS NULL),"
"       (SELECT count(*) FROM withdrawn) + (SELECT count(*) FROM lead_updated)"
"       + (SELECT count(*) FROM consented) + (SELECT count(*) FROM contacted)";

/*
 * Lock the unsent touches of the events' leads, then their running
 * enrolments, each in a statement of its own before the effects are
 * applied.  Every path that changes both a touch and an enrolment takes
 * the touch first (a sender holding a claimed touch completes it, then
 * starts the next step's clock), so this order cannot deadlock; and since
 * the apply statement starts after a tick that held an enrolment has
 * committed, it sees (and withdraws) the touches that tick queued.
 */
static const char *const lock_touches_sql =
"SELECT t.touch_id"
"  FROM cadence.touch t"
" WHERE (t.tenant_id, t.lead_id) IN (SELECT n.tenant_id, n.lead_id FROM new_events n)"
"   AND t.status IN ('queued', 'claimed', 'held')"
" ORDER BY t.tenant_id, t.touch_id"
"   FOR UPDATE OF t";

static const char *const lock_enrolments_sql =
"SELECT e.enrolment_id"
"  FROM cadence.enrolment e"
" WHERE (e.tenant_id, e.lead_id) IN (SELECT n.tenant_id, n.lead_id FROM new_events n)"
"   AND e.status IN ('active', 'paused')"
" ORDER BY e.tenant_id, e.enrolment_id"
"   FOR UPDATE OF e";

/*
 * The leads the events concern are scored again, each as of its newest
 * event (an escalation bonus, a reply, decay since the last score), and
 * routed if their tier changed.
 */
static const char *const rescore_sql =
"SELECT count(cadence.rescore_leads(g.tenant_id, g.lead_ids, g.as_of, true, g.lead_times))"
"  FROM (SELECT x.tenant_id, array_agg(x.lead_id ORDER BY x.lead_id) AS lead_ids,"
"               array_agg(x.at ORDER BY x.lead_id) AS lead_times, max(x.at) AS as_of"
"          FROM (SELECT n.tenant_id, n.lead_id, max(n.occurred_at) AS at"
"                  FROM new_events n GROUP BY n.tenant_id, n.lead_id) x"
"         GROUP BY x.tenant_id) g";

/*
 * Human contact recorded in the same batch as the signal that raised an
 * alert closes that alert too: the apply statement closed the alerts that
 * existed before it, and this one, run after it, sees the ones it raised.
 */
static const char *const close_sql =
"UPDATE cadence.alert a"
"   SET status = 'closed', closed_at = c.at, closed_by = 'event:' || c.kind"
"  FROM (SELECT DISTINCT ON (n.tenant_id, n.lead_id) n.tenant_id, n.lead_id, n.occurred_at AS at, n.kind"
"          FROM new_events n"
"          LEFT JOIN cadence.custom_event_kind ck ON ck.tenant_id = n.tenant_id AND ck.kind = n.kind"
"          LEFT JOIN cadence.event_kind bk ON bk.kind = n.kind"
"         WHERE coalesce(ck.human_contact, bk.human_contact)"
"         ORDER BY n.tenant_id, n.lead_id, n.occurred_at DESC) c"
" WHERE a.tenant_id = c.tenant_id AND a.lead_id = c.lead_id"
"   AND a.status IN ('open', 'escalated') AND a.created_at <= c.at";

static SPIPlanPtr close_plan = NULL;
static SPIPlanPtr rescore_plan = NULL;
static SPIPlanPtr lock_touches_plan = NULL;
static SPIPlanPtr lock_enrolments_plan = NULL;
static SPIPlanPtr validate_plan = NULL;
static SPIPlanPtr apply_plan = NULL;

/*
 * Run a statement over new_events: a kept plan for small batches, a fresh
 * one for large batches.
 */
static void
RunOverNewEvents(const char *sql, SPIPlanPtr *cache, bool small, long limit)
{
	int			rc;

	if (small)
	{
		if (*cache == NULL)
		{
			SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);


			if (plan == NULL)
				elog(ERROR, "could not prepare an event statement: %s",
					 SPI_result_code_string(SPI_result));
			if (SPI_keepplan(plan) != 0)
				elog(ERROR, "could not keep an event plan");
			*cache = plan;
		}
		rc = SPI_execute_plan(*cache, NULL, NULL, false, limit);
	}
	else
		rc = SPI_execute(sql, false, limit);

	if (rc != SPI_OK_SELECT && rc != SPI_OK_UPDATE)
		elog(ERROR, "event statement failed: %s", SPI_result_code_string(rc));
}

/*
 * Refuse the whole statement when one event is invalid; nothing is applied.
 */
static void
ValidateNewEvents(bool small)
{
	bool		isnull;
	char	   *kind;
	char	   *problem;
	Datum		lead_id;
	Datum		touch_id;

	RunOverNewEvents(validate_sql, &validate_plan, small, 1);
	if (SPI_processed == 0)
		return;

	kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	lead_id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	touch_id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	problem = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);

	if (strcmp(problem, "kind") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown event kind \"%s\" in field \"kind\" (lead %lld)",
						kind, (long long) DatumGetInt64(lead_id)),
				 errhint("Built-in kinds are listed in cadence.event_kind; a tenant adds its own with cadence.register_event_kind().")));
	if (strcmp(problem, "body") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed payload of a \"%s\" event for lead %lld: field \"body\" must be a string",
						kind, (long long) DatumGetInt64(lead_id))));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("touch %lld in field \"touch_id\" is not a touch of lead %lld",
					(long long) DatumGetInt64(touch_id), (long long) DatumGetInt64(lead_id))));
}

/*
 * cadence.event_applied(): AFTER INSERT ... REFERENCING NEW TABLE AS
 * new_events FOR EACH STATEMENT.
 */
Datum
cadence_event_applied(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	int64		nevents;
	bool		small;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("cadence.event_applied() was not called by the trigger manager")));
	trigdata = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		trigdata->tg_newtable == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("cadence.event_applied() must be fired AFTER INSERT FOR EACH STATEMENT with a NEW TABLE named new_events")));

	nevents = tuplestore_tuple_count(trigdata->tg_newtable);
	if (nevents == 0)
		return PointerGetDatum(NULL);
	small = nevents <= SMALL_BATCH;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
		elog(ERROR, "could not register the new events");

	ValidateNewEvents(small);
	RunOverNewEvents(lock_touches_sql, &lock_touches_plan, small, 0);
	RunOverNewEvents(lock_enrolments_sql, &lock_enrolments_plan, small, 0);
	RunOverNewEvents(apply_sql, &apply_plan, small, 0);
	RunOverNewEvents(close_sql, &close_plan, small, 0);
	RunOverNewEvents(rescore_sql, &rescore_plan, small, 0);

	/* what the events changed is for the scheduler to act on once they commit */
	CadenceWakeWorkerAtCommit();

	SPI_finish();
	return PointerGetDatum(NULL);
}
