/*
 * event_one.c
 *		The checks of one new event and the effects of its kind.
 *
 * A statement of one event is what record_event() and most webhooks send.
 * For a batch, event.c checks the events in one statement over the
 * transition table; for one event that statement would cost more to start
 * than its work.  Here the kind comes from the kinds the backend keeps
 * (config_cache.c), the payload is looked at in C, and only an event that
 * names a touch costs a statement, touch_sql, which takes the event as
 * parameters.  This runs before any lock, so that an invalid event is
 * refused first, and its kind's effects are what DecideOneEvent()
 * (event_decide.c) folds into the lead's decision.  The checks are the
 * batch's (event.h).
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "cadence.h"
#include "event.h"

static const char *const touch_sql =
"SELECT " TOUCH_OF_ANOTHER_LEAD("n") " FROM " ONE_EVENT;

static SPIPlanPtr touch_plan = NULL;

/* BODY_NOT_TEXT: the payload has a "body" that is not a string */
static bool
BodyNotText(Jsonb *payload)
{
	JsonbValue	key;
	JsonbValue *body;

	/* the ? operator finds "body" in an array or scalar too, but -> then gives NULL */
	if (!JB_ROOT_IS_OBJECT(payload))
		return false;
	key.type = jbvString;
	key.val.string.val = "body";
	key.val.string.len = 4;
	body = findJsonbValueFromContainer(&payload->root, JB_FOBJECT, &key);
	return body != NULL && body->type != jbvString;
}

/* TOUCH_OF_ANOTHER_LEAD, for the one event */
static bool
TouchOfAnotherLead(const Datum *values, const char *nulls)
{
	bool		isnull;
	bool		another;
	int			rc;

	if (nulls[EVENT_TOUCH] == 'n')
		return false;
	rc = SPI_execute_plan(KeptPlan(&touch_plan, touch_sql, ONE_EVENT_NARGS, OneEventTypes, 0),
						  (Datum *) values, nulls, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "checking the touch of an event failed: %s", SPI_result_code_string(rc));
	another = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return !isnull && another;
}

void
CheckOneEvent(const Datum *values, const char *nulls, EventKindEffects *effects)
{
	bool		known;
	const char *problem = NULL;

	known = LookUpEventKind(values[EVENT_TENANT], values[EVENT_KIND], values[EVENT_APPLIED_KIND], effects);
	if (!known)
		problem = "kind";
	else if (nulls[EVENT_PAYLOAD] != 'n' && BodyNotText(DatumGetJsonbP(values[EVENT_PAYLOAD])))
		problem = "body";
	else if (TouchOfAnotherLead(values, nulls))
		problem = "touch";
	if (problem != NULL)
		ReportInvalidEvent(problem, TextDatumGetCString(values[EVENT_KIND]),
						   DatumGetInt64(values[EVENT_LEAD]),
						   nulls[EVENT_TOUCH] == 'n' ? 0 : DatumGetInt64(values[EVENT_TOUCH]));
}
