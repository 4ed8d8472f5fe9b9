/*
 * render.c
 *		Merge fields in touch messages: validation at define time and
 *		rendering at enqueue time.
 *
 * A template is text with fields written {{name}} or {{name|fallback}}.
 * Names are the lead's fields (first_name, ...), the rep's (rep_name, ...),
 * the business's (dealership, unsubscribe_url) and free lead attributes as
 * attr.<key>.  An unknown name is rejected when the cadence is defined; a
 * value missing at render time with no fallback is reported back so the
 * engine holds the touch for review instead of sending "Hi ,".
 */
#include "postgres.h"

#include <ctype.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "cadence.h"

PG_FUNCTION_INFO_V1(cadence_check_template);
PG_FUNCTION_INFO_V1(cadence_render);
PG_FUNCTION_INFO_V1(cadence_render_touch);
PG_FUNCTION_INFO_V1(cadence_merge_fields);

/* Field names a template may use besides attr.<key>; keep docs in step. */
static const char *const known_fields[] = {
	"first_name", "last_name", "full_name", "email", "phone",
	"segment", "source", "external_id",
	"rep_name", "rep_first_name", "rep_phone", "rep_email",
	"dealership", "unsubscribe_url",
};

#define ATTR_PREFIX "attr."

/* One {{...}} found in a template. */
typedef struct MergeField
{
	const char *start;			/* the first '{' */
	const char *end;			/* just past the last '}' */
	char	   *name;
	char	   *fallback;		/* NULL when none was given */
} MergeField;

static bool
IsKnownField(const char *name)
{
	int			i;

	if (strncmp(name, ATTR_PREFIX, strlen(ATTR_PREFIX)) == 0)
	{
		const char *key = name + strlen(ATTR_PREFIX);

		return key[0] != '\0' && strchr(key, '.') == NULL;
	}
	for (i = 0; i < lengthof(known_fields); i++)
		if (strcmp(name, known_fields[i]) == 0)
			return true;
	return false;
}

static char *
TrimmedCopy(const char *s, const char *e)
{
	while (s < e && isspace((unsigned char) *s))
		s++;
	while (e > s && isspace((unsigned char) e[-1]))
		e--;
	return pnstrdup(s, e - s);
}

/*
 * Find the next field at or after p.  Returns false at the end of the text.
 * A broken field (unclosed, empty, bad characters) raises an error naming
 * path when strict; otherwise it is returned with name NULL so that the
 * renderer can report it instead of failing a whole tick.
 */
static bool
NextField(const char *p, MergeField *f, const char *path, bool strict)
{
	const char *open = strstr(p, "{{");
	const char *close;
	const char *bar;
	const char *q;

	if (open == NULL)
		return false;
	close = strstr(open + 2, "}}");
	if (close == NULL && !strict)
	{
		f->start = open;
		f->end = open + strlen(open);
		f->name = NULL;
		f->fallback = NULL;
		return true;
	}
	if (close == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unclosed merge field at %s", path),
				 errdetail("A \"{{\" has no matching \"}}\".")));

	bar = memchr(open + 2, '|', close - (open + 2));
	f->start = open;
	f->end = close + 2;
	f->name = TrimmedCopy(open + 2, bar ? bar : close);
	f->fallback = bar ? TrimmedCopy(bar + 1, close) : NULL;

	for (q = f->name; *q; q++)
		if (!(isalnum((unsigned char) *q) || *q == '_' || *q == '.'))
			break;
	if (!strict && (f->name[0] == '\0' || *q != '\0'))
	{
		f->name = NULL;
		return true;
	}
	if (f->name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("empty merge field at %s", path)));
	for (q = f->name; *q; q++)
		if (!(isalnum((unsigned char) *q) || *q == '_' || *q == '.'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid merge field \"%s\" at %s", f->name, path),
					 errhint("Field names use letters, digits, \"_\" and \".\", as in {{first_name}} or {{attr.vehicle|your vehicle}}.")));
	return true;
}

/*
 * cadence.check_template(template text, path text) returns text[]
 *
 * Validate a message template and return the field names it uses.
 */
Datum
cadence_check_template(PG_FUNCTION_ARGS)
{
	char	   *path;
	const char *p;
	MergeField	f;
	ArrayBuildState *names = NULL;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	p = text_to_cstring(PG_GETARG_TEXT_PP(0));
	path = PG_ARGISNULL(1) ? "template" : text_to_cstring(PG_GETARG_TEXT_PP(1));

	while (NextField(p, &f, path, true))
	{
		if (!IsKnownField(f.name))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown merge field \"%s\" at %s", f.name, path),
					 errhint("Known fields are listed by cadence.merge_fields(); free lead attributes are written attr.<key>.")));
		names = accumArrayResult(names, CStringGetTextDatum(f.name), false,
								 TEXTOID, CurrentMemoryContext);
		p = f.end;
	}
	if (names == NULL)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));
	PG_RETURN_DATUM(makeArrayResult(names, CurrentMemoryContext));
}

/*
 * Look up "a" or "a.b" in the context object.  Returns NULL when absent,
 * null, blank or not a scalar: all of them would leave a gap in a message.
 */
static char *
LookupField(Jsonb *ctx, const char *name)
{
	JsonbContainer *container = &ctx->root;
	const char *key = name;
	const char *dot = strchr(name, '.');
	JsonbValue	v;
	char	   *result = NULL;

	if (dot != NULL)
	{
		if (getKeyJsonValueFromContainer(container, name, dot - name, &v) == NULL ||
			v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			return NULL;
		container = v.val.binary.data;
		key = dot + 1;
	}
	if (getKeyJsonValueFromContainer(container, key, strlen(key), &v) == NULL)
		return NULL;

	switch (v.type)
	{
		case jbvString:
			result = pnstrdup(v.val.string.val, v.val.string.len);
			break;
		case jbvNumeric:
			result = DatumGetCString(DirectFunctionCall1(numeric_out,
														 NumericGetDatum(v.val.numeric)));
			break;
		case jbvBool:
			result = pstrdup(v.val.boolean ? "yes" : "no");
			break;
		default:
			return NULL;
	}
	{
		const char *q = result;

		while (*q && isspace((unsigned char) *q))
			q++;
		if (*q == '\0')
			return NULL;
	}
	return result;
}

/*
 * Fill in the fields of one template from a context object.  Returns the
 * text, or NULL when a field had no value and no fallback; such fields (and
 * broken ones, as invalid_merge_field) are added to *missing.
 */
static char *
RenderTemplate(const char *tmpl, Jsonb *ctx, ArrayBuildState **missing)
{
	const char *p = tmpl;
	MergeField	f;
	StringInfoData out;
	bool		complete = true;

	initStringInfo(&out);
	while (NextField(p, &f, "template", false))
	{
		char	   *value;

		appendBinaryStringInfo(&out, p, f.start - p);
		p = f.end;
		if (f.name == NULL)
		{
			/* a broken field never reaches a customer either */
			*missing = accumArrayResult(*missing, CStringGetTextDatum("invalid_merge_field"), false,
										TEXTOID, CurrentMemoryContext);
			complete = false;
			continue;
		}
		value = (ctx && JB_ROOT_IS_OBJECT(ctx)) ? LookupField(ctx, f.name) : NULL;
		if (value != NULL)
			appendStringInfoString(&out, value);
		else if (f.fallback != NULL)
			appendStringInfoString(&out, f.fallback);
		else
		{
			*missing = accumArrayResult(*missing, CStringGetTextDatum(f.name), false,
										TEXTOID, CurrentMemoryContext);
			complete = false;
		}
	}
	appendStringInfoString(&out, p);
	return complete ? out.data : NULL;
}

static Datum
MissingArray(ArrayBuildState *missing)
{
	if (missing == NULL)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	return makeArrayResult(missing, CurrentMemoryContext);
}

/*
 * cadence.render(template text, context jsonb,
 *                OUT rendered text, OUT missing text[])
 *
 * Fill in the fields of a template from a context object.  When a field has
 * no value and no fallback, rendered is NULL and missing lists the fields,
 * so the caller can hold the touch instead of sending a broken message.
 * A broken field (unclosed "{{", say) is reported as invalid_merge_field
 * rather than raised, so one bad template cannot stop a tick.
 */
Datum
cadence_render(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	ArrayBuildState *missing = NULL;
	char	   *rendered = NULL;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	if (!PG_ARGISNULL(0))
		rendered = RenderTemplate(text_to_cstring(PG_GETARG_TEXT_PP(0)),
							  PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1), &missing);
	nulls[0] = (rendered == NULL);
	values[0] = rendered ? CStringGetTextDatum(rendered) : (Datum) 0;
	values[1] = MissingArray(missing);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * cadence.render_touch(subject_template text, body_template text,
 *                      context jsonb, OUT subject text, OUT body text,
 *                      OUT missing text[])
 *
 * Both parts of a touch from one context, for the tick: the context is
 * built and parsed once.  missing lists what either part lacked, and a part
 * that lacked something is NULL.  A NULL template gives a NULL part (an SMS
 * has no subject).
 */
Datum
cadence_render_touch(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	ArrayBuildState *missing = NULL;
	Jsonb	   *ctx = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	char	   *subject = NULL;
	char	   *body = NULL;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	if (!PG_ARGISNULL(0))
		subject = RenderTemplate(text_to_cstring(PG_GETARG_TEXT_PP(0)), ctx, &missing);
	if (!PG_ARGISNULL(1))
		body = RenderTemplate(text_to_cstring(PG_GETARG_TEXT_PP(1)), ctx, &missing);

	nulls[0] = (subject == NULL);
	values[0] = subject ? CStringGetTextDatum(subject) : (Datum) 0;
	nulls[1] = (body == NULL);
	values[1] = body ? CStringGetTextDatum(body) : (Datum) 0;
	values[2] = MissingArray(missing);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * cadence.merge_fields() returns setof text
 *
 * The field names templates may use (besides attr.<key>), for docs and UIs.
 */
Datum
cadence_merge_fields(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;

	if (SRF_IS_FIRSTCALL())
		funcctx = SRF_FIRSTCALL_INIT();
	funcctx = SRF_PERCALL_SETUP();
	if (funcctx->call_cntr < lengthof(known_fields))
		SRF_RETURN_NEXT(funcctx, CStringGetTextDatum(known_fields[funcctx->call_cntr]));
	SRF_RETURN_DONE(funcctx);
}
