/*
 * keyword.c
 *		Opt-out and opt-in keywords in replies: the kind an event acts as.
 *
 * cadence.event.applied_kind is a stored generated column, and PostgreSQL
 * prepares a generated column's expression again for every statement that
 * writes the table.  Written in SQL, the three functions below were inlined
 * each time, which cost an INSERT of one event about as much as the rest of
 * its executor start.  In C they are looked up, not inlined; the regular
 * expressions are the same, matched by PostgreSQL's own regex code (which
 * keeps the compiled ones) in the database's default collation, as the SQL
 * bodies were, whatever the collation of a caller's text.
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"

#include "cadence.h"

PG_FUNCTION_INFO_V1(cadence_sms_keyword_kind);
PG_FUNCTION_INFO_V1(cadence_email_keyword_kind);
PG_FUNCTION_INFO_V1(cadence_applied_event_kind);

/*
 * The whole message is the keyword, in any case, with spaces, quotes or
 * punctuation around it ("Stop.", "'STOP'", "opt-out", "STOP ALL"), as
 * carriers treat them.
 */
#define AROUND "[[:space:][:punct:]]*"
#define OPT_OUT "opt[[:space:]]*-?[[:space:]]*out"

static const char *const sms_stop_pattern =
"^" AROUND "(stop|stop[[:space:]]*all|unsubscribe|cancel|end|quit|revoke|" OPT_OUT ")" AROUND "$";
static const char *const sms_start_pattern =
"^" AROUND "(start|unstop)" AROUND "$";
static const char *const email_stop_pattern =
"^" AROUND "(unsubscribe|stop|remove[[:space:]]+me|" OPT_OUT ")" AROUND "$";

/* what an email reply's lead typed: its first line, after leading blank space */
static const char *const first_line_pattern = "^[[:space:]]*([^\r\n]*)";

/* a two-argument built-in that may return NULL, as DirectFunctionCall2Coll may not */
static Datum
CallBuiltin(PGFunction function, Oid collation, Datum first, Datum second, bool *isnull)
{
	LOCAL_FCINFO(call, 2);
	Datum		result;

	InitFunctionCallInfoData(*call, NULL, 2, collation, NULL, NULL);
	call->args[0].value = first;
	call->args[0].isnull = false;
	call->args[1].value = second;
	call->args[1].isnull = false;
	result = function(call);
	*isnull = call->isnull;
	return result;
}

/* whether a text is this word, exactly */
static bool
TextIs(text *value, const char *word)
{
	size_t		len = strlen(word);

	return VARSIZE_ANY_EXHDR(value) == len && memcmp(VARDATA_ANY(value), word, len) == 0;
}

/* whether a text matches a pattern, in any case */
static bool
Matches(Datum text, const char *pattern)
{
	return DatumGetBool(DirectFunctionCall2Coll(texticregexeq, DEFAULT_COLLATION_OID, text,
												CStringGetTextDatum(pattern)));
}

/* sms_stop, sms_start or NULL for the body of an SMS reply */
static const char *
SmsKeywordKind(Datum body)
{
	if (Matches(body, sms_stop_pattern))
		return "sms_stop";
	if (Matches(body, sms_start_pattern))
		return "sms_start";
	return NULL;
}

/* unsubscribe or NULL for an email reply's body and subject (either NULL) */
static const char *
EmailKeywordKind(Datum body, bool body_null, Datum subject, bool subject_null)
{
	if (!body_null)
	{
		bool		no_line;
		Datum		first_line = CallBuiltin(textregexsubstr, DEFAULT_COLLATION_OID, body,
											 CStringGetTextDatum(first_line_pattern), &no_line);

		if (!no_line && Matches(first_line, email_stop_pattern))
			return "unsubscribe";
	}
	if (!subject_null && Matches(subject, email_stop_pattern))
		return "unsubscribe";
	return NULL;
}

/* cadence.sms_keyword_kind(body text) returns text (STRICT) */
Datum
cadence_sms_keyword_kind(PG_FUNCTION_ARGS)
{
	const char *kind = SmsKeywordKind(PG_GETARG_DATUM(0));

	if (kind == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(kind));
}

/* cadence.email_keyword_kind(body text, subject text) returns text */
Datum
cadence_email_keyword_kind(PG_FUNCTION_ARGS)
{
	const char *kind = EmailKeywordKind(PG_GETARG_DATUM(0), PG_ARGISNULL(0),
										PG_GETARG_DATUM(1), PG_ARGISNULL(1));

	if (kind == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(kind));
}

/* payload ->> key, or NULL (a NULL pointer) */
static Datum
PayloadText(Datum payload, const char *key)
{
	bool		isnull;
	Datum		value = CallBuiltin(jsonb_object_field_text, InvalidOid, payload,
								   CStringGetTextDatum(key), &isnull);

	return isnull ? (Datum) 0 : value;
}

/*
 * cadence.applied_event_kind(kind text, payload jsonb) returns text: the
 * kind an event acts as.  A reply that is an opt-out (or opt-in) keyword
 * acts as that keyword; any other event as its own kind.
 */
Datum
cadence_applied_event_kind(PG_FUNCTION_ARGS)
{
	text	   *kind;
	const char *keyword = NULL;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	kind = PG_GETARG_TEXT_PP(0);
	if (PG_ARGISNULL(1))
		PG_RETURN_TEXT_P(kind);

	if (TextIs(kind, "sms_reply"))
	{
		Datum		body = PayloadText(PG_GETARG_DATUM(1), "body");

		if (DatumGetPointer(body) != NULL)
			keyword = SmsKeywordKind(body);
	}
	else if (TextIs(kind, "email_reply"))
	{
		Datum		body = PayloadText(PG_GETARG_DATUM(1), "body");
		Datum		subject = PayloadText(PG_GETARG_DATUM(1), "subject");

		keyword = EmailKeywordKind(body, DatumGetPointer(body) == NULL,
								   subject, DatumGetPointer(subject) == NULL);
	}
	if (keyword == NULL)
		PG_RETURN_TEXT_P(kind);
	PG_RETURN_TEXT_P(cstring_to_text(keyword));
}
