/*
 * score.c
 *		Lead scores: fit points from the lead's fields, engagement points
 *		from its events with an exponential decay per event kind, capped per
 *		kind, plus escalation bonuses, clamped to 0-100.
 *
 * The model is a compiled scoring document (cadence.scoring_model.compiled,
 * made by cadence.define_scoring):
 *
 *	{"base": 30,
 *	 "fit": [{"label": ..., "field": "segment" | "attr.<key>",
 *	          "op": "equals" | "in" | "range" | "exists",
 *	          "values": [...], "min": n, "max": n, "points": n}, ...],
 *	 "engagement": [{"kind": "email_open", "points": 3,
 *	                 "half_life_s": 1209600, "cap": 12}, ...]}
 *
 * compute_score() and explain_score() are pure computations over the model,
 * the lead's row and its events as two aligned arrays; score() fetches one
 * lead's data and calls the same code.  A rescore of every lead takes the
 * events as rows instead: the aggregate engagement_points() sums a lead's
 * engagement and compute_score_from() adds the lead's own parts, with the
 * same pieces in the same order, so both forms give the same score.  The
 * parsed model is kept between calls while the same document is passed in.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "cadence.h"

PG_FUNCTION_INFO_V1(cadence_compute_score);
PG_FUNCTION_INFO_V1(cadence_explain_score);
PG_FUNCTION_INFO_V1(cadence_score);
PG_FUNCTION_INFO_V1(cadence_score_tier);
PG_FUNCTION_INFO_V1(cadence_engagement_add);
PG_FUNCTION_INFO_V1(cadence_engagement_final);
PG_FUNCTION_INFO_V1(cadence_compute_score_from);

typedef enum FitOp
{
	FIT_EQUALS,
	FIT_IN,
	FIT_RANGE,
	FIT_EXISTS
} FitOp;

typedef struct FitRule
{
	char	   *label;
	char	   *column;			/* a lead column, or NULL for an attribute */
	int			attnum;			/* the column's number in the lead's row type */
	char	   *attr_key;		/* the attribute for attr.<key> */
	FitOp		op;
	char	  **values;
	int			nvalues;
	bool		has_min;
	bool		has_max;
	double		min;
	double		max;
	double		points;
} FitRule;

typedef struct EngagementRule
{
	char	   *kind;
	int			kind_len;		/* strlen(kind), as events are matched by it */
	double		points;
	double		half_life_s;
	bool		has_cap;
	double		cap;
} EngagementRule;

/* Tiers from the lowest up, as cadence.lead.tier names them. */
#define NTIERS 4
static const char *const tier_names[NTIERS] = {"cold", "moderate", "warm", "hot"};

struct ScoringModel
{
	double		base;
	FitRule    *fit;
	int			nfit;
	EngagementRule *engagement;
	int			nengagement;

	/*
	 * Scores are whole numbers and thresholds numeric, so each line is kept
	 * as the least whole score on or above it (its ceiling): a score reaches
	 * a tier at tier_from and leaves it downwards under tier_leave_under.
	 */
	bool		has_tier_from[NTIERS];
	int			tier_from[NTIERS];
	bool		has_tier_leave[NTIERS];
	int			tier_leave_under[NTIERS];
	bool		has_exit;
	int			exit_under;		/* a score under this ends the enrolment */

	/* the lead row type the fit rules' column numbers were resolved for */
	Oid			lead_type;
	int			attributes_attnum;
	int			bonus_attnum;
};

/* One scored lead, with the parts an explanation lists. */
typedef struct ScoreParts
{
	double		base;
	bool	   *fit_matched;	/* per fit rule */
	int		   *kind_events;	/* per engagement rule: events counted */
	double	   *kind_decayed;	/* per engagement rule: decayed sum before the cap */
	double	   *kind_points;	/* per engagement rule: after the cap */
	double		bonus;
	double		raw;
	int			score;
} ScoreParts;

/* The last model parsed, and the document it came from. */
static MemoryContext model_context = NULL;
static ScoringModel *cached_model = NULL;
static Jsonb *cached_document = NULL;

static JsonbValue *
Member(JsonbContainer *obj, const char *key, JsonbValue *out)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), out);
}

/* A numeric member of an object, or NULL when absent or not a number. */
static Numeric
NumericMember(JsonbContainer *obj, const char *key)
{
	JsonbValue	v;

	if (obj == NULL || Member(obj, key, &v) == NULL || v.type != jbvNumeric)
		return NULL;
	return v.val.numeric;
}

static double
NumberMember(JsonbContainer *obj, const char *key, bool *found)
{
	Numeric		n = NumericMember(obj, key);

	*found = (n != NULL);
	if (n == NULL)
		return 0;
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(n)));
}

/* The least whole number on or above a number, computed in numeric. */
static int
NumericCeiling(Numeric n)
{
	return DatumGetInt32(DirectFunctionCall1(numeric_int4,
											 DirectFunctionCall1(numeric_ceil, NumericGetDatum(n))));
}

/*
 * The tier lines of a model: each threshold of "tiers", and under it, by
 * "hysteresis", the line a lead of that tier must fall below to move down
 * (cold, with no threshold, has the line 0 - hysteresis).  A model without
 * a threshold or the hysteresis has no such line.
 */
static void
ParseTiers(JsonbContainer *root, ScoringModel *model)
{
	JsonbValue	v;
	JsonbContainer *tiers = NULL;
	Numeric		hysteresis = NumericMember(root, "hysteresis");
	Numeric		exit_below = NumericMember(root, "exit_below");
	int			t;

	model->has_exit = (exit_below != NULL);
	if (exit_below != NULL)
		model->exit_under = NumericCeiling(exit_below);

	if (Member(root, "tiers", &v) != NULL && v.type == jbvBinary && JsonContainerIsObject(v.val.binary.data))
		tiers = v.val.binary.data;
	for (t = 0; t < NTIERS; t++)
	{
		Numeric		from = (t == 0) ? NULL : NumericMember(tiers, tier_names[t]);
		Numeric		line;

		model->has_tier_from[t] = (from != NULL);
		if (from != NULL)
			model->tier_from[t] = NumericCeiling(from);
		model->has_tier_leave[t] = (hysteresis != NULL);
		if (hysteresis == NULL)
			continue;
		line = (from != NULL) ? from : int64_to_numeric(0);
		model->tier_leave_under[t] =
			NumericCeiling(DatumGetNumeric(DirectFunctionCall2(numeric_sub, NumericGetDatum(line),
															   NumericGetDatum(hysteresis))));
	}
}

static char *
StringMember(JsonbContainer *obj, const char *key)
{
	JsonbValue	v;

	if (Member(obj, key, &v) == NULL || v.type != jbvString)
		return NULL;
	return pnstrdup(v.val.string.val, v.val.string.len);
}

/* The text of a scalar JSON value, as a template would show it. */
static char *
ScalarText(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		default:
			return NULL;
	}
}

static void
ModelError(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid compiled scoring model: %s", what),
			 errhint("Store scoring rules with cadence.define_scoring(), which compiles them.")));
}

/*
 * Parse a compiled model into memory of the model context.
 */
static ScoringModel *
ParseModel(Jsonb *doc)
{
	JsonbContainer *root = &doc->root;
	ScoringModel *model = palloc0(sizeof(ScoringModel));
	JsonbValue	v;
	bool		found;
	int			i;

	if (!JB_ROOT_IS_OBJECT(doc))
		ModelError("not an object");
	model->base = NumberMember(root, "base", &found);

	if (Member(root, "fit", &v) != NULL)
	{
		JsonbContainer *arr;

		if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
			ModelError("fit is not an array");
		arr = v.val.binary.data;
		model->nfit = JsonContainerSize(arr);
		model->fit = palloc0(sizeof(FitRule) * Max(model->nfit, 1));
		for (i = 0; i < model->nfit; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(arr, i);
			FitRule    *r = &model->fit[i];
			JsonbContainer *o;
			char	   *field;
			char	   *op;

			if (e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
				ModelError("a fit rule is not an object");
			o = e->val.binary.data;
			field = StringMember(o, "field");
			op = StringMember(o, "op");
			if (field == NULL || op == NULL)
				ModelError("a fit rule lacks field or op");
			r->label = StringMember(o, "label");
			if (r->label == NULL)
				r->label = field;
			if (strncmp(field, "attr.", 5) == 0)
				r->attr_key = field + 5;
			else
				r->column = field;
			if (strcmp(op, "equals") == 0)
				r->op = FIT_EQUALS;
			else if (strcmp(op, "in") == 0)
				r->op = FIT_IN;
			else if (strcmp(op, "range") == 0)
				r->op = FIT_RANGE;
			else if (strcmp(op, "exists") == 0)
				r->op = FIT_EXISTS;
			else
				ModelError("unknown fit op");
			if (Member(o, "values", &v) != NULL && v.type == jbvBinary && JsonContainerIsArray(v.val.binary.data))
			{
				JsonbContainer *vals = v.val.binary.data;
				int			j;

				r->nvalues = JsonContainerSize(vals);
				r->values = palloc0(sizeof(char *) * Max(r->nvalues, 1));
				for (j = 0; j < r->nvalues; j++)
					r->values[j] = ScalarText(getIthJsonbValueFromContainer(vals, j));
			}
			r->min = NumberMember(o, "min", &r->has_min);
			r->max = NumberMember(o, "max", &r->has_max);
			r->points = NumberMember(o, "points", &found);
		}
	}

	if (Member(root, "engagement", &v) != NULL)
	{
		JsonbContainer *arr;

		if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
			ModelError("engagement is not an array");
		arr = v.val.binary.data;
		model->nengagement = JsonContainerSize(arr);
		model->engagement = palloc0(sizeof(EngagementRule) * Max(model->nengagement, 1));
		for (i = 0; i < model->nengagement; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(arr, i);
			EngagementRule *r = &model->engagement[i];
			JsonbContainer *o;

			if (e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
				ModelError("an engagement rule is not an object");
			o = e->val.binary.data;
			r->kind = StringMember(o, "kind");
			if (r->kind == NULL)
				ModelError("an engagement rule lacks its kind");
			r->kind_len = strlen(r->kind);
			r->points = NumberMember(o, "points", &found);
			r->half_life_s = NumberMember(o, "half_life_s", &found);
			if (!found || r->half_life_s <= 0)
				ModelError("an engagement rule needs a positive half_life_s");
			r->cap = NumberMember(o, "cap", &r->has_cap);
		}
	}
	ParseTiers(root, model);
	return model;
}

/*
 * The model for this document: the cached one when the same document is
 * passed again (a set-based rescore passes it for every lead).
 */
static ScoringModel *
ModelFor(Jsonb *doc)
{
	MemoryContext old;

	if (cached_model != NULL &&
		VARSIZE(cached_document) == VARSIZE(doc) &&
		memcmp(cached_document, doc, VARSIZE(doc)) == 0)
		return cached_model;

	if (model_context == NULL)
		model_context = AllocSetContextCreate(TopMemoryContext, "cadence scoring model",
											  ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(model_context);
	cached_model = NULL;

	old = MemoryContextSwitchTo(model_context);
	cached_document = palloc(VARSIZE(doc));
	memcpy(cached_document, doc, VARSIZE(doc));
	cached_model = ParseModel(cached_document);
	MemoryContextSwitchTo(old);
	return cached_model;
}

/*
 * A lead's row as the fit rules read it: its row type's descriptor, and its
 * attributes detoasted once rather than once per rule.
 */
typedef struct LeadRow
{
	TupleTableSlot *slot;		/* a row of a query (nightly.c), or NULL for: */
	HeapTupleData tuple;		/* a composite value of the lead's row type */
	TupleDesc	desc;
	Jsonb	   *attributes;		/* NULL when the lead has none */
	int32		bonus;
} LeadRow;

/* Column attnum of a lead row. */
static inline Datum
LeadAttr(LeadRow *lead, int attnum, bool *isnull)
{
	if (lead->slot != NULL)
		return slot_getattr(lead->slot, attnum, isnull);
	return heap_getattr(&lead->tuple, attnum, lead->desc, isnull);
}

static int
LeadColumn(TupleDesc desc, const char *name)
{
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return i + 1;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("a scoring rule reads lead column \"%s\", which does not exist", name)));
	return 0;					/* keep the compiler quiet */
}

/*
 * Open a lead's row; the fit rules' column numbers are resolved once per
 * model and row type.
 */
static void ReadLeadParts(ScoringModel *model, LeadRow *row);

static void
OpenLeadRow(ScoringModel *model, HeapTupleHeader lead, LeadRow *row)
{
	Oid			type = HeapTupleHeaderGetTypeId(lead);
	int			i;

	row->desc = lookup_rowtype_tupdesc(type, HeapTupleHeaderGetTypMod(lead));
	row->tuple.t_len = HeapTupleHeaderGetDatumLength(lead);
	ItemPointerSetInvalid(&row->tuple.t_self);
	row->tuple.t_tableOid = InvalidOid;
	row->tuple.t_data = lead;

	if (model->lead_type != type)
	{
		for (i = 0; i < model->nfit; i++)
			if (model->fit[i].column != NULL)
				model->fit[i].attnum = LeadColumn(row->desc, model->fit[i].column);
		model->attributes_attnum = LeadColumn(row->desc, "attributes");
		model->bonus_attnum = LeadColumn(row->desc, "score_bonus");
		model->lead_type = type;
	}

	row->slot = NULL;
	ReadLeadParts(model, row);
}

/* The parts of a lead's row that every score reads: attributes and bonus. */
static void
ReadLeadParts(ScoringModel *model, LeadRow *row)
{
	bool		isnull;
	Datum		d;

	d = LeadAttr(row, model->attributes_attnum, &isnull);
	row->attributes = isnull ? NULL : DatumGetJsonbP(d);
	if (row->attributes != NULL && !JB_ROOT_IS_OBJECT(row->attributes))
		row->attributes = NULL;
	d = LeadAttr(row, model->bonus_attnum, &isnull);
	row->bonus = isnull ? 0 : DatumGetInt32(d);
}

static void
CloseLeadRow(LeadRow *row)
{
	ReleaseTupleDesc(row->desc);
}

/*
 * The value of a lead field as text: a column of cadence.lead, or an
 * attribute.  NULL when absent or blank.
 */
static char *
LeadField(LeadRow *lead, const FitRule *rule)
{
	bool		isnull;
	Datum		d;
	char	   *s = NULL;

	if (rule->column != NULL)
	{
		/* define_scoring allows only the lead's text columns here */
		d = LeadAttr(lead, rule->attnum, &isnull);
		if (!isnull)
			s = TextDatumGetCString(d);
	}
	else if (lead->attributes != NULL)
	{
		JsonbValue	v;

		if (Member(&lead->attributes->root, rule->attr_key, &v) != NULL)
			s = ScalarText(&v);
	}
	if (s != NULL)
	{
		const char *p = s;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return NULL;
	}
	return s;
}

/* Whether an attribute is present and not null, whatever its type. */
static bool
AttributePresent(LeadRow *lead, const char *key)
{
	JsonbValue	v;

	if (lead->attributes == NULL || Member(&lead->attributes->root, key, &v) == NULL || v.type == jbvNull)
		return false;
	if (v.type == jbvString)
	{
		/* a blank string is no value, as everywhere else */
		int			i;

		for (i = 0; i < v.val.string.len; i++)
			if (v.val.string.val[i] != ' ' && v.val.string.val[i] != '\t')
				return true;
		return false;
	}
	return true;
}

static bool
FitMatches(LeadRow *lead, const FitRule *rule)
{
	char	   *value;
	int			i;

	/* an attribute that holds an object or a list exists too */
	if (rule->op == FIT_EXISTS && rule->attr_key != NULL)
		return AttributePresent(lead, rule->attr_key);
	value = LeadField(lead, rule);

	if (value == NULL)
		return false;
	switch (rule->op)
	{
		case FIT_EXISTS:
			return true;
		case FIT_EQUALS:
		case FIT_IN:
			for (i = 0; i < rule->nvalues; i++)
				if (rule->values[i] != NULL && pg_strcasecmp(value, rule->values[i]) == 0)
					return true;
			return false;
		case FIT_RANGE:
			{
				char	   *end;
				double		x = strtod(value, &end);

				if (end == value || *end != '\0' || isnan(x))
					return false;
				return (!rule->has_min || x >= rule->min) && (!rule->has_max || x <= rule->max);
			}
	}
	return false;
}

/*
 * The engagement rule an event kind falls under, or -1.
 */
static int
EngagementRuleOf(const EngagementRule *rules, int nrules, const char *kind, int len)
{
	int			r;

	for (r = 0; r < nrules; r++)
		if (rules[r].kind_len == len && memcmp(rules[r].kind, kind, len) == 0)
			return r;
	return -1;
}

/* An event's points at as_of: the rule's points, halved every half-life. */
static inline double
DecayedPoints(const EngagementRule *rule, TimestampTz at, TimestampTz as_of)
{
	double		age_s = (double) (as_of - at) / USECS_PER_SEC;

	return rule->points * pow(0.5, age_s / rule->half_life_s);
}

/*
 * The engagement points of all kinds: each kind's decayed sum, capped,
 * added up in rule order (kind_points, when given, gets each kind's part).
 */
static double
CappedEngagement(const EngagementRule *rules, int nrules, const double *decayed, double *kind_points)
{
	double		total = 0;
	int			r;

	for (r = 0; r < nrules; r++)
	{
		double		p = decayed[r];

		if (rules[r].has_cap)
			p = (p > rules[r].cap) ? rules[r].cap : p;
		if (kind_points != NULL)
			kind_points[r] = p;
		total += p;
	}
	return total;
}

/*
 * The parts of a score that come from the lead's row: base and fit rules,
 * and the bonus.
 */
static void
ScoreFitRow(ScoringModel *model, LeadRow *lead, ScoreParts *parts)
{
	int			i;

	memset(parts, 0, sizeof(ScoreParts));
	parts->fit_matched = palloc0(sizeof(bool) * Max(model->nfit, 1));
	parts->kind_events = palloc0(sizeof(int) * Max(model->nengagement, 1));
	parts->kind_decayed = palloc0(sizeof(double) * Max(model->nengagement, 1));
	parts->kind_points = palloc0(sizeof(double) * Max(model->nengagement, 1));
	parts->base = model->base;
	parts->raw = model->base;

	for (i = 0; i < model->nfit; i++)
	{
		parts->fit_matched[i] = FitMatches(lead, &model->fit[i]);
		if (parts->fit_matched[i])
			parts->raw += model->fit[i].points;
	}
	parts->bonus = lead->bonus;
}

static void
ScoreFit(ScoringModel *model, HeapTupleHeader lead_header, ScoreParts *parts)
{
	LeadRow		lead;

	OpenLeadRow(model, lead_header, &lead);
	ScoreFitRow(model, &lead, parts);
	CloseLeadRow(&lead);
}

/*
 * Complete a score: the parts are added in one order everywhere (base and
 * fit rules, then the engagement of all kinds as one sum, then the bonus),
 * rounded halves away from zero like SQL round(), and clamped to 0-100.
 */
static void
FinishScore(ScoreParts *parts, double engagement)
{
	parts->raw += engagement;
	parts->raw += parts->bonus;
	parts->score = (int) round(parts->raw);
	if (parts->score < 0)
		parts->score = 0;
	if (parts->score > 100)
		parts->score = 100;
}

/*
 * Score one lead.  kinds and times are the lead's events (aligned arrays,
 * either may be NULL for a lead with none); events after as_of are ignored.
 */
static void
ComputeScore(ScoringModel *model, HeapTupleHeader lead_header, ArrayType *kinds, ArrayType *times,
			 TimestampTz as_of, ScoreParts *parts)
{
	ScoreFit(model, lead_header, parts);

	if (kinds != NULL && times != NULL && model->nengagement > 0)
	{
		Datum	   *kind_values;
		bool	   *kind_nulls;
		Datum	   *time_values;
		bool	   *time_nulls;
		int			nkinds,
					ntimes,
					e;

		deconstruct_array(kinds, TEXTOID, -1, false, TYPALIGN_INT, &kind_values, &kind_nulls, &nkinds);
		deconstruct_array(times, TIMESTAMPTZOID, sizeof(TimestampTz), true, TYPALIGN_DOUBLE,
						  &time_values, &time_nulls, &ntimes);
		if (nkinds != ntimes)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("event kinds and times differ in length (%d and %d)", nkinds, ntimes)));

		for (e = 0; e < nkinds; e++)
		{
			text	   *kind;
			TimestampTz at;
			int			r;

			if (kind_nulls[e] || time_nulls[e])
				continue;
			at = DatumGetTimestampTz(time_values[e]);
			if (at > as_of)
				continue;
			kind = DatumGetTextPP(kind_values[e]);
			r = EngagementRuleOf(model->engagement, model->nengagement,
								 VARDATA_ANY(kind), VARSIZE_ANY_EXHDR(kind));
			if (r < 0)
				continue;
			parts->kind_events[r]++;
			parts->kind_decayed[r] += DecayedPoints(&model->engagement[r], at, as_of);
		}
	}
	FinishScore(parts, CappedEngagement(model->engagement, model->nengagement,
										parts->kind_decayed, parts->kind_points));
}

/*
 * The tier for a score: up as soon as the score reaches a higher tier's
 * threshold; down only once it falls below the current tier's threshold
 * by the hysteresis, so that a lead flapping around a line stays put.  A
 * lead without a tier takes the one its score reaches; NULL for a score
 * keeps the current tier.
 */
static const char *
ScoreTier(ScoringModel *model, bool score_null, int score, const char *current)
{
	int			reached = 0;
	int			now = -1;
	int			t;

	if (score_null)
		return current;
	for (t = NTIERS - 1; t > 0; t--)
		if (model->has_tier_from[t] && score >= model->tier_from[t])
		{
			reached = t;
			break;
		}
	if (current == NULL)
		return tier_names[reached];
	for (t = 0; t < NTIERS; t++)
		if (strcmp(current, tier_names[t]) == 0)
			now = t;
	if (now >= 0 && reached >= now)
		return tier_names[reached];
	/* a tier this model does not know has the line 0, as cold has */
	if (now < 0)
	{
		if (model->has_tier_leave[0] && score < model->tier_leave_under[0])
			return tier_names[reached];
		return current;
	}
	if (model->has_tier_leave[now] && score < model->tier_leave_under[now])
		return tier_names[reached];
	return current;
}

/*
 * cadence.compute_score(model jsonb, lead cadence.lead, kinds text[],
 *                       times timestamptz[], as_of timestamptz) returns integer
 */
Datum
cadence_compute_score(PG_FUNCTION_ARGS)
{
	ScoreParts	parts;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(4))
		PG_RETURN_NULL();
	ComputeScore(ModelFor(PG_GETARG_JSONB_P(0)), PG_GETARG_HEAPTUPLEHEADER(1),
				 PG_ARGISNULL(2) ? NULL : PG_GETARG_ARRAYTYPE_P(2),
				 PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3),
				 PG_GETARG_TIMESTAMPTZ(4), &parts);
	PG_RETURN_INT32(parts.score);
}

/*
 * The aggregate cadence.engagement_points(model, kind, occurred_at, as_of):
 * one lead's engagement points from its events as rows, so that a rescore
 * of every lead groups the events without building arrays.  The state
 * keeps its own copy of the model's engagement rules (models are cached one
 * at a time, and another group may bring another model).
 */
typedef struct EngagementState
{
	EngagementRule *rules;
	int			nrules;
	double	   *decayed;
} EngagementState;

Datum
cadence_engagement_add(PG_FUNCTION_ARGS)
{
	EngagementState *state = PG_ARGISNULL(0) ? NULL : (EngagementState *) PG_GETARG_POINTER(0);
	MemoryContext aggcontext;
	text	   *kind;
	TimestampTz at;
	TimestampTz as_of;
	int			r;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "cadence.engagement_add() called outside an aggregate");
	if (state == NULL)
	{
		ScoringModel *model;
		MemoryContext old;

		if (PG_ARGISNULL(1))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a scoring model is needed to count engagement (field \"model\")")));
		model = ModelFor(PG_GETARG_JSONB_P(1));
		old = MemoryContextSwitchTo(aggcontext);
		state = palloc0(sizeof(EngagementState));
		state->nrules = model->nengagement;
		state->rules = palloc(sizeof(EngagementRule) * Max(model->nengagement, 1));
		for (r = 0; r < model->nengagement; r++)
		{
			state->rules[r] = model->engagement[r];
			state->rules[r].kind = pstrdup(model->engagement[r].kind);
		}
		state->decayed = palloc0(sizeof(double) * Max(model->nengagement, 1));
		MemoryContextSwitchTo(old);
	}
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		PG_RETURN_POINTER(state);
	kind = PG_GETARG_TEXT_PP(2);
	at = PG_GETARG_TIMESTAMPTZ(3);
	as_of = PG_GETARG_TIMESTAMPTZ(4);
	if (at > as_of)
		PG_RETURN_POINTER(state);
	r = EngagementRuleOf(state->rules, state->nrules, VARDATA_ANY(kind), VARSIZE_ANY_EXHDR(kind));
	if (r >= 0)
		state->decayed[r] += DecayedPoints(&state->rules[r], at, as_of);
	PG_RETURN_POINTER(state);
}

Datum
cadence_engagement_final(PG_FUNCTION_ARGS)
{
	EngagementState *state;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (EngagementState *) PG_GETARG_POINTER(0);
	PG_RETURN_FLOAT8(CappedEngagement(state->rules, state->nrules, state->decayed, NULL));
}

/*
 * cadence.compute_score_from(model jsonb, lead cadence.lead,
 *                            engagement double precision) returns integer
 *
 * A lead's score from its engagement points as cadence.engagement_points()
 * sums them (NULL for a lead with no events).
 */
Datum
cadence_compute_score_from(PG_FUNCTION_ARGS)
{
	ScoreParts	parts;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	ScoreFit(ModelFor(PG_GETARG_JSONB_P(0)), PG_GETARG_HEAPTUPLEHEADER(1), &parts);
	FinishScore(&parts, PG_ARGISNULL(2) ? 0 : PG_GETARG_FLOAT8(2));
	PG_RETURN_INT32(parts.score);
}

/*
 * Score a lead and tier it, for callers in C (rescore.c).
 */
LeadScore
ScoreLead(Jsonb *document, HeapTupleHeader lead, ArrayType *kinds, ArrayType *times,
		  TimestampTz as_of, const char *current_tier)
{
	ScoringModel *model = ModelFor(document);
	ScoreParts	parts;
	LeadScore	result;

	ComputeScore(model, lead, kinds, times, as_of, &parts);
	result.score = parts.score;
	result.tier = ScoreTier(model, false, parts.score, current_tier);
	result.below_exit = model->has_exit && parts.score < model->exit_under;
	return result;
}

/*
 * For the nightly pass over a tenant's leads (nightly.c), which reads the
 * events and the leads as rows of its own queries.
 *
 * A private copy of the model, parsed into the current memory context: the
 * pass keeps it while other code may parse other models.
 */
ScoringModel *
ParseScoringModel(Jsonb *document)
{
	Jsonb	   *copy = palloc(VARSIZE(document));

	memcpy(copy, document, VARSIZE(document));
	return ParseModel(copy);
}

/* The fit rules' columns, found by name among the columns of desc. */
void
ResolveLeadColumns(ScoringModel *model, TupleDesc desc)
{
	int			i;

	for (i = 0; i < model->nfit; i++)
		if (model->fit[i].column != NULL)
			model->fit[i].attnum = LeadColumn(desc, model->fit[i].column);
	model->attributes_attnum = LeadColumn(desc, "attributes");
	model->bonus_attnum = LeadColumn(desc, "score_bonus");
	/* not a row type: a composite lead passed later resolves them again */
	model->lead_type = InvalidOid;
}

/* The number of engagement rules, the length of the sums AddEventPoints keeps. */
int
EngagementRuleCount(const ScoringModel *model)
{
	return model->nengagement;
}

/* The engagement rule an event kind (len bytes, not terminated) counts under, or -1. */
int
EngagementRuleFor(const ScoringModel *model, const char *kind, int len)
{
	return EngagementRuleOf(model->engagement, model->nengagement, kind, len);
}

/* Add an event of rule's kind at at to a lead's decayed sums. */
void
AddEventPoints(const ScoringModel *model, double *decayed, int rule, TimestampTz at, TimestampTz as_of)
{
	decayed[rule] += DecayedPoints(&model->engagement[rule], at, as_of);
}

/* A lead's engagement points from its decayed sums: each kind capped, in rule order. */
double
EngagementTotal(const ScoringModel *model, const double *decayed)
{
	return CappedEngagement(model->engagement, model->nengagement, decayed, NULL);
}

/*
 * Score and tier a lead read as a query's row (columns resolved with
 * ResolveLeadColumns), with its engagement points: the parts in the order
 * of compute_score_from(), so both give the same score.
 */
LeadScore
ScoreLeadSlot(ScoringModel *model, TupleTableSlot *slot, double engagement, const char *current_tier)
{
	LeadRow		lead;
	ScoreParts	parts;
	LeadScore	result;

	lead.slot = slot;
	ReadLeadParts(model, &lead);
	ScoreFitRow(model, &lead, &parts);
	FinishScore(&parts, engagement);
	result.score = parts.score;
	result.tier = ScoreTier(model, false, parts.score, current_tier);
	result.below_exit = model->has_exit && parts.score < model->exit_under;
	return result;
}

/*
 * cadence.score_tier(score integer, current_tier text, model jsonb) returns text
 */
Datum
cadence_score_tier(PG_FUNCTION_ARGS)
{
	char	   *current = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	const char *tier;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a scoring model is needed to tier a score (field \"model\")")));
	tier = ScoreTier(ModelFor(PG_GETARG_JSONB_P(2)), PG_ARGISNULL(0),
					 PG_ARGISNULL(0) ? 0 : PG_GETARG_INT32(0), current);
	if (tier == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(tier));
}

static void
AddExplanation(Tuplestorestate *store, TupleDesc desc, const char *component,
			   const char *detail, double points)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	values[0] = CStringGetTextDatum(component);
	values[1] = CStringGetTextDatum(detail);
	/* points to two decimals, so that the rows add up to the score exactly */
	values[2] = DirectFunctionCall2(numeric_round,
									DirectFunctionCall1(float8_numeric, Float8GetDatum(points)),
									Int32GetDatum(2));
	tuplestore_putvalues(store, desc, values, nulls);
}

/*
 * cadence.explain_score(model, lead, kinds, times, as_of)
 *		returns table (component text, detail text, points numeric)
 *
 * Every part of the score: the base, each fit rule that matched, each
 * event kind (events counted, decayed sum, cap), bonuses, and the rounding
 * and clamping; the points add up to the score.
 */
Datum
cadence_explain_score(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ScoringModel *model;
	ScoreParts	parts;
	double		listed = 0;
	double		rounded;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(4))
		PG_RETURN_NULL();

	model = ModelFor(PG_GETARG_JSONB_P(0));
	ComputeScore(model, PG_GETARG_HEAPTUPLEHEADER(1),
				 PG_ARGISNULL(2) ? NULL : PG_GETARG_ARRAYTYPE_P(2),
				 PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3),
				 PG_GETARG_TIMESTAMPTZ(4), &parts);

#define EXPLAIN(component, detail, pts) \
	do { \
		double rounded_pts = round((pts) * 100) / 100; \
		AddExplanation(rsinfo->setResult, rsinfo->setDesc, component, detail, rounded_pts); \
		listed += rounded_pts; \
	} while (0)

	EXPLAIN("base", "every lead starts here", parts.base);
	for (i = 0; i < model->nfit; i++)
		if (parts.fit_matched[i])
			EXPLAIN("fit", model->fit[i].label, model->fit[i].points);
	for (i = 0; i < model->nengagement; i++)
	{
		EngagementRule *r = &model->engagement[i];
		char	   *detail;

		if (parts.kind_events[i] == 0)
			continue;
		if (r->has_cap && parts.kind_decayed[i] > r->cap)
			detail = psprintf("%s: %d event%s, %.2f points after decay (half-life %.1f days), capped at %g",
							  r->kind, parts.kind_events[i], parts.kind_events[i] == 1 ? "" : "s",
							  parts.kind_decayed[i], r->half_life_s / 86400.0, r->cap);
		else
			detail = psprintf("%s: %d event%s, %.2f points after decay (half-life %.1f days)",
							  r->kind, parts.kind_events[i], parts.kind_events[i] == 1 ? "" : "s",
							  parts.kind_decayed[i], r->half_life_s / 86400.0);
		EXPLAIN("engagement", detail, parts.kind_points[i]);
	}
	if (parts.bonus != 0)
		EXPLAIN("bonus", "escalations (score added by cadence rules)", parts.bonus);

	rounded = parts.score - listed;
	if (fabs(rounded) >= 0.005)
		EXPLAIN("adjustment", parts.raw > 100 ? "capped at 100" : parts.raw < 0 ? "raised to 0" : "rounded to a whole score",
				rounded);
#undef EXPLAIN
	return (Datum) 0;
}

/*
 * cadence.score(lead_id bigint, as_of timestamptz) returns integer
 *
 * The lead's score at as_of under the current tenant's scoring model.  A
 * first statement fetches the lead and its tenant's model (as
 * cadence.scoring_model_for() picks it, written out here because a SQL
 * function with subqueries is never inlined and costs a call of its own); a
 * second reads the lead's events from event_lead as rows, so that no arrays
 * are aggregated in SQL.  The events are then scored with the same code as
 * compute_score().
 */
Datum
cadence_score(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr lead_plan = NULL;
	static SPIPlanPtr events_plan = NULL;
	static const char *const lead_sql =
		"SELECT l, l.tenant_id,"
		"       coalesce((SELECT m.compiled FROM cadence.scoring_model m"
		"                  WHERE m.tenant_id = l.tenant_id ORDER BY m.version DESC LIMIT 1),"
		"                (SELECT d.compiled FROM cadence.scoring_default d LIMIT 1))"
		"  FROM cadence.lead l"
		" WHERE l.tenant_id = cadence.current_tenant() AND l.lead_id = $1";
	static const char *const events_sql =
		"SELECT e.applied_kind, e.occurred_at FROM cadence.event e"
		" WHERE e.tenant_id = $1 AND e.lead_id = $2 AND e.occurred_at <= $3";
	Oid			lead_argtypes[1] = {INT8OID};
	Oid			events_argtypes[3] = {INT8OID, INT8OID, TIMESTAMPTZOID};
	Datum		args[3];
	TimestampTz as_of;
	Datum		model_datum;
	Datum		lead_datum;
	bool		isnull;
	ArrayType  *kinds = NULL;
	ArrayType  *times = NULL;
	ScoreParts	parts;
	int			result;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	as_of = PG_GETARG_TIMESTAMPTZ(1);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = PG_GETARG_DATUM(0);
	if (SPI_execute_plan(KeptPlan(&lead_plan, lead_sql, 1, lead_argtypes, 0), args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "scoring query failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("lead %lld does not exist (field \"lead_id\")", (long long) PG_GETARG_INT64(0))));
	lead_datum = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	args[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	model_datum = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	if (isnull)
		elog(ERROR, "no scoring model for the lead's tenant");

	/* the events, as the two aligned arrays ComputeScore() takes */
	args[1] = PG_GETARG_DATUM(0);
	args[2] = TimestampTzGetDatum(as_of);
	if (SPI_execute_plan(KeptPlan(&events_plan, events_sql, 3, events_argtypes, 0), args, NULL, true, 0)
		!= SPI_OK_SELECT)
		elog(ERROR, "scoring query failed");
	if (SPI_processed > 0)
	{
		int			n = (int) SPI_processed;
		Datum	   *kind_values = palloc(sizeof(Datum) * n);
		Datum	   *time_values = palloc(sizeof(Datum) * n);
		int			i;

		for (i = 0; i < n; i++)
		{
			kind_values[i] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
			time_values[i] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
		}
		kinds = construct_array(kind_values, n, TEXTOID, -1, false, TYPALIGN_INT);
		times = construct_array(time_values, n, TIMESTAMPTZOID, sizeof(TimestampTz), true, TYPALIGN_DOUBLE);
	}

	ComputeScore(ModelFor(DatumGetJsonbP(model_datum)), DatumGetHeapTupleHeader(lead_datum),
				 kinds, times, as_of, &parts);
	result = parts.score;
	SPI_finish();
	PG_RETURN_INT32(result);
}
