/*
 * event.c
 *		The trigger that applies engagement events as they arrive.
 *
 * cadence.event_applied() runs once per INSERT or COPY into cadence.event
 * (AFTER ... FOR EACH STATEMENT, with the new rows as the transition table
 * new_events), so a bulk load is applied in sets rather than row by row.
 * It first refuses the whole statement if any event is invalid (an unknown
 * kind, a touch of another lead, a malformed payload), locks the leads'
 * unsent touches and running enrolments, decides what the events do to
 * each lead (event_decide.c, for one event or a batch alike), and then runs
 * only the statements for the effects the batch has:
 *
 *	- consent: unsubscribe, STOP-like SMS replies, START, opt_out are written
 *	  to the consent ledger, whose own trigger cancels unsent touches;
 *	- the lead: last response, last engagement, preferred channel (in a
 *	  batch of up to SMALL_BATCH events, written with its new score by
 *	  rescore.c); the last engagement is also what holds back a move on
 *	  silence (on_silence), which the tick reads when the move falls due,
 *	  so engagement alone does not write the enrolment;
 *	- the enrolment: exit (exit_on), pause and hand to a human (pause_on),
 *	  escalation to another cadence when a counter over a window is reached
 *	  (escalate; the move keeps history and adds to the score);
 *	- touches of an enrolment that stops are cancelled;
 *	- alerts for a human (hand_off_on), and alerts closed by human contact.
 *
 * Each cadence's rules say which kinds exit, pause or alert; kinds' defaults
 * apply when a cadence does not say.  Every row written belongs to the
 * event's own tenant, and cadence definitions are only read.
 *
 * A batch of one event, the common case (a webhook, record_event), is
 * checked and decided in C (event_one.c, event_decide.c) from rows locked
 * and read by key without statements (key_read.c): they do the same as the
 * batch's statements, which for one event cost more to start than to run.
 * Where a table has a row-level security policy of its own, or an index
 * the reads need is missing (KeyReadsApply()), one event is applied as a
 * batch, with statements that apply every policy.  The SQL pieces both
 * ways share are in event.h.
 */
#include "postgres.h"

#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "utils/rel.h"

#include "cadence.h"
#include "event.h"

PG_FUNCTION_INFO_V1(cadence_event_applied);

/*
 * Below this many new rows the kept (generic) plans are used; a bulk load
 * is planned afresh so that the planner sees how big the batch is.
 */
#define SMALL_BATCH 1000

Oid			OneEventTypes[ONE_EVENT_NARGS] = {
	INT8OID, INT8OID, INT8OID, TEXTOID, TIMESTAMPTZOID, JSONBOID, TEXTOID, INT8OID, TEXTOID
};

/* The first invalid event, if any: what is wrong and with which event. */
static const char *const validate_sql =
"SELECT n.kind, n.lead_id, n.touch_id,"
"       CASE WHEN " KIND_UNKNOWN("n") " THEN 'kind' WHEN " BODY_NOT_TEXT("n") " THEN 'body' ELSE 'touch' END"
"  FROM " NEW_EVENTS
" WHERE " KIND_UNKNOWN("n") " OR " BODY_NOT_TEXT("n") " OR " TOUCH_OF_ANOTHER_LEAD("n")
" LIMIT 1";

/* The enrolment stops (exit, escalation, pause). */
static const char enrolments_sql[] =
"UPDATE cadence.enrolment e"
"   SET status = d.new_status,"
"       exit_reason = d.new_reason,"
"       ended_at = CASE WHEN d.exit_kind IS NOT NULL THEN d.exit_at"
"                       WHEN d.move_to IS NOT NULL THEN d.moved_at ELSE e.ended_at END,"
"       paused_at = CASE WHEN d.exit_kind IS NULL AND d.move_to IS NULL AND d.pause_kind IS NOT NULL"
"                             AND e.status = 'active' THEN d.pause_at ELSE e.paused_at END,"
"       next_due_at = CASE WHEN d.exit_kind IS NOT NULL OR d.move_to IS NOT NULL OR d.pause_kind IS NOT NULL"
"                          THEN NULL ELSE e.next_due_at END,"
"       move_due_at = CASE WHEN d.exit_kind IS NOT NULL OR d.move_to IS NOT NULL OR d.pause_kind IS NOT NULL"
"                          THEN NULL ELSE e.move_due_at END"
"  FROM cadence.event_decisions($1) d"
" WHERE d.changes_enrolment AND e.tenant_id = d.tenant_id AND e.enrolment_id = d.enrolment_id"
"   AND e.status IN ('active', 'paused')";

/*
 * Unsent touches are withdrawn: those of an enrolment that stopped, and
 * after an exit (sold, lost, booked, opted out) every unsent touch of the
 * lead, even one its finished enrolment queued last.
 */
static const char touches_sql[] =
"UPDATE cadence.touch t"
"   SET status = 'cancelled', status_reason = coalesce(d.exit_kind, d.new_reason), lease_until = NULL"
"  FROM cadence.event_decisions($1) d"
" WHERE t.tenant_id = d.tenant_id AND t.lead_id = d.lead_id"
"   AND (d.exit_kind IS NOT NULL"
"        OR (d.changes_enrolment AND d.new_status IN ('exited', 'paused') AND t.enrolment_id = d.enrolment_id))"
"   AND t.status IN ('queued', 'claimed', 'held')";

/*
 * The leads' own columns, for a bulk load; a small batch's leads are
 * written once, with their new score, by the rescore (rescore.c, whose
 * ReadChanges makes the same changes; a rule without a score adds 0 in
 * both).
 */
static const char leads_sql[] =
"UPDATE cadence.lead l"
"   SET last_response_at = greatest(l.last_response_at, d.response_at),"
"       last_engagement_at = greatest(l.last_engagement_at, d.engaged_at),"
"       preferred_channel = coalesce(d.preferred_channel, l.preferred_channel),"
"       score_bonus = l.score_bonus + CASE WHEN d.move_to IS NOT NULL THEN coalesce(d.move_score, 0) ELSE 0 END"
"  FROM cadence.event_decisions($1) d"
" WHERE l.tenant_id = d.tenant_id AND l.lead_id = d.lead_id"
"   AND (d.response_at IS NOT NULL OR d.engaged_at IS NOT NULL OR d.preferred_channel IS NOT NULL"
"        OR d.move_to IS NOT NULL)";

/*
 * Moves and alerts are made in sets, in lead order: same input, same ids
 * and reps.  For one lead, the one-element arrays are built without the
 * aggregates and their sorts, which cost more to start than the call.
 */
static const char moves_one_sql[] =
"SELECT cadence.start_enrolments(ARRAY[d.tenant_id], ARRAY[d.lead_id], ARRAY[d.move_to], ARRAY[d.moved_at],"
"                                ARRAY[d.enrolment_id])"
"  FROM cadence.event_decisions($1) d WHERE d.move_to IS NOT NULL";

static const char hand_offs_one_sql[] =
"SELECT cadence.raise_alerts(ARRAY[d.tenant_id], ARRAY[d.lead_id], ARRAY[d.enrolment_id], ARRAY[d.hand_off_event],"
"                            ARRAY[d.hand_off_kind], ARRAY[d.hand_off_at])"
"  FROM cadence.event_decisions($1) d WHERE d.hand_off_kind IS NOT NULL AND d.exit_kind IS NULL";

static const char moves_sql[] =
"SELECT cadence.start_enrolments(array_agg(d.tenant_id ORDER BY d.tenant_id, d.lead_id),"
"                                array_agg(d.lead_id ORDER BY d.tenant_id, d.lead_id),"
"                                array_agg(d.move_to ORDER BY d.tenant_id, d.lead_id),"
"                                array_agg(d.moved_at ORDER BY d.tenant_id, d.lead_id),"
"                                array_agg(d.enrolment_id ORDER BY d.tenant_id, d.lead_id))"
"  FROM cadence.event_decisions($1) d WHERE d.move_to IS NOT NULL";

static const char hand_offs_sql[] =
"SELECT cadence.raise_alerts(array_agg(d.tenant_id ORDER BY d.tenant_id, d.lead_id),"
"                            array_agg(d.lead_id ORDER BY d.tenant_id, d.lead_id),"
"                            array_agg(d.enrolment_id ORDER BY d.tenant_id, d.lead_id),"
"                            array_agg(d.hand_off_event ORDER BY d.tenant_id, d.lead_id),"
"                            array_agg(d.hand_off_kind ORDER BY d.tenant_id, d.lead_id),"
"                            array_agg(d.hand_off_at ORDER BY d.tenant_id, d.lead_id))"
"  FROM cadence.event_decisions($1) d WHERE d.hand_off_kind IS NOT NULL AND d.exit_kind IS NULL";

/* A person reached the lead, or the lead left (sold, lost, opted out): no one should chase it now. */
static const char alerts_closed_sql[] =
"UPDATE cadence.alert a"
"   SET status = 'closed', closed_at = least(d.contact_at, d.exit_at),"
"       closed_by = 'event:' || CASE WHEN d.contact_at <= d.exit_at OR d.exit_at IS NULL"
"                                    THEN d.contact_kind ELSE d.exit_kind END"
"  FROM cadence.event_decisions($1) d"
" WHERE (d.contact_at IS NOT NULL OR d.exit_at IS NOT NULL)"
"   AND a.tenant_id = d.tenant_id AND a.lead_id = d.lead_id"
"   AND a.status IN ('open', 'escalated') AND a.created_at <= least(d.contact_at, d.exit_at)";

/*
 * Consent changes go to the ledger, whose own trigger cancels the unsent
 * touches of a revoked channel.  Run after the other effects, as the
 * ledger's trigger would see them at the end of one statement.
 */
static const char *const consent_sql =
"WITH " EVENTS_WITH_KINDS
"INSERT INTO cadence.consent (tenant_id, lead_id, channel, action, method, recorded_at, recorded_by, evidence)"
"SELECT ev.tenant_id, ev.lead_id, ev.consent_channel, ev.consent_action, 'event:' || ev.kind, ev.occurred_at,"
"       'cadence.event', pg_catalog.jsonb_build_object('event_id', ev.event_id, 'source', ev.source)"
"  FROM ev"
" WHERE ev.consent_channel IS NOT NULL";

/*
 * Lock the unsent touches of the events' leads, then their running
 * enrolments, each in a statement of its own before the effects are
 * applied.  Every path that changes both a touch and an enrolment takes
 * the touch first (a sender holding a claimed touch completes it, then
 * starts the next step's clock), so this order cannot deadlock; and since
 * the apply statement starts after a tick that held an enrolment has
 * committed, it sees (and withdraws) the touches that tick queued.  One
 * event takes the same locks in the same order by key, without statements
 * (key_read.c); a lead without a running enrolment is read again after the
 * lead's lock.
 */
static const char *const lock_touches_sql =
"SELECT t.touch_id"
"  FROM cadence.touch t"
" WHERE (t.tenant_id, t.lead_id) IN (SELECT n.tenant_id, n.lead_id FROM new_events n)"
"   AND t.status IN ('queued', 'claimed', 'held')"
" ORDER BY t.tenant_id, t.touch_id"
"   FOR NO KEY UPDATE OF t";
static const char *const lock_enrolments_sql =
"SELECT e.enrolment_id"
"  FROM cadence.enrolment e"
" WHERE (e.tenant_id, e.lead_id) IN (SELECT n.tenant_id, n.lead_id FROM new_events n)"
"   AND e.status IN ('active', 'paused')"
" ORDER BY e.tenant_id, e.enrolment_id"
"   FOR NO KEY UPDATE OF e";

/*
 * Then, for a small batch, the leads themselves, which the rescore reads
 * (with their events) to compute the score it writes: a concurrent batch
 * for the same lead waits here, and the rescore's read sees its events and
 * changes.  After the enrolments, as the consent ledger's trigger orders
 * them.  (A bulk load's lead statement and rescore update the leads, which
 * locks them the same way.)
 */
static const char *const lock_leads_sql =
"SELECT l.lead_id"
"  FROM cadence.lead l"
" WHERE (l.tenant_id, l.lead_id) IN (SELECT n.tenant_id, n.lead_id FROM new_events n)"
" ORDER BY l.tenant_id, l.lead_id"
"   FOR NO KEY UPDATE OF l";

/*
 * The leads the events concern are scored again, each as of its newest
 * event (an escalation bonus, a reply, decay since the last score), and
 * routed if their tier changed: a small batch lead by lead in C
 * (rescore.c), a bulk load in one set-based pass.
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
 * alert closes that alert too.  alerts_closed_sql ran before the batch
 * raised any alert and closed those that existed, as of the first contact;
 * this one, run last, closes what is still open as of the latest contact,
 * the batch's own alerts among them.  Kinds are the effective ones, as in
 * the decision (a STOP texted back is sms_stop, whatever sms_reply does).
 */
static const char *const close_sql =
"WITH " EVENTS_WITH_KINDS
"UPDATE cadence.alert a"
"   SET status = 'closed', closed_at = c.at, closed_by = 'event:' || c.kind"
"  FROM (SELECT DISTINCT ON (ev.tenant_id, ev.lead_id) ev.tenant_id, ev.lead_id, ev.occurred_at AS at, ev.kind"
"          FROM ev"
"         WHERE ev.human_contact"
"         ORDER BY ev.tenant_id, ev.lead_id, ev.occurred_at DESC, ev.event_id DESC) c"
" WHERE a.tenant_id = c.tenant_id AND a.lead_id = c.lead_id"
"   AND a.status IN ('open', 'escalated') AND a.created_at <= c.at";

static SPIPlanPtr validate_plan = NULL;
static SPIPlanPtr lock_touches_plan = NULL;
static SPIPlanPtr lock_enrolments_plan = NULL;
static SPIPlanPtr lock_leads_plan = NULL;
static SPIPlanPtr consent_plan = NULL;
static SPIPlanPtr close_plan = NULL;
static SPIPlanPtr rescore_plan = NULL;

/*
 * The statements that apply decisions take them as one parameter, an array
 * of cadence.event_decision; their kept plans hold that type's OID, so they
 * are prepared again should the extension be re-created in this session.
 */
typedef struct DecisionStatement
{
	const char *sql;
	SPIPlanPtr	plan;
	const char *one_sql;		/* for one lead's decision, when it differs */
	SPIPlanPtr	one_plan;
} DecisionStatement;

static DecisionStatement enrolments_stmt = {enrolments_sql, NULL, NULL, NULL};
static DecisionStatement touches_stmt = {touches_sql, NULL, NULL, NULL};
static DecisionStatement leads_stmt = {leads_sql, NULL, NULL, NULL};
static DecisionStatement moves_stmt = {moves_sql, NULL, moves_one_sql, NULL};
static DecisionStatement hand_offs_stmt = {hand_offs_sql, NULL, hand_offs_one_sql, NULL};
static DecisionStatement alerts_closed_stmt = {alerts_closed_sql, NULL, NULL, NULL};
static Oid	decisions_type = InvalidOid;

/*
 * The effects over decisions, in order.  Each runs when its flag (set by
 * the decision) says the batch has such work.  Existing alerts are closed
 * before the batch raises its own, so that a contact closes what was open
 * and a later signal of the same kind still raises a new alert (close_sql
 * then closes it if a later contact in the batch answered it).
 */
typedef struct ApplyStep
{
	int			flag;
	DecisionStatement *stmt;
} ApplyStep;

static const ApplyStep apply_steps[] = {
	{DECIDE_ENROLMENTS, &enrolments_stmt},
	{DECIDE_ALERTS_CLOSED, &alerts_closed_stmt},
	{DECIDE_MOVES, &moves_stmt},
	{DECIDE_HAND_OFFS, &hand_offs_stmt},
	{DECIDE_TOUCHES, &touches_stmt},
	{DECIDE_LEADS, &leads_stmt}
};

/*
 * The batch being applied: small (kept plans) or not, and for a batch of
 * one event, that event as the parameters of the one-event statements and
 * its kind's effects.
 */
typedef struct Batch
{
	bool		small;
	bool		one;
	Datum		values[ONE_EVENT_NARGS];
	char		nulls[ONE_EVENT_NARGS];
	EventKindEffects effects;
	bool		has_running;	/* one event: its lead has a running enrolment, */
	RunningEnrolment running;	/* locked, this one */
	LeadRead   *lead;			/* one event: its lead, locked and read for scoring */
	bool		lead_written;	/* an effect wrote the lead after that read */
} Batch;

/* the columns of cadence.event that ONE_EVENT's parameters are, in order */
static const char *const one_event_columns[ONE_EVENT_NARGS] = {
	"tenant_id", "lead_id", "event_id", "kind", "occurred_at", "payload", "source", "touch_id", "applied_kind"
};

/*
 * Read the batch's only event from the transition table into batch, with a
 * read pointer of its own (the statements' scans keep theirs).  The values
 * point into slot, which the caller drops when the batch is applied.
 */
static void
ReadOneEvent(TriggerData *trigdata, Batch *batch, TupleTableSlot *slot)
{
	Tuplestorestate *events = trigdata->tg_newtable;
	TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);
	int			i;

	tuplestore_select_read_pointer(events, tuplestore_alloc_read_pointer(events, EXEC_FLAG_REWIND));
	tuplestore_rescan(events);
	if (!tuplestore_gettupleslot(events, true, true, slot))
		elog(ERROR, "the new event is missing from new_events");
	for (i = 0; i < ONE_EVENT_NARGS; i++)
	{
		int			attnum = SPI_fnumber(desc, one_event_columns[i]);
		bool		isnull;

		if (attnum <= 0)
			elog(ERROR, "cadence.event has no column \"%s\"", one_event_columns[i]);
		batch->values[i] = slot_getattr(slot, attnum, &isnull);
		batch->nulls[i] = isnull ? 'n' : ' ';
	}
	batch->one = true;
}

/*
 * Run a statement over new_events, with a kept plan for small batches and a
 * fresh one for large batches.
 */
static void
RunOverBatch(const Batch *batch, const char *sql, SPIPlanPtr *cache, long limit)
{
	int			rc;

	if (batch->small)
		rc = SPI_execute_plan(KeptPlan(cache, sql, 0, NULL, 0), NULL, NULL, false, limit);
	else
		rc = SPI_execute(sql, false, limit);

	if (rc < 0)
		elog(ERROR, "event statement failed: %s", SPI_result_code_string(rc));
}

/*
 * Run a statement over the batch's decisions ($1): a kept plan for small
 * batches, a fresh one for large ones, as RunOverBatch does.  Both
 * reach the decisions by index (cadence.event_decisions() says one row),
 * which suits a bulk load too: it touches few rows of each table.
 */
static void
RunOverDecisions(DecisionStatement *stmt, bool small, bool one, Datum decisions)
{
	int			rc;
	Oid			argtypes[1];

	argtypes[0] = decisions_type;
	if (one && stmt->one_sql != NULL)
		rc = SPI_execute_plan(KeptPlan(&stmt->one_plan, stmt->one_sql, 1, argtypes, 0), &decisions, NULL, false, 0);
	else if (small)
		rc = SPI_execute_plan(KeptPlan(&stmt->plan, stmt->sql, 1, argtypes, 0), &decisions, NULL, false, 0);
	else
		rc = SPI_execute_with_args(stmt->sql, 1, argtypes, &decisions, NULL, false, 0);

	if (rc < 0)
		elog(ERROR, "event statement failed: %s", SPI_result_code_string(rc));
}

/* Note the decisions' type; forget plans made for another one. */
static void
UseDecisionsType(Oid type)
{
	int			i;

	if (type == decisions_type)
		return;
	for (i = 0; i < lengthof(apply_steps); i++)
	{
		DecisionStatement *stmt = apply_steps[i].stmt;

		if (stmt->plan != NULL)
			SPI_freeplan(stmt->plan);
		if (stmt->one_plan != NULL)
			SPI_freeplan(stmt->one_plan);
		stmt->plan = stmt->one_plan = NULL;
	}
	decisions_type = type;
}

/*
 * Decide what the events do to each lead, then apply it, one statement per
 * kind of effect the batch has (apply_steps, then consent, then alerts the
 * batch raised and its own human contact closes).  A small batch leaves
 * the leads' own columns to the rescore, which writes them with the score
 * (rescore.c); returns the decisions for it.
 */
static Datum
ApplyNewEvents(Batch *batch)
{
	bool		small = batch->small;
	Datum		decisions;
	Oid			type;
	bool		flags[DECIDE_NFLAGS + 1];
	int			i;

	if (batch->one)
	{
		ArrayType  *kinds = NULL;
		ArrayType  *times = NULL;

		/* without the lead's events (none read), every rule is asked */
		if (batch->lead != NULL && batch->lead->kinds != NULL)
		{
			kinds = batch->lead->kinds;
			times = batch->lead->times;
		}
		decisions = DecideOneEvent(batch->values, &batch->effects, batch->has_running ? &batch->running : NULL,
								   kinds, times, flags, &type);
	}
	else
		decisions = DecideEvents(small, flags, &type);
	/* a small batch's leads are written by the rescore, with their score */
	if (small)
		flags[DECIDE_LEADS] = false;
	UseDecisionsType(type);

	/* the decisions are in SPI's memory, which lasts until SPI_finish */
	for (i = 0; i < lengthof(apply_steps); i++)
		if (flags[apply_steps[i].flag])
			RunOverDecisions(apply_steps[i].stmt, small, batch->one, decisions);
	/* consent last, as the ledger's trigger saw the other effects before */
	if (flags[DECIDE_CONSENT])
		RunOverBatch(batch, consent_sql, &consent_plan, 0);
	if (flags[DECIDE_CONTACT])
		RunOverBatch(batch, close_sql, &close_plan, 0);
	/* of the effects, only the consent ledger's trigger writes the lead */
	batch->lead_written = flags[DECIDE_CONSENT];
	return decisions;
}

void
ReportInvalidEvent(const char *problem, const char *kind, int64 lead_id, int64 touch_id)
{
	if (strcmp(problem, "kind") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown event kind \"%s\" in field \"kind\" (lead %lld)",
						kind, (long long) lead_id),
				 errhint("Built-in kinds are listed in cadence.event_kind; a tenant adds its own with cadence.register_event_kind().")));
	if (strcmp(problem, "body") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed payload of a \"%s\" event for lead %lld: field \"body\" must be a string",
						kind, (long long) lead_id)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("touch %lld in field \"touch_id\" is not a touch of lead %lld",
					(long long) touch_id, (long long) lead_id)));
}

/*
 * Refuse the whole statement when one event is invalid; nothing is applied.
 * A batch of one event also reads its kind's effects here, for its decision.
 */
static void
ValidateNewEvents(Batch *batch)
{
	HeapTuple	row;
	TupleDesc	desc;
	bool		isnull;
	int64		lead_id;
	int64		touch_id;

	if (batch->one)
	{
		CheckOneEvent(batch->values, batch->nulls, &batch->effects);
		return;
	}
	RunOverBatch(batch, validate_sql, &validate_plan, 1);
	if (SPI_processed == 0)
		return;
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	lead_id = DatumGetInt64(SPI_getbinval(row, desc, 2, &isnull));
	touch_id = DatumGetInt64(SPI_getbinval(row, desc, 3, &isnull));
	ReportInvalidEvent(SPI_getvalue(row, desc, 4), SPI_getvalue(row, desc, 1), lead_id, isnull ? 0 : touch_id);
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
	Batch		batch;
	TupleTableSlot *one_event = NULL;
	Datum		decisions;
	bool		by_key;

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
	memset(&batch, 0, sizeof(batch));
	batch.small = nevents <= SMALL_BATCH;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
		elog(ERROR, "could not register the new events");
	/* a small batch is read by key, unless a table has a policy besides the tenant's */
	by_key = batch.small && KeyReadsApply();
	if (nevents == 1 && by_key)
	{
		one_event = MakeSingleTupleTableSlot(RelationGetDescr(trigdata->tg_relation), &TTSOpsMinimalTuple);
		ReadOneEvent(trigdata, &batch, one_event);
	}

	ValidateNewEvents(&batch);
	if (batch.one)
	{
		Datum		tenant = batch.values[EVENT_TENANT];
		Datum		lead = batch.values[EVENT_LEAD];

		LockUnsentTouches(tenant, lead);
		batch.has_running = ReadRunningEnrolment(tenant, lead, &batch.running);
		batch.lead = ReadLeadForScoring(tenant, lead);
		/*
		 * An enrolment found above is the running one as it is now: had a
		 * transaction changed it, the lock waited and read it again, and no
		 * other can start while it runs.  None found may mean that a
		 * transaction the read did not wait for (one holding the lead, as
		 * enroll() does) or one whose change of the enrolment it waited for
		 * (a move on silence) started an enrolment after the read's
		 * snapshot: read again now, with the lead locked, as the batch's
		 * decision does.
		 */
		if (!batch.has_running)
			batch.has_running = ReadRunningEnrolment(tenant, lead, &batch.running);
	}
	else
	{
		RunOverBatch(&batch, lock_touches_sql, &lock_touches_plan, 0);
		RunOverBatch(&batch, lock_enrolments_sql, &lock_enrolments_plan, 0);
		if (batch.small)
			RunOverBatch(&batch, lock_leads_sql, &lock_leads_plan, 0);
	}
	decisions = ApplyNewEvents(&batch);
	if (batch.one)
		RescoreEventLead(batch.values[EVENT_TENANT], batch.values[EVENT_LEAD], decisions,
						 batch.lead_written ? NULL : batch.lead);
	else if (batch.small)
		RescoreLeadsOfNewEvents(decisions, by_key);
	else
		RunOverBatch(&batch, rescore_sql, &rescore_plan, 0);
	if (one_event != NULL)
		ExecDropSingleTupleTableSlot(one_event);

	/* what the events changed is for the scheduler to act on once they commit */
	CadenceWakeWorkerAtCommit();

	SPI_finish();
	return PointerGetDatum(NULL);
}

/*
 * cadence.event_decisions(cadence.event_decision[]): the decisions as rows.
 * It is unnest() itself; only its row estimate differs (see 40_events.sql).
 */
PG_FUNCTION_INFO_V1(cadence_event_decisions);

Datum
cadence_event_decisions(PG_FUNCTION_ARGS)
{
	return array_unnest(fcinfo);
}
