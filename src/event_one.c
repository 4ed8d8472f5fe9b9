/*
 * event_one.c
 *		What one new event does to its lead, decided in C.
 *
 * A statement of one event is what record_event() and most webhooks send.
 * For a batch, event.c decides in one set-based statement; for one event
 * that statement would cost more to start than all its work, so the same
 * decision is made here from small reads by key, each a kept statement:
 *
 *	- kind_sql: the checks of the event and the effects of the kind it acts
 *	  as (read before any lock, so that an invalid event is refused first);
 *	- running_sql: the lead's running enrolment, read again and locked after
 *	  the trigger's lock statements (so that it sees what a concurrent
 *	  transaction that held the lock committed, a new enrolment included),
 *	  with what its cadence's rules make of the kind;
 *	- escalation_sql: the first escalation rule the event completes, only
 *	  for an active enrolment that the event does not end and whose cadence
 *	  has escalation rules.
 *
 * The SQL pieces that say what a rule means are those of the batch
 * statement (event.h).  The result is a cadence.event_decision like the
 * batch statement's, with the same flags; test 36_event_one_and_batch
 * checks that a day of events leaves the same state either way.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "cadence.h"
#include "event.h"

static const char *const kind_sql =
"SELECT " KIND_UNKNOWN("n") ", " BODY_NOT_TEXT("n") ", " TOUCH_OF_ANOTHER_LEAD("n") ", " KIND_EFFECTS
"  FROM " ONE_EVENT
"  LEFT JOIN cadence.custom_event_kind c ON c.tenant_id = n.tenant_id AND c.kind = n.applied_kind"
"  LEFT JOIN cadence.event_kind b ON b.kind = n.applied_kind";

enum
{
	KIND_IS_UNKNOWN = 1,
	KIND_BODY_NOT_TEXT,
	KIND_TOUCH_OF_ANOTHER_LEAD,
	KIND_RESPONSE,
	KIND_ENGAGEMENT,
	KIND_HUMAN_CONTACT,
	KIND_CONSENT_CHANNEL,
	KIND_CONSENT_ACTION,
	KIND_PREFERRED_CHANNEL,
	KIND_DEFAULT_EXIT,
	KIND_DEFAULT_PAUSE,
	KIND_DEFAULT_HAND_OFF
};

/* $1 tenant, $2 lead, $3 the kind the event acts as, $4-$6 its defaults: exit, pause, hand off */
static const char *const running_sql =
"SELECT e.enrolment_id, e.status, e.enrolled_at, e.exit_reason, v.cadence_key, v.rules,"
"       " RULES_SAY("v.rules", "exit_on", "$3", "$4") ","
"       " RULES_SAY("v.rules", "pause_on", "$3", "$5") ","
"       " RULES_SAY("v.rules", "hand_off_on", "$3", "$6") ","
"       v.rules ? 'escalate'"
"  FROM cadence.enrolment e"
"  JOIN cadence.cadence_version v ON v.tenant_id = e.tenant_id AND v.cadence_version_id = e.cadence_version_id"
" WHERE e.tenant_id = $1 AND e.lead_id = $2 AND e.status IN ('active', 'paused')"
"   FOR NO KEY UPDATE OF e";

static Oid	running_types[6] = {INT8OID, INT8OID, TEXTOID, BOOLOID, BOOLOID, BOOLOID};

enum
{
	RUNNING_ENROLMENT = 1,
	RUNNING_STATUS,
	RUNNING_ENROLLED_AT,
	RUNNING_EXIT_REASON,
	RUNNING_CADENCE_KEY,
	RUNNING_RULES,
	RUNNING_EXITS,
	RUNNING_PAUSES,
	RUNNING_HANDS_OFF,
	RUNNING_ESCALATES
};

/*
 * $1 tenant, $2 lead, $3 the cadence's rules, $4 the kind the event acts
 * as, $5 the cadence, $6 when the enrolment began, $7 when the event
 * occurred: the cadence to move to and the rule's score bonus.
 */
static const char *const escalation_sql =
"SELECT r.rule ->> 'move_to', coalesce((r.rule ->> 'score')::integer, 0)"
"  FROM pg_catalog.jsonb_array_elements($3 -> 'escalate') WITH ORDINALITY AS r(rule, ord)"
" WHERE r.rule -> 'when' ->> 'event' = $4"
"   AND " ESCALATION_RULE_MET("$1", "$2", "$5", "$6", "$7")
" ORDER BY r.ord"
" LIMIT 1";

static Oid	escalation_types[7] = {INT8OID, INT8OID, JSONBOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};

static SPIPlanPtr kind_plan = NULL;
static SPIPlanPtr running_plan = NULL;
static SPIPlanPtr escalation_plan = NULL;

/* The fields of cadence.event_decision, in order (40_events.sql). */
typedef enum DecisionField
{
	D_TENANT,
	D_LEAD,
	D_ENROLMENT,
	D_ENROLMENT_STATUS,
	D_NEW_STATUS,
	D_NEW_REASON,
	D_CHANGES_ENROLMENT,
	D_EXIT_KIND,
	D_EXIT_AT,
	D_PAUSE_KIND,
	D_PAUSE_AT,
	D_HAND_OFF_KIND,
	D_HAND_OFF_EVENT,
	D_HAND_OFF_AT,
	D_RESPONSE_AT,
	D_ENGAGED_AT,
	D_CONTACT_AT,
	D_CONTACT_KIND,
	D_PREFERRED_CHANNEL,
	D_MOVE_TO,
	D_MOVED_AT,
	D_MOVE_SCORE,
	D_NFIELDS
} DecisionField;

static const char *const decision_fields[D_NFIELDS] = {
	"tenant_id", "lead_id", "enrolment_id", "enrolment_status", "new_status", "new_reason",
	"changes_enrolment", "exit_kind", "exit_at", "pause_kind", "pause_at", "hand_off_kind",
	"hand_off_event", "hand_off_at", "response_at", "engaged_at", "contact_at", "contact_kind",
	"preferred_channel", "move_to", "moved_at", "move_score"
};

/* a boolean column of the current SPI result's first row, NULL as false */
static bool
ResultFlag(int column)
{
	bool		isnull;
	Datum		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, column, &isnull);

	return !isnull && DatumGetBool(value);
}

void
CheckOneEvent(const Datum *values, const char *nulls, EventKindEffects *effects)
{
	int			rc;
	bool		isnull;
	int64		touch_id = nulls[EVENT_TOUCH] == 'n' ? 0 : DatumGetInt64(values[EVENT_TOUCH]);
	const char *problem = NULL;

	rc = SPI_execute_plan(KeptPlan(&kind_plan, kind_sql, ONE_EVENT_NARGS, OneEventTypes, 0),
						  (Datum *) values, nulls, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading the kind of an event failed: %s", SPI_result_code_string(rc));
	if (SPI_processed != 1)
		elog(ERROR, "reading the kind of an event returned %llu rows, expected 1",
			 (unsigned long long) SPI_processed);

	if (ResultFlag(KIND_IS_UNKNOWN))
		problem = "kind";
	else if (ResultFlag(KIND_BODY_NOT_TEXT))
		problem = "body";
	else if (ResultFlag(KIND_TOUCH_OF_ANOTHER_LEAD))
		problem = "touch";
	if (problem != NULL)
		ReportInvalidEvent(problem, TextDatumGetCString(values[EVENT_KIND]),
						   DatumGetInt64(values[EVENT_LEAD]), touch_id);

	effects->response = ResultFlag(KIND_RESPONSE);
	effects->engagement = ResultFlag(KIND_ENGAGEMENT);
	effects->human_contact = ResultFlag(KIND_HUMAN_CONTACT);
	SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, KIND_CONSENT_CHANNEL, &isnull);
	effects->consent = !isnull;
	/* the tuple table stays until SPI_finish, and the channel with it */
	effects->preferred_channel = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											   KIND_PREFERRED_CHANNEL, &isnull);
	effects->has_preferred_channel = !isnull;
	effects->default_exit = ResultFlag(KIND_DEFAULT_EXIT);
	effects->default_pause = ResultFlag(KIND_DEFAULT_PAUSE);
	effects->default_hand_off = ResultFlag(KIND_DEFAULT_HAND_OFF);
}

/*
 * cadence.event_decision's type and row descriptor (reference-counted: the
 * caller releases it), checked against decision_fields.  The type comes
 * with the extension, so it is looked up by name; a re-created extension
 * gives it a new OID.
 */
static TupleDesc
DecisionDescriptor(Oid *type)
{
	static Oid	checked_type = InvalidOid;
	Oid			namespace = get_namespace_oid("cadence", false);
	TupleDesc	desc;
	int			i;

	*type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("event_decision"),
							ObjectIdGetDatum(namespace));
	if (!OidIsValid(*type))
		elog(ERROR, "type cadence.event_decision is missing");
	desc = lookup_rowtype_tupdesc(*type, -1);
	if (*type == checked_type)
		return desc;
	if (desc->natts != D_NFIELDS)
		elog(ERROR, "cadence.event_decision has %d fields, expected %d", desc->natts, D_NFIELDS);
	for (i = 0; i < D_NFIELDS; i++)
		if (strcmp(NameStr(TupleDescAttr(desc, i)->attname), decision_fields[i]) != 0)
			elog(ERROR, "field %d of cadence.event_decision is \"%s\", expected \"%s\"",
				 i + 1, NameStr(TupleDescAttr(desc, i)->attname), decision_fields[i]);
	checked_type = *type;
	return desc;
}

/* set a field of the decision being built */
#define SET(field, value) (fields[field] = (value), isnull[field] = false)

Datum
DecideOneEvent(const Datum *values, const char *nulls, const EventKindEffects *effects,
			   bool *flags, Oid *decisions_type)
{
	Datum		kind = values[EVENT_APPLIED_KIND];
	Datum		at = values[EVENT_OCCURRED_AT];
	Datum		args[7];
	Datum		fields[D_NFIELDS];
	bool		isnull[D_NFIELDS];
	bool		running;
	bool		active = false;
	bool		exits;
	bool		pauses;
	bool		hands_off;
	bool		moves = false;
	bool		changes_enrolment;
	TupleDesc	desc;
	Oid			type;
	HeapTuple	decision;
	Datum		element;
	int			rc;
	int			i;

	for (i = 0; i < D_NFIELDS; i++)
		isnull[i] = true;
	SET(D_TENANT, values[EVENT_TENANT]);
	SET(D_LEAD, values[EVENT_LEAD]);

	args[0] = values[EVENT_TENANT];
	args[1] = values[EVENT_LEAD];
	args[2] = kind;
	args[3] = BoolGetDatum(effects->default_exit);
	args[4] = BoolGetDatum(effects->default_pause);
	args[5] = BoolGetDatum(effects->default_hand_off);
	rc = SPI_execute_plan(KeptPlan(&running_plan, running_sql, 6, running_types, 0), args, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading the lead's enrolment failed: %s", SPI_result_code_string(rc));
	/* enrolment_one_active: a lead has one running enrolment at most */
	running = SPI_processed > 0;
	if (running)
	{
		HeapTuple	row = SPI_tuptable->vals[0];
		TupleDesc	row_desc = SPI_tuptable->tupdesc;
		bool		null;
		bool		no_reason;
		Datum		status = SPI_getbinval(row, row_desc, RUNNING_STATUS, &null);
		Datum		exit_reason = SPI_getbinval(row, row_desc, RUNNING_EXIT_REASON, &no_reason);

		SET(D_ENROLMENT, SPI_getbinval(row, row_desc, RUNNING_ENROLMENT, &null));
		SET(D_ENROLMENT_STATUS, status);
		SET(D_NEW_STATUS, status);
		if (!no_reason)
			SET(D_NEW_REASON, exit_reason);
		active = strcmp(TextDatumGetCString(status), "active") == 0;
		exits = ResultFlag(RUNNING_EXITS);
		pauses = ResultFlag(RUNNING_PAUSES);
		hands_off = ResultFlag(RUNNING_HANDS_OFF);

		if (active && !exits && ResultFlag(RUNNING_ESCALATES))
		{
			args[2] = SPI_getbinval(row, row_desc, RUNNING_RULES, &null);
			args[3] = kind;
			args[4] = SPI_getbinval(row, row_desc, RUNNING_CADENCE_KEY, &null);
			args[5] = SPI_getbinval(row, row_desc, RUNNING_ENROLLED_AT, &null);
			args[6] = at;
			rc = SPI_execute_plan(KeptPlan(&escalation_plan, escalation_sql, 7, escalation_types, 0),
								  args, NULL, false, 1);
			if (rc != SPI_OK_SELECT)
				elog(ERROR, "checking the escalation rules failed: %s", SPI_result_code_string(rc));
			if (SPI_processed > 0)
			{
				moves = true;
				SET(D_MOVE_TO, SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &null));
				SET(D_MOVE_SCORE, SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &null));
				SET(D_MOVED_AT, at);
			}
		}
	}
	else
	{
		/* no cadence to ask: the kind's defaults decide (an alert, say) */
		exits = effects->default_exit;
		pauses = effects->default_pause;
		hands_off = effects->default_hand_off;
	}

	if (exits)
	{
		SET(D_EXIT_KIND, kind);
		SET(D_EXIT_AT, at);
	}
	if (pauses)
	{
		SET(D_PAUSE_KIND, kind);
		SET(D_PAUSE_AT, at);
	}
	if (hands_off)
	{
		SET(D_HAND_OFF_KIND, kind);
		SET(D_HAND_OFF_EVENT, values[EVENT_ID]);
		SET(D_HAND_OFF_AT, at);
	}
	if (effects->response)
		SET(D_RESPONSE_AT, at);
	if (effects->engagement)
		SET(D_ENGAGED_AT, at);
	if (effects->human_contact)
	{
		SET(D_CONTACT_AT, at);
		SET(D_CONTACT_KIND, kind);
	}
	if (effects->has_preferred_channel)
		SET(D_PREFERRED_CHANNEL, effects->preferred_channel);

	/* the enrolment's outcome, as ESCALATION_AND_OUTCOME in event.c */
	if (exits || moves)
		SET(D_NEW_STATUS, CStringGetTextDatum("exited"));
	else if (pauses)
		SET(D_NEW_STATUS, CStringGetTextDatum("paused"));
	if (exits)
		SET(D_NEW_REASON, kind);
	else if (moves)
		SET(D_NEW_REASON, CStringGetTextDatum("escalated"));
	else if (pauses && active)
		SET(D_NEW_REASON, CStringGetTextDatum(psprintf("handed_off:%s", TextDatumGetCString(kind))));
	changes_enrolment = running && (exits || moves || (pauses && active));
	SET(D_CHANGES_ENROLMENT, BoolGetDatum(changes_enrolment));

	/* the work the decision has, as the batch statement's flags */
	flags[DECIDE_ENROLMENTS] = changes_enrolment;
	/* an enrolment that changes exits or pauses */
	flags[DECIDE_TOUCHES] = exits || changes_enrolment;
	flags[DECIDE_LEADS] = effects->response || effects->engagement || effects->has_preferred_channel || moves;
	flags[DECIDE_MOVES] = moves;
	flags[DECIDE_HAND_OFFS] = hands_off && !exits;
	flags[DECIDE_ALERTS_CLOSED] = effects->human_contact || exits;
	flags[DECIDE_CONTACT] = effects->human_contact;
	flags[DECIDE_CONSENT] = effects->consent;

	desc = DecisionDescriptor(&type);
	decision = heap_form_tuple(desc, fields, isnull);
	element = heap_copy_tuple_as_datum(decision, desc);
	ReleaseTupleDesc(desc);
	*decisions_type = get_array_type(type);
	return PointerGetDatum(construct_array(&element, 1, type, -1, false, TYPALIGN_DOUBLE));
}
