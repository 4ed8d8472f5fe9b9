-- cadence: install script, part 0: the guard, the tenant context and the
-- C functions that compute (time, gates, rendering).
-- Every name is schema-qualified; every function sets its own search_path
-- or is a pure expression over qualified names.

\echo Use "CREATE EXTENSION cadence" to load this file. \quit

CREATE SCHEMA cadence;
COMMENT ON SCHEMA cadence IS 'cadence: multi-channel sales follow-up cadences, their compliance gates and the touch queue';

-- The tenant the session acts for.  An unset or empty cadence.tenant_id
-- means the default tenant 1, so single-tenant users never think about it.
CREATE FUNCTION cadence.current_tenant() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
RETURN COALESCE(pg_catalog.int8(NULLIF(pg_catalog.current_setting('cadence.tenant_id', true), '')), 1);
COMMENT ON FUNCTION cadence.current_tenant() IS
  'Tenant that cadence functions and row-level security act for: cadence.tenant_id, or 1 when unset or empty';

CREATE FUNCTION cadence.check_time_zone(time_zone text) RETURNS boolean
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'cadence_check_time_zone';
COMMENT ON FUNCTION cadence.check_time_zone(text) IS
  'True for a known IANA time zone; otherwise an error naming the time_zone field (used by CHECK constraints)';

CREATE FUNCTION cadence.parse_timing(timing text, path text DEFAULT NULL,
    OUT kind text, OUT step_offset interval, OUT day_number integer)
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'cadence_parse_timing';
COMMENT ON FUNCTION cadence.parse_timing(text, text) IS
  'Parse a step timing ("immediate", "+5 minutes", "day 2", "week 6", "after previous +1 day") into its kind and amount';

CREATE FUNCTION cadence.parse_duration(duration text, path text DEFAULT NULL)
RETURNS interval
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'cadence_parse_duration';
COMMENT ON FUNCTION cadence.parse_duration(text, text) IS
  'Parse a duration used in rules ("30 minutes", "7 days", "2 weeks")';

CREATE FUNCTION cadence.parse_window(time_window text, path text DEFAULT NULL,
    OUT window_from time, OUT window_until time)
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'cadence_parse_window';
COMMENT ON FUNCTION cadence.parse_window(text, text) IS
  'Parse a local-time window ("09:00-11:00", morning, midday, afternoon, evening, anytime)';

CREATE FUNCTION cadence.step_due(timing_kind text, step_offset interval, day_number integer,
    window_from time, window_until time, weekdays integer,
    enrolled_at timestamptz, previous_done_at timestamptz, time_zone text)
RETURNS timestamptz
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'cadence_step_due';
COMMENT ON FUNCTION cadence.step_due(text, interval, integer, time, time, integer, timestamptz, timestamptz, text) IS
  'Planned instant of a step for one enrolment, in the lead''s local time, before compliance gates';

CREATE FUNCTION cadence.plan_touch(planned_at timestamptz, time_zone text,
    allowed_from time, allowed_until time, max_per_day integer, min_gap interval,
    earlier_attempts timestamptz[],
    OUT due_at timestamptz, OUT defer_reasons text[])
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'cadence_plan_touch';
COMMENT ON FUNCTION cadence.plan_touch(timestamptz, text, time, time, integer, interval, timestamptz[]) IS
  'First moment a planned touch may go out under quiet hours, attempt spacing and the 24-hour attempt cap, with the reasons it moved';

CREATE FUNCTION cadence.is_allowed_at(at timestamptz, time_zone text, allowed_from time, allowed_until time)
RETURNS boolean
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'cadence_is_allowed_at';
COMMENT ON FUNCTION cadence.is_allowed_at(timestamptz, text, time, time) IS
  'Whether the local time of day in time_zone lies within [allowed_from, allowed_until)';

CREATE FUNCTION cadence.check_template(template text, path text DEFAULT NULL) RETURNS text[]
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'cadence_check_template';
COMMENT ON FUNCTION cadence.check_template(text, text) IS
  'Validate a message template and return the merge fields it uses; errors name the JSON path';

CREATE FUNCTION cadence.render(template text, context jsonb, OUT rendered text, OUT missing text[])
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'cadence_render';
COMMENT ON FUNCTION cadence.render(text, jsonb) IS
  'Fill the merge fields of a template; rendered is NULL and missing lists the fields when a value with no fallback is absent';

CREATE FUNCTION cadence.render_touch(subject_template text, body_template text, context jsonb,
    OUT subject text, OUT body text, OUT missing text[])
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'cadence_render_touch';
COMMENT ON FUNCTION cadence.render_touch(text, text, jsonb) IS
  'Render the subject and body of a touch from one context; a part lacking a value is NULL and missing lists the fields';

CREATE FUNCTION cadence.merge_fields() RETURNS SETOF text
LANGUAGE c IMMUTABLE PARALLEL SAFE ROWS 16
AS 'MODULE_PATHNAME', 'cadence_merge_fields';
COMMENT ON FUNCTION cadence.merge_fields() IS
  'Merge field names templates may use, besides attr.<key> for free lead attributes';
