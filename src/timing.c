/*
 * timing.c
 *		When a step is due, and when a touch may actually go out.
 *
 * A step's timing is written in the cadence document as text ("immediate",
 * "+5 minutes", "day 2", "week 6", "after previous +2 hours") with an
 * optional local window ("morning", "09:00-11:00") and preferred weekdays.
 * The parsers here turn that text into columns at define time; step_due()
 * turns the columns into the planned instant for one enrolment; plan_touch()
 * applies the compliance gates (quiet hours, call cap, call spacing) and
 * says why a touch was moved.  All of them take time as an argument.
 */
#include "postgres.h"

#include <ctype.h>
#include <limits.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "cadence.h"

PG_FUNCTION_INFO_V1(cadence_parse_timing);
PG_FUNCTION_INFO_V1(cadence_parse_duration);
PG_FUNCTION_INFO_V1(cadence_parse_window);
PG_FUNCTION_INFO_V1(cadence_step_due);
PG_FUNCTION_INFO_V1(cadence_plan_touch);
PG_FUNCTION_INFO_V1(cadence_is_allowed_at);

/* Named windows, in the lead's local time (from the seed's hot cadence). */
typedef struct NamedWindow
{
	const char *name;
	int			from_hour;
	int			until_hour;
} NamedWindow;

static const NamedWindow named_windows[] = {
	{"morning", 9, 11},
	{"midday", 11, 14},
	{"afternoon", 14, 17},
	{"evening", 17, 19},
	{"anytime", 0, 24},
};

/* Upper bound for offsets: a cadence longer than this is a typo. */
#define MAX_OFFSET_DAYS 3660

/*
 * Fail with a message that quotes the value and names its JSON path.
 */
static void
TimingError(const char *path, const char *value, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid timing \"%s\" at %s", value, path),
			 errdetail("%s", detail),
			 errhint("Write \"immediate\", \"+5 minutes\", \"+2 hours\", \"+3 days\", \"day 2\", \"week 6\" or \"after previous +1 day\".")));
}

static const char *
SkipSpaces(const char *p)
{
	while (*p && isspace((unsigned char) *p))
		p++;
	return p;
}

/*
 * Fail for a rules duration, quoting the value as written.
 */
static void
DurationError(const char *path, const char *value, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid duration \"%s\" at %s", value, path),
			 errdetail("%s", detail),
			 errhint("Write a whole number and a unit, such as \"30 minutes\", \"7 days\" or \"2 weeks\".")));
}

typedef void (*AmountError) (const char *path, const char *value, const char *detail);

/*
 * Parse "<n> <unit>" (after the sign) into microseconds and whole days.
 * Minutes and hours become microseconds; days and weeks stay calendar days,
 * so that "+1 day" keeps the local time of day across a DST change.
 */
static void
ParseAmount(const char *p, const char *path, const char *value,
			int64 *usec, int32 *days, AmountError fail)
{
	long		n;
	char	   *end;
	char		unit[16];
	int			len = 0;

	p = SkipSpaces(p);
	if (*p == '-')
		fail(path, value, "Offsets cannot be negative.");
	if (!isdigit((unsigned char) *p))
		fail(path, value, "Expected a whole number before the unit.");
	errno = 0;
	n = strtol(p, &end, 10);
	if (errno != 0 || n > MAX_OFFSET_DAYS * 24L * 60L)
		fail(path, value, "The number is too large.");
	p = SkipSpaces(end);
	while (*p && isalpha((unsigned char) *p) && len < (int) sizeof(unit) - 1)
		unit[len++] = tolower((unsigned char) *p++);
	unit[len] = '\0';
	if (*SkipSpaces(p) != '\0')
		fail(path, value, "Unexpected text after the unit.");

	*usec = 0;
	*days = 0;
	if (strcmp(unit, "minute") == 0 || strcmp(unit, "minutes") == 0 ||
		strcmp(unit, "min") == 0 || strcmp(unit, "mins") == 0)
		*usec = (int64) n * USECS_PER_MINUTE;
	else if (strcmp(unit, "hour") == 0 || strcmp(unit, "hours") == 0 ||
			 strcmp(unit, "h") == 0)
		*usec = (int64) n * USECS_PER_HOUR;
	else if (strcmp(unit, "day") == 0 || strcmp(unit, "days") == 0 ||
			 strcmp(unit, "d") == 0)
		*days = (int32) n;
	else if (strcmp(unit, "week") == 0 || strcmp(unit, "weeks") == 0)
		*days = (int32) n * 7;
	else
		fail(path, value, "The unit must be minutes, hours, days or weeks.");

	if (*days > MAX_OFFSET_DAYS || *usec > (int64) MAX_OFFSET_DAYS * USECS_PER_DAY)
		fail(path, value, "Offsets are limited to ten years.");
}

/*
 * Parse "day N" or "week N" into a day number (day 1 is the enrolment day).
 */
static int32
ParseDayNumber(const char *p, const char *path, const char *value, bool weeks)
{
	long		n;
	char	   *end;

	p = SkipSpaces(p);
	if (*p == '-' || *p == '0')
		TimingError(path, value, weeks ? "Weeks are counted from 1 (week 1 is the enrolment week)."
					: "Days are counted from 1 (day 1 is the enrolment day).");
	if (!isdigit((unsigned char) *p))
		TimingError(path, value, "Expected a whole number.");
	errno = 0;
	n = strtol(p, &end, 10);
	if (*SkipSpaces(end) != '\0')
		TimingError(path, value, "Unexpected text after the number.");
	if (errno != 0 || n > (weeks ? MAX_OFFSET_DAYS / 7 : MAX_OFFSET_DAYS))
		TimingError(path, value, "Offsets are limited to ten years.");
	return weeks ? (int32) (7 * (n - 1) + 1) : (int32) n;
}

static bool
StartsWithWord(const char *p, const char *word, const char **rest)
{
	size_t		len = strlen(word);

	if (pg_strncasecmp(p, word, len) != 0)
		return false;
	if (p[len] != '\0' && !isspace((unsigned char) p[len]) && p[len] != '+')
		return false;
	*rest = p + len;
	return true;
}

static Interval *
MakeOffset(int64 usec, int32 days)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = usec;
	iv->day = days;
	return iv;
}

/*
 * cadence.parse_timing(timing text, path text,
 *                      OUT kind text, OUT step_offset interval, OUT day_number int)
 *
 * kind is 'offset' (from the enrolment), 'day' (a local calendar day of the
 * cadence) or 'after_previous' (from the completion of the previous touch).
 */
Datum
cadence_parse_timing(PG_FUNCTION_ARGS)
{
	char	   *value;
	char	   *path;
	const char *p;
	const char *rest;
	const char *kind;
	int64		usec = 0;
	int32		days = 0;
	int32		day_number = 0;
	bool		has_day = false;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	value = text_to_cstring(PG_GETARG_TEXT_PP(0));
	path = PG_ARGISNULL(1) ? "timing" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	p = SkipSpaces(value);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	if (*p == '\0')
		TimingError(path, value, "The timing is empty.");

	if (pg_strcasecmp(p, "immediate") == 0 || pg_strcasecmp(p, "immediately") == 0)
		kind = "offset";
	else if (*p == '+' || *p == '-')
	{
		if (*p == '-')
			TimingError(path, value, "Offsets cannot be negative.");
		ParseAmount(p + 1, path, value, &usec, &days, TimingError);
		kind = "offset";
	}
	else if (StartsWithWord(p, "day", &rest))
	{
		day_number = ParseDayNumber(rest, path, value, false);
		has_day = true;
		kind = "day";
	}
	else if (StartsWithWord(p, "week", &rest))
	{
		day_number = ParseDayNumber(rest, path, value, true);
		has_day = true;
		kind = "day";
	}
	else if (StartsWithWord(p, "after", &rest))
	{
		rest = SkipSpaces(rest);
		if (!StartsWithWord(rest, "previous", &rest))
			TimingError(path, value, "Only \"after previous\" is supported.");
		rest = SkipSpaces(rest);
		if (*rest == '+' || *rest == '-')
		{
			if (*rest == '-')
				TimingError(path, value, "Offsets cannot be negative.");
			ParseAmount(rest + 1, path, value, &usec, &days, TimingError);
		}
		else if (*rest != '\0')
			TimingError(path, value, "Expected \"+<number> <unit>\" after \"after previous\".");
		kind = "after_previous";
	}
	else
		TimingError(path, value, "The timing is not recognised.");

	values[0] = CStringGetTextDatum(kind);
	if (has_day)
	{
		nulls[1] = true;
		values[2] = Int32GetDatum(day_number);
	}
	else
	{
		values[1] = IntervalPGetDatum(MakeOffset(usec, days));
		nulls[2] = true;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * cadence.parse_duration(duration text, path text) returns interval
 *
 * A positive duration for rules ("7 days" of silence, opens "within 30
 * days"); days and weeks are calendar days.
 */
Datum
cadence_parse_duration(PG_FUNCTION_ARGS)
{
	char	   *value;
	char	   *path;
	int64		usec;
	int32		days;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	value = text_to_cstring(PG_GETARG_TEXT_PP(0));
	path = PG_ARGISNULL(1) ? "duration" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	ParseAmount(value, path, value, &usec, &days, DurationError);
	if (usec == 0 && days == 0)
		DurationError(path, value, "A duration must be longer than zero.");
	PG_RETURN_INTERVAL_P(MakeOffset(usec, days));
}

/*
 * Parse "HH:MM" (or "HH") into microseconds since midnight; 24:00 allowed.
 */
static bool
ParseClock(const char *s, const char *end, int64 *usec)
{
	int			h = 0,
				m = 0,
				digits = 0;

	while (s < end && isspace((unsigned char) *s))
		s++;
	while (s < end && isdigit((unsigned char) *s) && digits < 2)
	{
		h = h * 10 + (*s++ - '0');
		digits++;
	}
	if (digits == 0)
		return false;
	if (s < end && *s == ':')
	{
		s++;
		digits = 0;
		while (s < end && isdigit((unsigned char) *s) && digits < 2)
		{
			m = m * 10 + (*s++ - '0');
			digits++;
		}
		if (digits != 2)
			return false;
	}
	while (s < end && isspace((unsigned char) *s))
		s++;
	if (s != end || h > 24 || m > 59 || (h == 24 && m != 0))
		return false;
	*usec = ((int64) h * MINS_PER_HOUR + m) * USECS_PER_MINUTE;
	return true;
}

/*
 * cadence.parse_window(window text, path text,
 *                      OUT window_from time, OUT window_until time)
 *
 * A named window or "HH:MM-HH:MM" in the lead's local time.  Windows do not
 * cross midnight: an evening-to-morning window is two steps, not one.
 */
Datum
cadence_parse_window(PG_FUNCTION_ARGS)
{
	char	   *value;
	char	   *path;
	const char *dash;
	int64		from_usec = -1,
				until_usec = -1;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	int			i;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	value = text_to_cstring(PG_GETARG_TEXT_PP(0));
	path = PG_ARGISNULL(1) ? "window" : text_to_cstring(PG_GETARG_TEXT_PP(1));

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	for (i = 0; i < lengthof(named_windows); i++)
	{
		if (pg_strcasecmp(value, named_windows[i].name) == 0)
		{
			from_usec = (int64) named_windows[i].from_hour * USECS_PER_HOUR;
			until_usec = (int64) named_windows[i].until_hour * USECS_PER_HOUR;
			break;
		}
	}

	if (from_usec < 0)
	{
		dash = strchr(value, '-');
		if (dash == NULL ||
			!ParseClock(value, dash, &from_usec) ||
			!ParseClock(dash + 1, dash + 1 + strlen(dash + 1), &until_usec))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid window \"%s\" at %s", value, path),
					 errhint("Write \"HH:MM-HH:MM\" in the lead's local time, or one of morning, midday, afternoon, evening, anytime.")));
		if (until_usec <= from_usec)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid window \"%s\" at %s", value, path),
					 errdetail("The window ends before it starts."),
					 errhint("Windows cannot cross midnight; use two steps instead.")));
	}

	values[0] = TimeADTGetDatum(from_usec);
	values[1] = TimeADTGetDatum(until_usec);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * Add an offset: the time part as elapsed time, the day part as local
 * calendar days in tz (so "+1 day" at 10:00 stays 10:00 across DST).
 */
static TimestampTz
AddOffset(TimestampTz t, const Interval *offset, pg_tz *tz)
{
	if (offset->day != 0 || offset->month != 0)
	{
		LocalMoment m = ToLocal(t, tz);

		t = FromLocal(m.julian + offset->day + offset->month * 30, m.usec_of_day, tz);
	}
	return t + offset->time;
}

/*
 * cadence.step_due(timing_kind text, step_offset interval, day_number int,
 *                  window_from time, window_until time, weekdays int,
 *                  enrolled_at timestamptz, previous_done_at timestamptz,
 *                  time_zone text) returns timestamptz
 *
 * The planned instant of a step for one enrolment, before compliance gates.
 * NULL for an "after previous" step whose previous touch is not done yet.
 */
Datum
cadence_step_due(PG_FUNCTION_ARGS)
{
	text	   *kind_t;
	char	   *kind;
	int64		from_usec = 0;
	int64		until_usec = USECS_PER_DAY;
	int			weekdays = CADENCE_ALL_WEEKDAYS;
	TimestampTz enrolled_at;
	pg_tz	   *tz;
	TimestampTz t = 0;		/* set on every path that does not raise */

	if (PG_ARGISNULL(0) || PG_ARGISNULL(6) || PG_ARGISNULL(8))
		PG_RETURN_NULL();
	kind_t = PG_GETARG_TEXT_PP(0);
	kind = text_to_cstring(kind_t);
	enrolled_at = PG_GETARG_TIMESTAMPTZ(6);
	tz = LookupTimeZone(text_to_cstring(PG_GETARG_TEXT_PP(8)), "time_zone");
	if (!PG_ARGISNULL(3))
		from_usec = PG_GETARG_TIMEADT(3);
	if (!PG_ARGISNULL(4))
		until_usec = PG_GETARG_TIMEADT(4);
	if (!PG_ARGISNULL(5))
		weekdays = PG_GETARG_INT32(5);

	if (strcmp(kind, "day") == 0)
	{
		LocalMoment start = ToLocal(enrolled_at, tz);
		int32		day_number = PG_ARGISNULL(2) ? 1 : PG_GETARG_INT32(2);

		/*
		 * Day N starts at the window's opening on that local date; without a
		 * window it keeps the time of day of the enrolment.
		 */
		t = FromLocal(start.julian + day_number - 1,
					  PG_ARGISNULL(3) ? start.usec_of_day : from_usec, tz);
		if (t < enrolled_at)
			t = enrolled_at;
	}
	else if (strcmp(kind, "offset") == 0 || strcmp(kind, "after_previous") == 0)
	{
		TimestampTz anchor;

		if (strcmp(kind, "offset") == 0)
			anchor = enrolled_at;
		else if (PG_ARGISNULL(7))
			PG_RETURN_NULL();
		else
			anchor = PG_GETARG_TIMESTAMPTZ(7);
		t = PG_ARGISNULL(1) ? anchor : AddOffset(anchor, PG_GETARG_INTERVAL_P(1), tz);
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid timing kind \"%s\"", kind)));

	PG_RETURN_TIMESTAMPTZ(NextAllowedMoment(t, tz, from_usec, until_usec, weekdays));
}

static int
CompareTimestamps(const void *a, const void *b)
{
	TimestampTz x = *(const TimestampTz *) a;
	TimestampTz y = *(const TimestampTz *) b;

	return (x > y) - (x < y);
}

/*
 * cadence.plan_touch(planned_at timestamptz, time_zone text,
 *                    allowed_from time, allowed_until time,
 *                    max_per_day int, min_gap interval,
 *                    earlier_attempts timestamptz[],
 *                    OUT due_at timestamptz, OUT defer_reasons text[])
 *
 * Move a planned touch to the first moment the channel's rules allow:
 * inside the allowed local hours, at least min_gap away from every other
 * attempt on the channel, and with fewer than max_per_day attempts in the
 * 24 hours before it.  Each rule that moved the touch is named in
 * defer_reasons ('quiet_hours', 'call_spacing', 'call_cap'); an empty array
 * means it goes out as planned.  Nothing is ever dropped here.
 */
Datum
cadence_plan_touch(PG_FUNCTION_ARGS)
{
	TimestampTz t;
	pg_tz	   *tz;
	int64		from_usec = PG_ARGISNULL(2) ? 0 : PG_GETARG_TIMEADT(2);
	int64		until_usec = PG_ARGISNULL(3) ? USECS_PER_DAY : PG_GETARG_TIMEADT(3);
	int			max_per_day = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4);
	int64		gap = 0;
	TimestampTz *earlier = NULL;
	int			nearlier = 0;
	bool		quiet = false,
				spacing = false,
				cap = false;
	int			round;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	Datum		reasons[3];
	int			nreasons = 0;

	/* without a planned time or a zone there is nothing to plan */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	t = PG_GETARG_TIMESTAMPTZ(0);
	tz = LookupTimeZone(text_to_cstring(PG_GETARG_TEXT_PP(1)), "time_zone");

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	if (!PG_ARGISNULL(5))
	{
		Interval   *iv = PG_GETARG_INTERVAL_P(5);

		gap = iv->time + (int64) iv->day * USECS_PER_DAY;
	}
	if (!PG_ARGISNULL(6))
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(6);
		Datum	   *elems;
		bool	   *elem_nulls;
		int			n,
					i;

		deconstruct_array(arr, TIMESTAMPTZOID, sizeof(TimestampTz), true,
						  TYPALIGN_DOUBLE, &elems, &elem_nulls, &n);
		earlier = palloc(sizeof(TimestampTz) * Max(n, 1));
		for (i = 0; i < n; i++)
			if (!elem_nulls[i])
				earlier[nearlier++] = DatumGetTimestampTz(elems[i]);
		qsort(earlier, nearlier, sizeof(TimestampTz), CompareTimestamps);
	}

	/* Each round can only move t later, and every rule settles quickly. */
	for (round = 0; round < 64; round++)
	{
		TimestampTz start = t;
		int			i;

		t = NextAllowedMoment(t, tz, from_usec, until_usec, CADENCE_ALL_WEEKDAYS);
		if (t != start)
			quiet = true;

		if (gap > 0)
		{
			for (i = 0; i < nearlier; i++)
			{
				if (earlier[i] > t - gap && earlier[i] < t + gap)
				{
					t = earlier[i] + gap;
					spacing = true;
				}
			}
		}

		if (max_per_day > 0)
		{
			int			first = -1,
						count = 0;

			for (i = 0; i < nearlier; i++)
			{
				if (earlier[i] > t - USECS_PER_DAY && earlier[i] <= t)
				{
					if (first < 0)
						first = i;
					count++;
				}
			}
			if (count >= max_per_day)
			{
				/* wait until enough of them have left the 24-hour window */
				t = earlier[first + count - max_per_day] + USECS_PER_DAY;
				cap = true;
			}
		}

		if (t == start)
			break;
	}

	if (quiet)
		reasons[nreasons++] = CStringGetTextDatum("quiet_hours");
	if (spacing)
		reasons[nreasons++] = CStringGetTextDatum("call_spacing");
	if (cap)
		reasons[nreasons++] = CStringGetTextDatum("call_cap");

	values[0] = TimestampTzGetDatum(t);
	values[1] = PointerGetDatum(construct_array(reasons, nreasons, TEXTOID, -1, false, TYPALIGN_INT));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * cadence.is_allowed_at(at timestamptz, time_zone text, allowed_from time,
 *                       allowed_until time) returns boolean
 *
 * Whether a channel may reach the lead at this instant; claim_touches uses
 * it so that a sender that fell behind cannot text a lead at night.
 */
Datum
cadence_is_allowed_at(PG_FUNCTION_ARGS)
{
	int64		from_usec = PG_ARGISNULL(2) ? 0 : PG_GETARG_TIMEADT(2);
	int64		until_usec = PG_ARGISNULL(3) ? USECS_PER_DAY : PG_GETARG_TIMEADT(3);
	LocalMoment m;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	m = ToLocal(PG_GETARG_TIMESTAMPTZ(0),
				LookupTimeZone(text_to_cstring(PG_GETARG_TEXT_PP(1)), "time_zone"));

	PG_RETURN_BOOL(m.usec_of_day >= from_usec && m.usec_of_day < until_usec);
}
