/*
 * event.h
 *		What the event trigger's files share: the SQL pieces that say what an
 *		event is and does, the one event as parameters, and what a decision
 *		says the batch has to do.
 *
 * event_one.c checks one event and reads its kind; event_decide.c decides
 * what new events do to their leads, for one event or a batch; event.c
 * locks, applies the decisions and checks a batch.  They are built from the
 * pieces below, so that a rule is written once.
 */
#ifndef CADENCE_EVENT_H
#define CADENCE_EVENT_H

#include "postgres.h"

#include "executor/spi.h"
#include "utils/array.h"
#include "utils/jsonb.h"

/*
 * The one new event of a statement of one event, as the parameters of the
 * statements made for it (ONE_EVENT below), in this order.
 */
enum
{
	EVENT_TENANT,
	EVENT_LEAD,
	EVENT_ID,
	EVENT_KIND,
	EVENT_OCCURRED_AT,
	EVENT_PAYLOAD,
	EVENT_SOURCE,
	EVENT_TOUCH,
	EVENT_APPLIED_KIND,
	ONE_EVENT_NARGS
};

/* those parameters as the row n of the event's columns */
#define ONE_EVENT \
"(SELECT $1::bigint AS tenant_id, $2::bigint AS lead_id, $3::bigint AS event_id, $4::text AS kind," \
"        $5::timestamptz AS occurred_at, $6::jsonb AS payload, $7::text AS source, $8::bigint AS touch_id," \
"        $9::text AS applied_kind) n"

/* their types, in that order */
extern Oid	OneEventTypes[ONE_EVENT_NARGS];

/* the new events of a batch, the trigger's transition table */
#define NEW_EVENTS "new_events n"

/*
 * Checks of an event (n): an unknown kind, a payload "body" that is not a
 * string, a touch that is not one of the event's lead.
 */
#define KIND_UNKNOWN(n) \
"(NOT EXISTS (SELECT FROM cadence.event_kind b WHERE b.kind = " n ".kind)" \
" AND NOT EXISTS (SELECT FROM cadence.custom_event_kind c" \
"                  WHERE c.tenant_id = " n ".tenant_id AND c.kind = " n ".kind))"
#define BODY_NOT_TEXT(n) \
"(" n ".payload ? 'body' AND pg_catalog.jsonb_typeof(" n ".payload -> 'body') <> 'string')"
#define TOUCH_OF_ANOTHER_LEAD(n) \
"(" n ".touch_id IS NOT NULL AND NOT EXISTS (SELECT FROM cadence.touch t" \
"                                           WHERE t.tenant_id = " n ".tenant_id AND t.touch_id = " n ".touch_id" \
"                                             AND t.lead_id = " n ".lead_id))"

/*
 * The effects of the kind an event acts as, from the tenant's own kind (c)
 * or the built-in one (b), LEFT JOINed on it: a tenant's kind says all of
 * its effects, NULL ones included.  (For one event, LookUpEventKind()
 * applies the same rule to the kinds the backend keeps.)
 */
#define KIND_EFFECTS \
"coalesce(c.response, b.response) AS response," \
"coalesce(c.engagement, b.engagement) AS engagement," \
"coalesce(c.human_contact, b.human_contact) AS human_contact," \
"CASE WHEN c.kind IS NULL THEN b.consent_channel ELSE c.consent_channel END AS consent_channel," \
"CASE WHEN c.kind IS NULL THEN b.consent_action ELSE c.consent_action END AS consent_action," \
"CASE WHEN c.kind IS NULL THEN b.preferred_channel ELSE c.preferred_channel END AS preferred_channel," \
"coalesce(c.default_exit, b.default_exit) AS default_exit," \
"coalesce(c.default_pause, b.default_pause) AS default_pause," \
"coalesce(c.default_hand_off, b.default_hand_off) AS default_hand_off"

/*
 * Every new event of a batch (ev) with the kind it acts as (STOP in an SMS
 * reply is sms_stop) and that kind's effects, as a WITH item.
 */
#define EVENTS_WITH_KINDS \
"ev AS (" \
"    SELECT n.tenant_id, n.event_id, n.lead_id, n.occurred_at, n.source, n.applied_kind AS kind, " KIND_EFFECTS \
"      FROM " NEW_EVENTS \
"      LEFT JOIN cadence.custom_event_kind c ON c.tenant_id = n.tenant_id AND c.kind = n.applied_kind" \
"      LEFT JOIN cadence.event_kind b ON b.kind = n.applied_kind" \
")"

/*
 * An escalation rule (r.rule) that the lead's events complete: the count
 * of its event kind since the enrolment began, within the rule's window
 * ending at the lead's newest new event, reaches the rule's count; only
 * to a cadence that exists, never to the cadence itself.
 */
#define ESCALATION_RULE_MET(tenant, lead, cadence_key, enrolled_at, last_at) \
"r.rule ->> 'move_to' <> " cadence_key \
" AND (SELECT count(*) FROM cadence.event h" \
"       WHERE h.tenant_id = " tenant " AND h.lead_id = " lead \
"         AND h.applied_kind = r.rule -> 'when' ->> 'event'" \
"         AND h.occurred_at >= " enrolled_at " AND h.occurred_at <= " last_at \
"         AND h.occurred_at > " last_at " - coalesce(cadence.parse_duration(r.rule -> 'when' ->> 'within')," \
"                                                 " last_at " - " enrolled_at " + interval '1 microsecond'))" \
"     >= coalesce((r.rule -> 'when' ->> 'count')::integer, 1)" \
" AND EXISTS (SELECT FROM cadence.cadence c WHERE c.tenant_id = " tenant " AND c.cadence_key = r.rule ->> 'move_to')"

/*
 * What the decisions say the batch has to do, over its leads: one flag per
 * kind of effect (flags[DECIDE_ENROLMENTS .. DECIDE_NFLAGS]).
 */
enum
{
	DECIDE_ENROLMENTS = 1,		/* an enrolment exits, escalates or pauses */
	DECIDE_TOUCHES,				/* unsent touches are withdrawn */
	DECIDE_LEADS,				/* a lead's response, engagement, channel or bonus changes */
	DECIDE_MOVES,				/* a lead escalates to another cadence */
	DECIDE_HAND_OFFS,			/* a lead is handed to a rep */
	DECIDE_ALERTS_CLOSED,		/* human contact or an exit closes existing alerts */
	DECIDE_CONTACT,				/* human contact may close alerts this batch raises */
	DECIDE_CONSENT,				/* consent is granted or revoked */
	DECIDE_NFLAGS = DECIDE_CONSENT
};

/* a boolean column of a row that SPI returned, NULL as false */
static inline bool
RowFlag(HeapTuple row, TupleDesc desc, int column)
{
	bool		isnull;
	Datum		value = SPI_getbinval(row, desc, column, &isnull);

	return !isnull && DatumGetBool(value);
}

/* refuse an invalid event (problem: "kind", "body" or "touch") */
extern void ReportInvalidEvent(const char *problem, const char *kind, int64 lead_id,
							   int64 touch_id) pg_attribute_noreturn();

/* the effects of the kind one event acts as (KIND_EFFECTS), NULL as false */
typedef struct EventKindEffects
{
	bool		response;
	bool		engagement;
	bool		human_contact;
	bool		consent;		/* it grants or revokes consent */
	bool		has_preferred_channel;
	Datum		preferred_channel;	/* text */
	bool		default_exit;
	bool		default_pause;
	bool		default_hand_off;
} EventKindEffects;

/*
 * Whether kind is a kind for tenant (its own or a built-in one), and in
 * *effects what applied_kind does (config_cache.c, from the kinds the
 * backend keeps).  The caller has connected SPI.
 */
extern bool LookUpEventKind(Datum tenant, Datum kind, Datum applied_kind, EventKindEffects *effects);

/*
 * A cadence version's key and rules (config_cache.c, as the backend keeps
 * them), copied into the caller's memory.  The caller has connected SPI.
 */
extern void CadenceVersionOf(Datum tenant, Datum version_id, Datum *cadence_key, Jsonb **rules);

/*
 * Refuse the one event (values and nulls, in the order above) if it is
 * invalid, as the batch's check would; else read its kind's effects.
 */
extern void CheckOneEvent(const Datum *values, const char *nulls, EventKindEffects *effects);

/* a lead's running enrolment, as one event's decision starts from it */
typedef struct RunningEnrolment
{
	Datum		enrolment_id;	/* int8 */
	Datum		status;			/* text: active or paused */
	Datum		enrolled_at;	/* timestamptz */
	Datum		exit_reason;	/* text */
	bool		exit_reason_null;
	Datum		version_id;		/* int8: its cadence version */
} RunningEnrolment;

/*
 * Read by key, without a statement (key_read.c): lock the unsent touches
 * of a lead; read its running enrolment, locked (false: none that the
 * snapshot shows, and event.c reads again once the lead is locked).
 */
extern void LockUnsentTouches(Datum tenant, Datum lead);
extern bool ReadRunningEnrolment(Datum tenant, Datum lead, RunningEnrolment *running);

/*
 * Decide what the one event does to its lead, from its running enrolment
 * (NULL for none); fills flags[DECIDE_ENROLMENTS .. DECIDE_NFLAGS] and
 * returns the decision as a cadence.event_decision[] of one element, whose
 * (array) type is returned in *decisions_type.  lead_kinds and lead_times,
 * when not NULL, are the kinds and times of all the lead's events, the new
 * one included (a LeadRead): escalation rules those cannot complete are
 * not asked.
 */
extern Datum DecideOneEvent(const Datum *values, const EventKindEffects *effects,
							const RunningEnrolment *running, ArrayType *lead_kinds, ArrayType *lead_times,
							bool *flags, Oid *decisions_type);

/*
 * The same for every lead of a batch (new_events, registered with SPI), one
 * decision per lead in lead order; small: a kept plan, else one planned
 * for the batch.
 */
extern Datum DecideEvents(bool small, bool *flags, Oid *decisions_type);

#endif							/* CADENCE_EVENT_H */
