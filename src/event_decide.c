/*
 * event_decide.c
 *		What new events do to each of their leads, decided in C.
 *
 * A lead's decision (a cadence.event_decision) is folded from its new
 * events in time order, by the same code whether the statement brought one
 * event or a bulk load: the first exit, pause and hand-off, the latest
 * response, engagement and channel, the first human contact.  Then, for
 * the leads whose active enrolment the events do not end, the first
 * escalation rule each lead's events complete (escalation_one_sql by key
 * for one such lead, escalation_sql in one statement for several); then
 * each enrolment's outcome.  Along the way the kinds of
 * effect the batch has at all are noted (DECIDE_ flags), so that event.c
 * runs only the statements with work.
 *
 * Where the events come from differs:
 *
 *	- one event: its kind's effects were read by CheckOneEvent()
 *	  (event_one.c), and its lead's running enrolment by key, locked, in
 *	  its place among the trigger's locks (ReadRunningEnrolment(),
 *	  key_read.c; a lead without one is read again once it is locked,
 *	  event.c); its cadence version's key and rules come from what the
 *	  backend keeps (config_cache.c).  A statement that would join the
 *	  transition table costs more to start than this.
 *	- a batch: events_sql reads every new event with its kind's effects and
 *	  its lead's running enrolment, in lead and time order, through a
 *	  cursor, so that a bulk load's rows are not all held at once.  It locks
 *	  the running enrolments again (the trigger's lock statement took them
 *	  before): the read sees what a transaction that held the lock
 *	  committed, a new enrolment included.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "cadence.h"
#include "event.h"


/*
 * Every new event of a batch with the effects of the kind it acts as, and
 * its lead's running enrolment (locked) with its cadence's key and rules,
 * in lead and time order.
 */
static const char *const events_sql =
"WITH " EVENTS_WITH_KINDS ","
"running AS ("
"    SELECT e.tenant_id, e.lead_id, e.enrolment_id, e.status, e.enrolled_at, e.exit_reason,"
"           v.cadence_key, v.rules"
"      FROM (SELECT DISTINCT ev.tenant_id, ev.lead_id FROM ev) x"
"      JOIN cadence.enrolment e"
"        ON e.tenant_id = x.tenant_id AND e.lead_id = x.lead_id AND e.status IN ('active', 'paused')"
"      JOIN cadence.cadence_version v"
"        ON v.tenant_id = e.tenant_id AND v.cadence_version_id = e.cadence_version_id"
"       FOR NO KEY UPDATE OF e"
")"
"SELECT ev.tenant_id, ev.lead_id, ev.event_id, ev.occurred_at, ev.kind,"
"       ev.response, ev.engagement, ev.human_contact, ev.consent_channel IS NOT NULL, ev.preferred_channel,"
"       ev.default_exit, ev.default_pause, ev.default_hand_off,"
"       r.enrolment_id, r.status, r.enrolled_at, r.exit_reason, r.cadence_key, r.rules"
"  FROM ev"
"  LEFT JOIN running r ON r.tenant_id = ev.tenant_id AND r.lead_id = ev.lead_id"
" ORDER BY ev.tenant_id, ev.lead_id, ev.occurred_at, ev.event_id";

/* events_sql's columns */
enum
{
	EV_TENANT = 1,
	EV_LEAD,
	EV_ID,
	EV_OCCURRED_AT,
	EV_KIND,
	EV_RESPONSE,
	EV_ENGAGEMENT,
	EV_HUMAN_CONTACT,
	EV_CONSENT,
	EV_PREFERRED_CHANNEL,
	EV_DEFAULT_EXIT,
	EV_DEFAULT_PAUSE,
	EV_DEFAULT_HAND_OFF,
	EV_ENROLMENT,
	EV_STATUS,
	EV_ENROLLED_AT,
	EV_EXIT_REASON,
	EV_CADENCE_KEY,
	EV_RULES
};

/* how many rows of a batch are read at a time */
#define EVENTS_PER_FETCH 10000

/*
 * The first escalation rule, in the cadence's order, that a lead's new
 * events complete: the cadence to move to and the rule's score bonus.  The
 * lead's rules, the kinds its new events act as (a jsonb array), its
 * cadence, when its enrolment began and when its newest new event occurred
 * are given.
 */
#define FIRST_ESCALATION(tenant, lead, rules, kinds, cadence_key, enrolled_at, last_at) \
"SELECT r.rule ->> 'move_to' AS move_to, coalesce((r.rule ->> 'score')::integer, 0) AS score" \
"  FROM pg_catalog.jsonb_array_elements(" rules " -> 'escalate') WITH ORDINALITY AS r(rule, ord)" \
" WHERE " kinds " ? (r.rule -> 'when' ->> 'event')" \
"   AND " ESCALATION_RULE_MET(tenant, lead, cadence_key, enrolled_at, last_at) \
" ORDER BY r.ord" \
" LIMIT 1"

/* for one lead, by key: $1 tenant, $2 lead, $3-$7 as FIRST_ESCALATION takes them */
static const char *const escalation_one_sql =
FIRST_ESCALATION("$1", "$2", "$3", "$4", "$5", "$6", "$7");

static Oid	escalation_one_types[7] = {INT8OID, INT8OID, JSONBOID, JSONBOID, TEXTOID,
									   TIMESTAMPTZOID, TIMESTAMPTZOID};

/* for several, as aligned arrays of those, with each answer's position */
static const char *const escalation_sql =
"SELECT x.ord, e.move_to, e.score"
"  FROM unnest($1::bigint[], $2::bigint[], $3::jsonb[], $4::jsonb[], $5::text[],"
"              $6::timestamptz[], $7::timestamptz[])"
"       WITH ORDINALITY AS x(tenant_id, lead_id, rules, kinds, cadence_key, enrolled_at, last_at, ord)"
" CROSS JOIN LATERAL ("
FIRST_ESCALATION("x.tenant_id", "x.lead_id", "x.rules", "x.kinds", "x.cadence_key", "x.enrolled_at", "x.last_at")
"     ) e";

static Oid	escalation_types[7] = {INT8ARRAYOID, INT8ARRAYOID, JSONBARRAYOID, JSONBARRAYOID, TEXTARRAYOID,
								   TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID};

static SPIPlanPtr events_plan = NULL;
static SPIPlanPtr escalation_one_plan = NULL;
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

/*
 * One lead's decision as its events are folded in.  What it keeps of text
 * and jsonb values is copied out of the rows read, as a batch's rows are
 * freed chunk by chunk; bigint and timestamptz values are kept as Datums,
 * which hold them (see the assertion below).  Everything lives until the
 * trigger's SPI_finish(), as the decisions do.
 */
StaticAssertDecl(FLOAT8PASSBYVAL,
				 "event_decide.c keeps int8 and timestamptz Datums after their rows are freed");

typedef struct LeadDecision
{
	Datum		fields[D_NFIELDS];
	bool		isnull[D_NFIELDS];
	bool		running;		/* it has a running enrolment */
	bool		active;			/* and that enrolment is active */
	bool		escalates;		/* whose cadence has escalation rules */
	Datum		rules;			/* jsonb: that cadence's rules */
	Datum		cadence_key;
	Datum		enrolled_at;
	Datum		last_at;		/* the newest event's time */
	List	   *kinds;			/* the kinds its events act as (text Datums) */
} LeadDecision;

/* an event as the fold takes it */
typedef struct FoldedEvent
{
	Datum		event_id;
	Datum		occurred_at;
	Datum		kind;			/* text: the kind it acts as */
	EventKindEffects effects;
	bool		exits;			/* as its lead's cadence (or the kind's default) says */
	bool		pauses;
	bool		hands_off;
} FoldedEvent;

/* a column of a row, copied */
static Datum
RowCopy(HeapTuple row, TupleDesc desc, int column, bool *isnull)
{
	Datum		value = SPI_getbinval(row, desc, column, isnull);
	Form_pg_attribute att = TupleDescAttr(desc, column - 1);

	if (*isnull)
		return (Datum) 0;
	return datumCopy(value, att->attbyval, att->attlen);
}

/* a member of a jsonb object (container), into buffer (no allocation), or NULL */
static JsonbValue *
Member(JsonbContainer *object, const char *name, JsonbValue *buffer)
{
	return getKeyJsonValueFromContainer(object, name, strlen(name), buffer);
}

/* whether a jsonb value is an object (or, array: an array) */
static bool
IsContainer(JsonbValue *value, bool array)
{
	return value != NULL && value->type == jbvBinary &&
		(array ? JsonContainerIsArray(value->val.binary.data) : JsonContainerIsObject(value->val.binary.data));
}

/* set a field of the decision being built */
#define SET(lead, field, value) ((lead)->fields[field] = (value), (lead)->isnull[field] = false)

/*
 * A lead's running enrolment as a decision starts from it: its columns,
 * and its cadence's key and rules.  The values may point into the row they
 * were read from, which a batch frees chunk by chunk: StartLead() copies
 * what it keeps.
 */
typedef struct Running
{
	bool		found;			/* false: the lead has no running enrolment */
	Datum		enrolment_id;
	Datum		status;			/* text */
	Datum		enrolled_at;
	Datum		exit_reason;	/* text */
	bool		exit_reason_null;
	Datum		cadence_key;	/* text */
	Datum		rules;			/* jsonb */
	bool		rules_null;
} Running;

/*
 * Start the decision of a lead, with its running enrolment (running, NULL
 * or not found: none).
 */
static void
StartLead(LeadDecision *lead, Datum tenant, Datum lead_id, const Running *running)
{
	int			i;

	for (i = 0; i < D_NFIELDS; i++)
		lead->isnull[i] = true;
	SET(lead, D_TENANT, tenant);
	SET(lead, D_LEAD, lead_id);
	lead->kinds = NIL;
	lead->last_at = (Datum) 0;

	lead->running = running != NULL && running->found;
	lead->active = false;
	lead->escalates = false;
	if (lead->running)
	{
		Datum		status = datumCopy(running->status, false, -1);

		SET(lead, D_ENROLMENT, running->enrolment_id);
		SET(lead, D_ENROLMENT_STATUS, status);
		SET(lead, D_NEW_STATUS, status);
		if (!running->exit_reason_null)
			SET(lead, D_NEW_REASON, datumCopy(running->exit_reason, false, -1));
		lead->active = strcmp(TextDatumGetCString(status), "active") == 0;
		/* copied plain (not compressed, a full header): every event of the lead reads it */
		lead->rules = running->rules_null ? (Datum) 0 : PointerGetDatum(DatumGetJsonbPCopy(running->rules));
		if (lead->rules != (Datum) 0 && JB_ROOT_IS_OBJECT(DatumGetJsonbP(lead->rules)))
		{
			JsonbValue	buffer;

			lead->escalates = Member(&DatumGetJsonbP(lead->rules)->root, "escalate", &buffer) != NULL;
		}
		lead->cadence_key = datumCopy(running->cadence_key, false, -1);
		lead->enrolled_at = running->enrolled_at;
	}
}

/* whether a jsonb container has string (an array element, an object key), as jsonb's ? finds it */
static bool
HasString(JsonbContainer *container, const char *string, int len)
{
	JsonbValue	wanted;
	JsonbValue *found;

	wanted.type = jbvString;
	wanted.val.string.val = (char *) string;
	wanted.val.string.len = len;
	found = findJsonbValueFromContainer(container, JB_FOBJECT | JB_FARRAY, &wanted);
	if (found == NULL)
		return false;
	pfree(found);
	return true;
}

/*
 * Whether a cadence's rules (NULL: no running enrolment) make an event of
 * a kind exit, pause or hand off (list: exit_on, pause_on or hand_off_on),
 * as CASE WHEN rules ? list THEN (rules -> list) ? kind ELSE by_default END
 * would, NULL as false: as the rules list it when they have the list (a
 * kind in an array, a key of an object, or the one string), else as the
 * kind's default says.
 */
static bool
RulesSay(Datum rules_datum, const char *list, Datum kind, bool by_default)
{
	Jsonb	   *rules;
	JsonbValue	buffer;
	JsonbValue *listed;
	text	   *name = DatumGetTextPP(kind);

	if (rules_datum == (Datum) 0)
		return by_default;
	rules = DatumGetJsonbP(rules_datum);
	/* rules that are not an object have no list: rules -> list is NULL */
	if (!JB_ROOT_IS_OBJECT(rules))
		return HasString(&rules->root, list, strlen(list)) ? false : by_default;
	listed = Member(&rules->root, list, &buffer);
	if (listed == NULL)
		return by_default;
	if (listed->type == jbvBinary)
		return HasString(listed->val.binary.data, VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name));
	return listed->type == jbvString && listed->val.string.len == VARSIZE_ANY_EXHDR(name) &&
		memcmp(listed->val.string.val, VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name)) == 0;
}

/* what the lead's running enrolment (or the kind's defaults) makes of an event */
static void
EventRules(FoldedEvent *event, const LeadDecision *lead)
{
	Datum		rules = lead->running ? lead->rules : (Datum) 0;

	event->exits = RulesSay(rules, "exit_on", event->kind, event->effects.default_exit);
	event->pauses = RulesSay(rules, "pause_on", event->kind, event->effects.default_pause);
	event->hands_off = RulesSay(rules, "hand_off_on", event->kind, event->effects.default_hand_off);
}

/* whether two texts are the same, byte for byte (kinds and channels are) */
static bool
TextsEqual(Datum a, Datum b)
{
	text	   *x = DatumGetTextPP(a);
	text	   *y = DatumGetTextPP(b);

	return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
		memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0;
}

/* whether a kind is one of a list of them */
static bool
KindListed(List *kinds, Datum kind)
{
	ListCell   *cell;

	foreach(cell, kinds)
		if (TextsEqual((Datum) lfirst(cell), kind))
			return true;
	return false;
}

/*
 * Fold an event into its lead's decision.  Events come in time order, so
 * the first of a kind of effect is the earliest and the last the latest.
 */
static void
FoldEvent(LeadDecision *lead, const FoldedEvent *event)
{
	Datum		kind = (Datum) 0;	/* the event's kind, copied once it is kept */

#define KEPT_KIND() (kind != (Datum) 0 ? kind : (kind = datumCopy(event->kind, false, -1)))

	if (event->exits && lead->isnull[D_EXIT_KIND])
	{
		SET(lead, D_EXIT_KIND, KEPT_KIND());
		SET(lead, D_EXIT_AT, event->occurred_at);
	}
	if (event->pauses && lead->isnull[D_PAUSE_KIND])
	{
		SET(lead, D_PAUSE_KIND, KEPT_KIND());
		SET(lead, D_PAUSE_AT, event->occurred_at);
	}
	if (event->hands_off && lead->isnull[D_HAND_OFF_KIND])
	{
		SET(lead, D_HAND_OFF_KIND, KEPT_KIND());
		SET(lead, D_HAND_OFF_EVENT, event->event_id);
		SET(lead, D_HAND_OFF_AT, event->occurred_at);
	}
	if (event->effects.response)
		SET(lead, D_RESPONSE_AT, event->occurred_at);
	if (event->effects.engagement)
		SET(lead, D_ENGAGED_AT, event->occurred_at);
	if (event->effects.human_contact && lead->isnull[D_CONTACT_AT])
	{
		SET(lead, D_CONTACT_AT, event->occurred_at);
		SET(lead, D_CONTACT_KIND, KEPT_KIND());
	}
	/* the latest channel; copied only when it changes */
	if (event->effects.has_preferred_channel &&
		(lead->isnull[D_PREFERRED_CHANNEL] ||
		 !TextsEqual(lead->fields[D_PREFERRED_CHANNEL], event->effects.preferred_channel)))
		SET(lead, D_PREFERRED_CHANNEL, datumCopy(event->effects.preferred_channel, false, -1));
	lead->last_at = event->occurred_at;
	if (!KindListed(lead->kinds, event->kind))
		lead->kinds = lappend(lead->kinds, DatumGetPointer(KEPT_KIND()));
#undef KEPT_KIND
}

/* the kinds of a lead's events as a jsonb array of strings */
static Datum
KindsAsJsonb(List *kinds)
{
	JsonbParseState *state = NULL;
	JsonbValue	element;
	ListCell   *cell;

	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	foreach(cell, kinds)
	{
		text	   *kind = DatumGetTextPP((Datum) lfirst(cell));

		element.type = jbvString;
		element.val.string.val = VARDATA_ANY(kind);
		element.val.string.len = VARSIZE_ANY_EXHDR(kind);
		pushJsonbValue(&state, WJB_ELEM, &element);
	}
	return JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_ARRAY, NULL)));
}

/* note the escalation that a lead's new events complete (row: move_to, score from column first) */
static void
SetEscalation(LeadDecision *lead, HeapTuple row, TupleDesc desc, int first)
{
	bool		isnull;

	SET(lead, D_MOVE_TO, RowCopy(row, desc, first, &isnull));
	SET(lead, D_MOVE_SCORE, SPI_getbinval(row, desc, first + 1, &isnull));
	SET(lead, D_MOVED_AT, lead->last_at);
}

/*
 * An integer count of a rule, as (rule -> 'when' ->> 'count')::integer
 * reads it; false when it is something else (the statement then judges).
 */
static bool
RuleCount(JsonbValue *value, int *count)
{
	char	   *text;
	char	   *end;
	long		n;

	if (value->type == jbvNumeric)
		text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(value->val.numeric)));
	else if (value->type == jbvString)
		text = pnstrdup(value->val.string.val, value->val.string.len);
	else
		return false;
	errno = 0;
	n = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || n < PG_INT32_MIN || n > PG_INT32_MAX)
		return false;
	*count = (int) n;
	return true;
}

/*
 * Whether one of a lead's escalation rules may be complete: its event is
 * one of the new events' kinds, and the lead's events of that kind
 * (kinds and times, all of them) since the enrolment began, up to the
 * newest new event, reach its count.  The window of a rule ("within") is
 * left to the statement: counting without it counts at least as many, so
 * a rule this rules out is one ESCALATION_RULE_MET rules out too.  Any
 * rule this cannot read is left to the statement as well.
 */
static bool
EscalationMayBeMet(const LeadDecision *lead, ArrayType *kinds, ArrayType *times)
{
	Jsonb	   *rules = DatumGetJsonbP(lead->rules);
	JsonbValue	escalate_buffer;
	JsonbValue *escalate;
	JsonbContainer *list;
	Datum	   *kind_values;
	bool	   *kind_nulls;
	Datum	   *time_values;
	bool	   *time_nulls;
	int			nkinds;
	int			ntimes;
	TimestampTz enrolled_at = DatumGetTimestampTz(lead->enrolled_at);
	TimestampTz last_at = DatumGetTimestampTz(lead->last_at);
	int			r;

	if (!JB_ROOT_IS_OBJECT(rules))
		return true;
	escalate = Member(&rules->root, "escalate", &escalate_buffer);
	if (!IsContainer(escalate, true))
		return true;
	list = escalate->val.binary.data;
	deconstruct_array(kinds, TEXTOID, -1, false, TYPALIGN_INT, &kind_values, &kind_nulls, &nkinds);
	deconstruct_array(times, TIMESTAMPTZOID, sizeof(TimestampTz), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &time_values, &time_nulls, &ntimes);
	if (nkinds != ntimes)
		return true;

	for (r = 0; r < (int) JsonContainerSize(list); r++)
	{
		JsonbValue *rule = getIthJsonbValueFromContainer(list, r);
		JsonbValue	when_buffer;
		JsonbValue	event_buffer;
		JsonbValue	count_buffer;
		JsonbValue *when;
		JsonbValue *event;
		JsonbValue *count_value;
		int			count = 1;
		int			seen = 0;
		Datum		event_kind;
		int			i;

		if (!IsContainer(rule, false))
			return true;
		when = Member(rule->val.binary.data, "when", &when_buffer);
		if (when == NULL)
			continue;			/* no event: the rule never applies */
		if (!IsContainer(when, false))
			return true;
		event = Member(when->val.binary.data, "event", &event_buffer);
		if (event == NULL)
			continue;
		if (event->type != jbvString)
			return true;
		event_kind = PointerGetDatum(cstring_to_text_with_len(event->val.string.val, event->val.string.len));
		if (!KindListed(lead->kinds, event_kind))
			continue;
		count_value = Member(when->val.binary.data, "count", &count_buffer);
		if (count_value != NULL && !RuleCount(count_value, &count))
			return true;
		for (i = 0; i < nkinds; i++)
			if (!kind_nulls[i] && !time_nulls[i] && TextsEqual(kind_values[i], event_kind) &&
				DatumGetTimestampTz(time_values[i]) >= enrolled_at &&
				DatumGetTimestampTz(time_values[i]) <= last_at)
				seen++;
		if (seen >= count)
			return true;
	}
	return false;
}

/*
 * The escalations of the leads: for each whose active enrolment the events
 * do not end and whose cadence has escalation rules, the first rule its
 * events complete; by key for one such lead (most statements are one
 * event), else in one statement for all of them.  For one lead, kinds and
 * times (when not NULL) are all its events: when they cannot complete a
 * rule, the statement is not run.
 */
static void
Escalate(LeadDecision *leads, int nleads, ArrayType *kinds, ArrayType *times)
{
	Datum	   *columns[7];
	int		   *candidates = palloc(sizeof(int) * nleads);
	int			n = 0;
	Datum		args[7];
	static const Oid element_types[7] = {INT8OID, INT8OID, JSONBOID, JSONBOID, TEXTOID,
										 TIMESTAMPTZOID, TIMESTAMPTZOID};
	uint64		r;
	int			i;
	int			c;
	int			rc;
	int			nest_level;

	for (c = 0; c < 7; c++)
		columns[c] = palloc(sizeof(Datum) * nleads);
	for (i = 0; i < nleads; i++)
	{
		LeadDecision *lead = &leads[i];

		if (!lead->active || !lead->escalates || !lead->isnull[D_EXIT_KIND])
			continue;
		columns[0][n] = lead->fields[D_TENANT];
		columns[1][n] = lead->fields[D_LEAD];
		columns[2][n] = lead->rules;
		columns[3][n] = KindsAsJsonb(lead->kinds);
		columns[4][n] = lead->cadence_key;
		columns[5][n] = lead->enrolled_at;
		columns[6][n] = lead->last_at;
		candidates[n++] = i;
	}
	if (n == 0)
		return;
	if (n == 1)
	{
		if (kinds != NULL && nleads == 1 && !EscalationMayBeMet(&leads[0], kinds, times))
			return;
		for (c = 0; c < 7; c++)
			args[c] = columns[c][0];
		rc = SPI_execute_plan(KeptPlan(&escalation_one_plan, escalation_one_sql, 7, escalation_one_types, 0),
							  args, NULL, false, 1);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "checking the escalation rules failed: %s", SPI_result_code_string(rc));
		if (SPI_processed > 0)
			SetEscalation(&leads[candidates[0]], SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		SPI_freetuptable(SPI_tuptable);
		return;
	}
	for (c = 0; c < 7; c++)
	{
		int16		len;
		bool		byval;
		char		align;

		get_typlenbyvalalign(element_types[c], &len, &byval, &align);
		args[c] = PointerGetDatum(construct_array(columns[c], n, element_types[c], len, byval, align));
	}
	/*
	 * Without JIT: planned for its arrays, the statement is costed at 100
	 * rules a lead (jsonb_array_elements' estimate), and for a few hundred
	 * leads that passes jit_above_cost.  Compiling it then took 230 ms for
	 * an execution of 16 ms (10,000 events of 1,000 leads).  The setting
	 * goes back as it was when the statement is done, or with an error.
	 */
	nest_level = NewGUCNestLevel();
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	rc = SPI_execute_plan(KeptPlan(&escalation_plan, escalation_sql, 7, escalation_types, 0),
						  args, NULL, false, 0);
	AtEOXact_GUC(true, nest_level);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "checking the escalation rules failed: %s", SPI_result_code_string(rc));
	for (r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		int64		ord = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));

		if (ord < 1 || ord > n)
			elog(ERROR, "the escalation rules answered for lead %lld of %d", (long long) ord, n);
		SetEscalation(&leads[candidates[ord - 1]], SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Finish the lead's decision (its escalation is known): the enrolment's
 * outcome, and the kinds of effect it has (OR-ed into flags).  Returns it
 * as a Datum of the decision type (desc).
 */
static Datum
FinishLead(LeadDecision *lead, TupleDesc desc, bool *flags)
{
	bool		exits = !lead->isnull[D_EXIT_KIND];
	bool		pauses = !lead->isnull[D_PAUSE_KIND];
	bool		moves = !lead->isnull[D_MOVE_TO];
	bool		changes_enrolment;

	if (exits || moves)
		SET(lead, D_NEW_STATUS, CStringGetTextDatum("exited"));
	else if (pauses)
		SET(lead, D_NEW_STATUS, CStringGetTextDatum("paused"));
	if (exits)
		SET(lead, D_NEW_REASON, lead->fields[D_EXIT_KIND]);
	else if (moves)
		SET(lead, D_NEW_REASON, CStringGetTextDatum("escalated"));
	else if (pauses && lead->active)
		SET(lead, D_NEW_REASON,
			CStringGetTextDatum(psprintf("handed_off:%s", TextDatumGetCString(lead->fields[D_PAUSE_KIND]))));
	changes_enrolment = lead->running && (exits || moves || (pauses && lead->active));
	SET(lead, D_CHANGES_ENROLMENT, BoolGetDatum(changes_enrolment));

	flags[DECIDE_ENROLMENTS] |= changes_enrolment;
	/* after an exit every unsent touch goes; else those of an enrolment that stops */
	flags[DECIDE_TOUCHES] |= exits || changes_enrolment;
	flags[DECIDE_LEADS] |= !lead->isnull[D_RESPONSE_AT] || !lead->isnull[D_ENGAGED_AT] ||
		!lead->isnull[D_PREFERRED_CHANNEL] || moves;
	flags[DECIDE_MOVES] |= moves;
	flags[DECIDE_HAND_OFFS] |= !lead->isnull[D_HAND_OFF_KIND] && !exits;
	flags[DECIDE_ALERTS_CLOSED] |= !lead->isnull[D_CONTACT_AT] || exits;
	flags[DECIDE_CONTACT] |= !lead->isnull[D_CONTACT_AT];

	return heap_copy_tuple_as_datum(heap_form_tuple(desc, lead->fields, lead->isnull), desc);
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

/*
 * Escalate and finish the leads' decisions; returns them as a
 * cadence.event_decision[] and its type in *decisions_type.  kinds and
 * times: as Escalate() takes them.
 */
static Datum
FinishLeads(LeadDecision *leads, int nleads, ArrayType *kinds, ArrayType *times,
			bool *flags, Oid *decisions_type)
{
	Datum	   *decisions = palloc(sizeof(Datum) * nleads);
	TupleDesc	desc;
	Oid			type;
	int			i;

	Escalate(leads, nleads, kinds, times);
	desc = DecisionDescriptor(&type);
	for (i = 0; i < nleads; i++)
		decisions[i] = FinishLead(&leads[i], desc, flags);
	ReleaseTupleDesc(desc);
	*decisions_type = get_array_type(type);
	return PointerGetDatum(construct_array(decisions, nleads, type, -1, false, TYPALIGN_DOUBLE));
}

static void
ClearFlags(bool *flags)
{
	int			i;

	for (i = DECIDE_ENROLMENTS; i <= DECIDE_NFLAGS; i++)
		flags[i] = false;
}

Datum
DecideOneEvent(const Datum *values, const EventKindEffects *effects, const RunningEnrolment *running,
			   ArrayType *lead_kinds, ArrayType *lead_times, bool *flags, Oid *decisions_type)
{
	LeadDecision lead;
	FoldedEvent event;
	Running		enrolment;

	enrolment.found = running != NULL;
	if (enrolment.found)
	{
		Jsonb	   *rules;

		enrolment.enrolment_id = running->enrolment_id;
		enrolment.status = running->status;
		enrolment.enrolled_at = running->enrolled_at;
		enrolment.exit_reason = running->exit_reason;
		enrolment.exit_reason_null = running->exit_reason_null;
		CadenceVersionOf(values[EVENT_TENANT], running->version_id, &enrolment.cadence_key, &rules);
		enrolment.rules = JsonbPGetDatum(rules);
		enrolment.rules_null = false;
	}
	StartLead(&lead, values[EVENT_TENANT], values[EVENT_LEAD], &enrolment);

	event.event_id = values[EVENT_ID];
	event.occurred_at = values[EVENT_OCCURRED_AT];
	event.kind = values[EVENT_APPLIED_KIND];
	event.effects = *effects;
	/* no running enrolment, no cadence to ask: the kind's defaults decide (an alert, say) */
	EventRules(&event, &lead);
	FoldEvent(&lead, &event);

	ClearFlags(flags);
	flags[DECIDE_CONSENT] = effects->consent;
	return FinishLeads(&lead, 1, lead_kinds, lead_times, flags, decisions_type);
}

Datum
DecideEvents(bool small, bool *flags, Oid *decisions_type)
{
	SPIPlanPtr	plan;
	Portal		cursor;
	LeadDecision *leads;
	int			nleads = 0;
	int			capacity = 64;

	/* a small batch's kept plan; a bulk load is planned for its size */
	if (small)
		plan = KeptPlan(&events_plan, events_sql, 0, NULL, 0);
	else
		plan = SPI_prepare(events_sql, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "preparing the events' decision failed: %s", SPI_result_code_string(SPI_result));
	cursor = SPI_cursor_open(NULL, plan, NULL, NULL, false);

	ClearFlags(flags);
	/* a bulk load of millions of leads passes palloc's 1 GB */
	leads = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(LeadDecision) * capacity);
	for (;;)
	{
		SPITupleTable *chunk;
		uint64		nrows;
		uint64		i;

		SPI_cursor_fetch(cursor, true, EVENTS_PER_FETCH);
		chunk = SPI_tuptable;
		nrows = SPI_processed;
		if (nrows == 0)
		{
			SPI_freetuptable(chunk);
			break;
		}
		for (i = 0; i < nrows; i++)
		{
			HeapTuple	row = chunk->vals[i];
			TupleDesc	row_desc = chunk->tupdesc;
			LeadDecision *lead = nleads > 0 ? &leads[nleads - 1] : NULL;
			FoldedEvent event;
			Running		enrolment;
			bool		isnull;
			Datum		tenant = SPI_getbinval(row, row_desc, EV_TENANT, &isnull);
			Datum		lead_id = SPI_getbinval(row, row_desc, EV_LEAD, &isnull);

			enrolment.enrolment_id = SPI_getbinval(row, row_desc, EV_ENROLMENT, &isnull);
			enrolment.found = !isnull;
			enrolment.status = SPI_getbinval(row, row_desc, EV_STATUS, &isnull);
			enrolment.enrolled_at = SPI_getbinval(row, row_desc, EV_ENROLLED_AT, &isnull);
			enrolment.exit_reason = SPI_getbinval(row, row_desc, EV_EXIT_REASON, &enrolment.exit_reason_null);
			enrolment.cadence_key = SPI_getbinval(row, row_desc, EV_CADENCE_KEY, &isnull);
			enrolment.rules = SPI_getbinval(row, row_desc, EV_RULES, &enrolment.rules_null);

			/* rows come in lead order: a new lead starts a decision */
			if (lead == NULL || DatumGetInt64(tenant) != DatumGetInt64(lead->fields[D_TENANT]) ||
				DatumGetInt64(lead_id) != DatumGetInt64(lead->fields[D_LEAD]))
			{
				if (nleads == capacity)
				{
					capacity *= 2;
					leads = repalloc_huge(leads, sizeof(LeadDecision) * capacity);
				}
				lead = &leads[nleads++];
				StartLead(lead, tenant, lead_id, &enrolment);
			}
			event.event_id = SPI_getbinval(row, row_desc, EV_ID, &isnull);
			event.occurred_at = SPI_getbinval(row, row_desc, EV_OCCURRED_AT, &isnull);
			event.kind = SPI_getbinval(row, row_desc, EV_KIND, &isnull);
			event.effects.response = RowFlag(row, row_desc, EV_RESPONSE);
			event.effects.engagement = RowFlag(row, row_desc, EV_ENGAGEMENT);
			event.effects.human_contact = RowFlag(row, row_desc, EV_HUMAN_CONTACT);
			event.effects.consent = RowFlag(row, row_desc, EV_CONSENT);
			event.effects.preferred_channel = SPI_getbinval(row, row_desc, EV_PREFERRED_CHANNEL, &isnull);
			event.effects.has_preferred_channel = !isnull;
			event.effects.default_exit = RowFlag(row, row_desc, EV_DEFAULT_EXIT);
			event.effects.default_pause = RowFlag(row, row_desc, EV_DEFAULT_PAUSE);
			event.effects.default_hand_off = RowFlag(row, row_desc, EV_DEFAULT_HAND_OFF);
			EventRules(&event, lead);
			flags[DECIDE_CONSENT] |= event.effects.consent;
			FoldEvent(lead, &event);
		}
		SPI_freetuptable(chunk);
	}
	SPI_cursor_close(cursor);
	if (!small)
		SPI_freeplan(plan);
	/* every event has a lead, so a batch has at least one decision */
	if (nleads == 0)
		elog(ERROR, "the events' decision read no events");
	return FinishLeads(leads, nleads, NULL, NULL, flags, decisions_type);
}
