-- cadence: install script, part 2: defining cadences from a JSON document,
-- with every field validated and every error naming its JSON path.

-- Read an optional or required string member of a spec object.
CREATE FUNCTION cadence.spec_text(obj jsonb, member text, path text, required boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v jsonb := obj -> member;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        IF required THEN
            RAISE EXCEPTION 'missing required field at %', path
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'string' THEN
        RAISE EXCEPTION 'expected a string at %, found %', path, jsonb_typeof(v)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF required AND btrim(v #>> '{}') = '' THEN
        RAISE EXCEPTION 'empty string at %', path
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v #>> '{}';
END
$$;
COMMENT ON FUNCTION cadence.spec_text(jsonb, text, text, boolean) IS
  'Internal: a string member of a cadence document, or an error naming its JSON path';

-- Reject members a document does not know, so a typo is not silently ignored.
CREATE FUNCTION cadence.spec_check_members(obj jsonb, allowed text[], path text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
BEGIN
    IF obj IS NULL OR jsonb_typeof(obj) = 'null' THEN
        RAISE EXCEPTION 'missing required field at %', path
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(obj) <> 'object' THEN
        RAISE EXCEPTION 'expected an object at %, found %', path, jsonb_typeof(obj)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT min(m) INTO k FROM jsonb_object_keys(obj) AS m WHERE m <> ALL (allowed);
    IF k IS NOT NULL THEN
        RAISE EXCEPTION 'unknown field "%" at %', k, path
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Allowed fields here: ' || array_to_string(allowed, ', ') || '.';
    END IF;
END
$$;
COMMENT ON FUNCTION cadence.spec_check_members(jsonb, text[], text) IS
  'Internal: error naming the first member of a cadence document object that is not allowed there';

-- Validate a message object (subject, body, variants) and its templates.
CREATE FUNCTION cadence.spec_check_message(message jsonb, path text, needs_subject boolean)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v jsonb;
    i integer := 0;
BEGIN
    PERFORM cadence.spec_check_members(message, ARRAY['subject', 'body', 'variants'], path);
    PERFORM cadence.check_template(cadence.spec_text(message, 'body', path || '.body', true), path || '.body');
    IF needs_subject THEN
        PERFORM cadence.check_template(cadence.spec_text(message, 'subject', path || '.subject', true), path || '.subject');
    ELSIF message ? 'subject' THEN
        PERFORM cadence.check_template(cadence.spec_text(message, 'subject', path || '.subject'), path || '.subject');
    END IF;
    IF message ? 'variants' THEN
        IF jsonb_typeof(message -> 'variants') <> 'array' THEN
            RAISE EXCEPTION 'expected an array at %.variants', path USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR v IN SELECT value FROM jsonb_array_elements(message -> 'variants') LOOP
            PERFORM cadence.spec_check_members(v, ARRAY['subject', 'body'], format('%s.variants[%s]', path, i));
            PERFORM cadence.check_template(cadence.spec_text(v, 'body', format('%s.variants[%s].body', path, i), true),
                                           format('%s.variants[%s].body', path, i));
            PERFORM cadence.check_template(cadence.spec_text(v, 'subject', format('%s.variants[%s].subject', path, i)),
                                           format('%s.variants[%s].subject', path, i));
            i := i + 1;
        END LOOP;
    END IF;
END
$$;
COMMENT ON FUNCTION cadence.spec_check_message(jsonb, text, boolean) IS
  'Internal: validate a message object of a cadence document and the merge fields of its templates';

-- A cadence key as used in rules that move a lead to another cadence.
CREATE FUNCTION cadence.spec_check_key(key text, path text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF key !~ '^[a-z0-9][a-z0-9_.-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid cadence key "%" at %', key, path
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Keys are 1 to 63 lower-case letters, digits, "_", "." or "-", starting with a letter or digit.';
    END IF;
    RETURN key;
END
$$;
COMMENT ON FUNCTION cadence.spec_check_key(text, text) IS
  'Internal: check the form of a cadence key';

-- The rules section: what later stages (events, escalation, silence) act on.
CREATE FUNCTION cadence.spec_check_rules(rules jsonb)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- the kinds in force for the current tenant: built-in and its own
    kinds constant text[] := ARRAY(SELECT k.kind FROM cadence.event_kinds k ORDER BY k.kind);
    v jsonb;
    k text;
    i integer := 0;
    p text;
BEGIN
    PERFORM cadence.spec_check_members(rules,
        ARRAY['exit_on', 'pause_on', 'hand_off_on', 'escalate', 'on_complete', 'on_silence', 'break_up'], '$.rules');

    FOREACH k IN ARRAY ARRAY['exit_on', 'pause_on', 'hand_off_on'] LOOP
        IF rules ? k THEN
            IF jsonb_typeof(rules -> k) <> 'array' THEN
                RAISE EXCEPTION 'expected an array of event kinds at $.rules.%', k
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            i := 0;
            FOR v IN SELECT value FROM jsonb_array_elements(rules -> k) LOOP
                IF jsonb_typeof(v) <> 'string' OR NOT (v #>> '{}') = ANY (kinds) THEN
                    RAISE EXCEPTION 'unknown event kind % at $.rules.%[%]', v, k, i
                        USING ERRCODE = 'invalid_parameter_value',
                              HINT = 'Event kinds: ' || array_to_string(kinds, ', ') || '.';
                END IF;
                i := i + 1;
            END LOOP;
        END IF;
    END LOOP;

    IF rules ? 'escalate' THEN
        IF jsonb_typeof(rules -> 'escalate') <> 'array' THEN
            RAISE EXCEPTION 'expected an array at $.rules.escalate' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        i := 0;
        FOR v IN SELECT value FROM jsonb_array_elements(rules -> 'escalate') LOOP
            p := format('$.rules.escalate[%s]', i);
            PERFORM cadence.spec_check_members(v, ARRAY['when', 'move_to', 'score'], p);
            PERFORM cadence.spec_check_members(v -> 'when', ARRAY['event', 'count', 'within'], p || '.when');
            IF NOT cadence.spec_text(v -> 'when', 'event', p || '.when.event', true) = ANY (kinds) THEN
                RAISE EXCEPTION 'unknown event kind "%" at %.when.event', v -> 'when' ->> 'event', p
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Event kinds: ' || array_to_string(kinds, ', ') || '.';
            END IF;
            -- written as a whole number: the trigger reads it as an integer, and
            -- 2.0 would pass a test of its value
            IF v -> 'when' ? 'count' AND (jsonb_typeof(v -> 'when' -> 'count') <> 'number'
                    OR (v -> 'when' ->> 'count') !~ '^[0-9]+$'
                    OR (v -> 'when' ->> 'count')::numeric NOT BETWEEN 1 AND 1000000) THEN
                RAISE EXCEPTION 'expected a whole number from 1 to 1000000 at %.when.count', p
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF v -> 'when' ? 'within' THEN
                PERFORM cadence.parse_duration(cadence.spec_text(v -> 'when', 'within', p || '.when.within', true),
                                               p || '.when.within');
            END IF;
            PERFORM cadence.spec_check_key(cadence.spec_text(v, 'move_to', p || '.move_to', true), p || '.move_to');
            IF v ? 'score' AND (jsonb_typeof(v -> 'score') <> 'number'
                                OR (v ->> 'score') !~ '^-?[0-9]+$'
                                OR (v ->> 'score')::numeric NOT BETWEEN -100 AND 100) THEN
                RAISE EXCEPTION 'expected a whole number from -100 to 100 at %.score', p
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            i := i + 1;
        END LOOP;
    END IF;

    IF rules ? 'on_complete' THEN
        PERFORM cadence.spec_check_members(rules -> 'on_complete', ARRAY['move_to'], '$.rules.on_complete');
        PERFORM cadence.spec_check_key(cadence.spec_text(rules -> 'on_complete', 'move_to', '$.rules.on_complete.move_to', true),
                                       '$.rules.on_complete.move_to');
    END IF;
    IF rules ? 'on_silence' THEN
        PERFORM cadence.spec_check_members(rules -> 'on_silence', ARRAY['after', 'move_to'], '$.rules.on_silence');
        PERFORM cadence.parse_duration(cadence.spec_text(rules -> 'on_silence', 'after', '$.rules.on_silence.after', true),
                                       '$.rules.on_silence.after');
        PERFORM cadence.spec_check_key(cadence.spec_text(rules -> 'on_silence', 'move_to', '$.rules.on_silence.move_to', true),
                                       '$.rules.on_silence.move_to');
    END IF;
    IF rules ? 'break_up' THEN
        IF NOT rules ? 'on_silence' THEN
            RAISE EXCEPTION 'a break-up message at $.rules.break_up needs $.rules.on_silence'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'The break-up message is sent when silence moves the lead on.';
        END IF;
        PERFORM cadence.spec_check_members(rules -> 'break_up', ARRAY['channel', 'message'], '$.rules.break_up');
        k := cadence.spec_text(rules -> 'break_up', 'channel', '$.rules.break_up.channel', true);
        IF NOT EXISTS (SELECT FROM cadence.channel c WHERE c.channel = k) THEN
            RAISE EXCEPTION 'unknown channel "%" at $.rules.break_up.channel', k USING ERRCODE = 'invalid_parameter_value';
        END IF;
        PERFORM cadence.spec_check_message(rules -> 'break_up' -> 'message', '$.rules.break_up.message', k = 'email');
    END IF;
END
$$;
COMMENT ON FUNCTION cadence.spec_check_rules(jsonb) IS
  'Internal: validate the rules section of a cadence document (exit, escalation, silence, break-up)';

CREATE FUNCTION cadence.define_cadence(spec jsonb)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant     bigint := cadence.current_tenant();
    v_key        text;
    v_name       text;
    v_segment    text;
    v_tier       text;
    v_steps      jsonb;
    v_step       jsonb;
    v_path       text;
    v_i          integer := 0;
    v_options    text[];
    v_bad        text;
    v_timing     record;
    v_from       time;
    v_until      time;
    v_days       integer;
    v_condition  text;
    v_at         numeric;
    v_prev_at    numeric := 0;
    v_prev_path  text;
    v_has_call   boolean := false;
    v_version    integer;
    v_version_id bigint;
BEGIN
    IF spec IS NULL OR jsonb_typeof(spec) <> 'object' THEN
        RAISE EXCEPTION 'expected an object at $, found %', coalesce(jsonb_typeof(spec), 'nothing')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A cadence document is a JSON object with key, name and steps.';
    END IF;
    PERFORM cadence.spec_check_members(spec, ARRAY['key', 'name', 'description', 'segment', 'tier', 'steps', 'rules'], '$');
    v_key := cadence.spec_check_key(cadence.spec_text(spec, 'key', '$.key', true), '$.key');
    v_name := cadence.spec_text(spec, 'name', '$.name', true);
    PERFORM cadence.spec_text(spec, 'description', '$.description');
    v_segment := cadence.spec_text(spec, 'segment', '$.segment');
    v_tier := cadence.spec_text(spec, 'tier', '$.tier');
    IF v_tier IS NOT NULL AND v_tier <> ALL (ARRAY['hot', 'warm', 'moderate', 'cold']) THEN
        RAISE EXCEPTION 'invalid tier "%" at $.tier', v_tier
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Tiers are hot, warm, moderate and cold.';
    END IF;

    v_steps := spec -> 'steps';
    IF v_steps IS NULL OR jsonb_typeof(v_steps) <> 'array' THEN
        RAISE EXCEPTION 'expected an array of steps at $.steps' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_array_length(v_steps) = 0 THEN
        RAISE EXCEPTION 'a cadence needs at least one step at $.steps' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_array_length(v_steps) > 200 THEN
        RAISE EXCEPTION 'too many steps at $.steps (%; at most 200)', jsonb_array_length(v_steps)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF spec ? 'rules' THEN
        PERFORM cadence.spec_check_rules(spec -> 'rules');
    END IF;

    -- New version of an existing cadence, or version 1 of a new one.
    SELECT c.current_version + 1 INTO v_version
      FROM cadence.cadence c
     WHERE c.tenant_id = v_tenant AND c.cadence_key = v_key
       FOR NO KEY UPDATE;
    IF v_version IS NULL THEN
        v_version := 1;
        INSERT INTO cadence.cadence (tenant_id, cadence_key, name, segment, tier, current_version)
        VALUES (v_tenant, v_key, v_name, v_segment, v_tier, 1);
    ELSE
        UPDATE cadence.cadence c
           SET name = v_name, segment = v_segment, tier = v_tier, current_version = v_version
         WHERE c.tenant_id = v_tenant AND c.cadence_key = v_key;
    END IF;
    INSERT INTO cadence.cadence_version (tenant_id, cadence_key, version, spec, rules)
    VALUES (v_tenant, v_key, v_version, spec, coalesce(spec -> 'rules', '{}'))
    RETURNING cadence_version_id INTO v_version_id;

    FOR v_step IN SELECT value FROM jsonb_array_elements(v_steps) LOOP
        v_path := format('$.steps[%s]', v_i);
        PERFORM cadence.spec_check_members(v_step,
            ARRAY['name', 'channel', 'timing', 'window', 'days', 'condition', 'message', 'goal'], v_path);
        PERFORM cadence.spec_text(v_step, 'name', v_path || '.name');

        -- channel: one name, or a list to choose from by the lead's preference
        CASE jsonb_typeof(v_step -> 'channel')
            WHEN 'string' THEN v_options := ARRAY[v_step ->> 'channel'];
            WHEN 'array' THEN
                SELECT array_agg(e #>> '{}' ORDER BY n) INTO v_options
                  FROM jsonb_array_elements(v_step -> 'channel') WITH ORDINALITY AS x(e, n);
                IF v_options IS NULL OR EXISTS (SELECT FROM jsonb_array_elements(v_step -> 'channel') e
                                                 WHERE jsonb_typeof(e) <> 'string') THEN
                    RAISE EXCEPTION 'expected a channel name or a non-empty array of them at %.channel', v_path
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
            ELSE
                RAISE EXCEPTION 'missing required field at %.channel', v_path
                    USING ERRCODE = 'invalid_parameter_value';
        END CASE;
        SELECT format('"%s" at %s.channel', o, v_path)
                   || CASE WHEN jsonb_typeof(v_step -> 'channel') = 'array' THEN format('[%s]', n - 1) ELSE '' END
          INTO v_bad
          FROM unnest(v_options) WITH ORDINALITY AS u(o, n)
         WHERE NOT EXISTS (SELECT FROM cadence.channel c WHERE c.channel = o)
         ORDER BY n LIMIT 1;
        IF v_bad IS NOT NULL THEN
            RAISE EXCEPTION 'unknown channel %', v_bad
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Channels: ' || (SELECT string_agg(channel, ', ' ORDER BY channel) FROM cadence.channel) || '.';
        END IF;

        v_timing := cadence.parse_timing(cadence.spec_text(v_step, 'timing', v_path || '.timing', true), v_path || '.timing');
        IF v_timing.kind = 'after_previous' AND v_i = 0 THEN
            RAISE EXCEPTION 'the first step cannot be timed "after previous" at %.timing', v_path
                USING ERRCODE = 'invalid_parameter_value';
        END IF;

        v_from := NULL;
        v_until := NULL;
        IF v_step ? 'window' THEN
            SELECT w.window_from, w.window_until INTO v_from, v_until
              FROM cadence.parse_window(cadence.spec_text(v_step, 'window', v_path || '.window', true), v_path || '.window') w;
            -- a window of the whole day is no window: the step keeps the enrolment's time of day
            IF v_from = '00:00' AND v_until = '24:00' THEN
                v_from := NULL;
                v_until := NULL;
            END IF;
        END IF;

        v_days := 127;
        IF v_step ? 'days' THEN
            IF jsonb_typeof(v_step -> 'days') <> 'array' OR jsonb_array_length(v_step -> 'days') = 0 THEN
                RAISE EXCEPTION 'expected a non-empty array of weekdays at %.days', v_path
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            SELECT min(d #>> '{}') FILTER (WHERE w.bit IS NULL), bit_or(w.bit)
              INTO v_bad, v_days
              FROM jsonb_array_elements(v_step -> 'days') d
              LEFT JOIN (VALUES ('sun', 1), ('mon', 2), ('tue', 4), ('wed', 8), ('thu', 16), ('fri', 32), ('sat', 64))
                     AS w(day, bit) ON w.day = left(lower(d #>> '{}'), 3)
                                   AND lower(d #>> '{}') IN (w.day, CASE w.day WHEN 'sun' THEN 'sunday' WHEN 'mon' THEN 'monday'
                                        WHEN 'tue' THEN 'tuesday' WHEN 'wed' THEN 'wednesday' WHEN 'thu' THEN 'thursday'
                                        WHEN 'fri' THEN 'friday' ELSE 'saturday' END);
            IF v_bad IS NOT NULL OR v_days IS NULL THEN
                RAISE EXCEPTION 'unknown weekday "%" at %.days', coalesce(v_bad, ''), v_path
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'Weekdays are mon, tue, wed, thu, fri, sat, sun.';
            END IF;
        END IF;

        v_condition := coalesce(cadence.spec_text(v_step, 'condition', v_path || '.condition'), 'always');
        IF v_condition <> ALL (ARRAY['always', 'previous_call_unanswered', 'no_response']) THEN
            RAISE EXCEPTION 'unknown condition "%" at %.condition', v_condition, v_path
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Conditions are always, previous_call_unanswered and no_response.';
        END IF;
        IF v_condition = 'previous_call_unanswered' AND NOT v_has_call THEN
            RAISE EXCEPTION 'condition "previous_call_unanswered" at %.condition has no earlier call step', v_path
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_has_call := v_has_call OR 'call' = ANY (v_options);

        PERFORM cadence.spec_check_message(v_step -> 'message', v_path || '.message', 'email' = ANY (v_options));
        PERFORM cadence.spec_text(v_step, 'goal', v_path || '.goal');

        -- Steps timed from the enrolment must not run backwards.
        IF v_timing.kind <> 'after_previous' THEN
            v_at := CASE v_timing.kind
                        WHEN 'day' THEN (v_timing.day_number - 1) * 1440
                                        + coalesce(extract(epoch FROM v_from) / 60, 0)
                        ELSE extract(epoch FROM v_timing.step_offset) / 60
                    END;
            IF v_at < v_prev_at THEN
                RAISE EXCEPTION 'steps out of order at %.timing: "%" comes before the timing of %',
                        v_path, v_step ->> 'timing', v_prev_path
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'List steps in the order they happen.';
            END IF;
            v_prev_at := v_at;
            v_prev_path := v_path;
        END IF;

        INSERT INTO cadence.step (tenant_id, cadence_version_id, step_no, channel_options, timing, timing_kind,
                                  step_offset, day_number, time_window, window_from, window_until, weekdays,
                                  condition, subject, body, variants, goal)
        VALUES (v_tenant, v_version_id, v_i + 1, v_options, v_step ->> 'timing', v_timing.kind,
                v_timing.step_offset, v_timing.day_number, v_step ->> 'window', v_from, v_until,
                v_days, v_condition, v_step -> 'message' ->> 'subject', v_step -> 'message' ->> 'body',
                coalesce(v_step -> 'message' -> 'variants', '[]'), v_step ->> 'goal');
        v_i := v_i + 1;
    END LOOP;

    -- The break-up message is compiled as a last step that the sequence never
    -- reaches by itself: a move on silence sends it first.
    IF spec -> 'rules' ? 'break_up' THEN
        INSERT INTO cadence.step (tenant_id, cadence_version_id, step_no, channel_options, timing, timing_kind,
                                  step_offset, subject, body, variants, goal, is_break_up)
        VALUES (v_tenant, v_version_id, v_i + 1, ARRAY[spec -> 'rules' -> 'break_up' ->> 'channel'], 'immediate', 'offset',
                interval '0', spec -> 'rules' -> 'break_up' -> 'message' ->> 'subject',
                spec -> 'rules' -> 'break_up' -> 'message' ->> 'body',
                coalesce(spec -> 'rules' -> 'break_up' -> 'message' -> 'variants', '[]'), 'break_up', true);
    END IF;

    RETURN v_version_id;
END
$$;
COMMENT ON FUNCTION cadence.define_cadence(jsonb) IS
  'Validate a cadence document and store it as the next version of its key; returns the cadence_version_id';

CREATE FUNCTION cadence.export_cadence(cadence_key text, version integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_spec jsonb;
BEGIN
    SELECT v.spec INTO v_spec
      FROM cadence.cadence c
      JOIN cadence.cadence_version v
        ON v.tenant_id = c.tenant_id AND v.cadence_key = c.cadence_key
       AND v.version = coalesce(export_cadence.version, c.current_version)
     WHERE c.tenant_id = cadence.current_tenant() AND c.cadence_key = export_cadence.cadence_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cadence "%"% does not exist', export_cadence.cadence_key,
                CASE WHEN export_cadence.version IS NULL THEN '' ELSE format(' version %s', export_cadence.version) END
            USING ERRCODE = 'no_data_found';
    END IF;
    RETURN v_spec;
END
$$;
COMMENT ON FUNCTION cadence.export_cadence(text, integer) IS
  'The document a cadence version was defined from (the current version when version is NULL)';
