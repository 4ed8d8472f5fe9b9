/*
 * event_one.c
 *		The checks of one new event and the effects of its kind, read by key.
 *
 * A statement of one event is what record_event() and most webhooks send.
 * For a batch, event.c checks the events in one statement over the
 * transition table; for one event that statement would cost more to start
 * than its work, so kind_sql takes the event as parameters instead.  It
 * runs before any lock, so that an invalid event is refused first, and its
 * kind's effects are what DecideOneEvent() (event_decide.c) folds into the
 * lead's decision.  The checks are the batch's (event.h).
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"

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

static SPIPlanPtr kind_plan = NULL;

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
