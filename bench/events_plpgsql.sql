-- The comparison for figure 4: what a CRM developer would write without
-- the extension's C trigger.  bench.event_plpgsql has the shape of
-- cadence.event (with its foreign keys, without row-level security), and a
-- PL/pgSQL row trigger applies each event as it is inserted, to the same
-- cadence tables and with the same rules as cadence.event_applied():
--   - a text that says STOP (or START) counts as sms_stop (sms_start);
--   - the lead: last_response_at, last_engagement_at, preferred_channel;
--   - consent: unsubscribe, STOP, START and opt_out written to the ledger
--     (whose own trigger cancels unsent touches);
--   - the lead's unsent touches, then its running enrolment, locked in that
--     order (as the engine does, so that a sender completing a claimed touch
--     cannot deadlock with it): exit (exit_on), pause and hand-off
--     (pause_on), escalation (the first escalate rule whose counter over its
--     window this event completes: the enrolment exits 'escalated', the lead
--     starts the next cadence and gets the rule's score bonus); the touches
--     of an enrolment that stops are cancelled, after an exit every unsent
--     touch of the lead (engagement alone writes only the lead: its
--     last_engagement_at is what the tick reads for a move on silence);
--   - hand-off alerts (hand_off_on), and alerts closed by human contact or
--     an exit;
--   - the lead scored again as of the event, from its events in this table,
--     with the extension's scoring model and functions (compute_score,
--     score_tier; route_lead when the tier changes), as rescore_leads does.
-- It calls the extension's own cadence.start_enrolment() and
-- cadence.raise_alert() for a move and an alert, so both sides pay the same
-- for those.  Included by events.sql; runs as the superuser.

CREATE TABLE bench.event_plpgsql (
    LIKE cadence.event INCLUDING ALL,
    FOREIGN KEY (tenant_id, lead_id) REFERENCES cadence.lead,
    FOREIGN KEY (tenant_id, touch_id) REFERENCES cadence.touch
);
GRANT SELECT, INSERT ON bench.event_plpgsql TO bench_app;

CREATE FUNCTION bench.event_applied_row()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_kind      text := NEW.applied_kind;
    k           record;
    r           record;
    v_rule      jsonb;
    v_count     bigint;
    v_move_to   text;
    v_score     integer;
    v_exits     boolean;
    v_pauses    boolean;
    v_hands_off boolean;
    v_reason    text;
    v_model     jsonb;
    v_lead      cadence.lead;
    v_at        timestamptz;
    v_kinds     text[];
    v_times     timestamptz[];
    v_new_score integer;
    v_new_tier  text;
BEGIN
    -- the kind's effects: the tenant's own definition, else the built-in one
    SELECT c.response, c.engagement, c.human_contact, c.consent_channel, c.consent_action, c.preferred_channel,
           c.default_exit, c.default_pause, c.default_hand_off
      INTO k
      FROM cadence.custom_event_kind c
     WHERE c.tenant_id = NEW.tenant_id AND c.kind = v_kind;
    IF NOT FOUND THEN
        SELECT b.response, b.engagement, b.human_contact, b.consent_channel, b.consent_action, b.preferred_channel,
               b.default_exit, b.default_pause, b.default_hand_off
          INTO k
          FROM cadence.event_kind b
         WHERE b.kind = v_kind;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown event kind "%" in field "kind" (lead %)', NEW.kind, NEW.lead_id
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    IF NEW.payload ? 'body' AND jsonb_typeof(NEW.payload -> 'body') <> 'string' THEN
        RAISE EXCEPTION 'malformed payload: field "body" must be a string' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.touch_id IS NOT NULL AND NOT EXISTS (SELECT FROM cadence.touch t
                                                 WHERE t.tenant_id = NEW.tenant_id AND t.touch_id = NEW.touch_id
                                                   AND t.lead_id = NEW.lead_id) THEN
        RAISE EXCEPTION 'touch % is not a touch of lead %', NEW.touch_id, NEW.lead_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- the lead's unsent touches, then its running enrolment with its cadence's
    -- rules (all NULL when there is none), locked
    PERFORM 1 FROM cadence.touch t
      WHERE t.tenant_id = NEW.tenant_id AND t.lead_id = NEW.lead_id AND t.status IN ('queued', 'claimed', 'held')
      ORDER BY t.touch_id
        FOR NO KEY UPDATE;
    SELECT e.enrolment_id, e.status, e.enrolled_at, v.cadence_key, v.rules
      INTO r
      FROM cadence.enrolment e
      JOIN cadence.cadence_version v ON v.tenant_id = e.tenant_id AND v.cadence_version_id = e.cadence_version_id
     WHERE e.tenant_id = NEW.tenant_id AND e.lead_id = NEW.lead_id AND e.status IN ('active', 'paused')
       FOR NO KEY UPDATE OF e;
    v_exits := CASE WHEN r.rules ? 'exit_on' THEN (r.rules -> 'exit_on') ? v_kind ELSE k.default_exit END;
    v_pauses := CASE WHEN r.rules ? 'pause_on' THEN (r.rules -> 'pause_on') ? v_kind ELSE k.default_pause END;
    v_hands_off := CASE WHEN r.rules ? 'hand_off_on' THEN (r.rules -> 'hand_off_on') ? v_kind ELSE k.default_hand_off END;

    -- escalation: the first rule whose counter this event completes
    IF r.status = 'active' AND NOT v_exits THEN
        FOR v_rule IN SELECT x.value FROM jsonb_array_elements(r.rules -> 'escalate') AS x LOOP
            CONTINUE WHEN v_rule -> 'when' ->> 'event' <> v_kind OR v_rule ->> 'move_to' = r.cadence_key;
            SELECT count(*) INTO v_count
              FROM bench.event_plpgsql h
             WHERE h.tenant_id = NEW.tenant_id AND h.lead_id = NEW.lead_id AND h.applied_kind = v_rule -> 'when' ->> 'event'
               AND h.occurred_at >= r.enrolled_at AND h.occurred_at <= NEW.occurred_at
               AND (NOT (v_rule -> 'when') ? 'within'
                    OR h.occurred_at > NEW.occurred_at - cadence.parse_duration(v_rule -> 'when' ->> 'within'));
            IF v_count >= coalesce((v_rule -> 'when' ->> 'count')::integer, 1)
               AND EXISTS (SELECT FROM cadence.cadence c
                            WHERE c.tenant_id = NEW.tenant_id AND c.cadence_key = v_rule ->> 'move_to') THEN
                v_move_to := v_rule ->> 'move_to';
                v_score := coalesce((v_rule ->> 'score')::integer, 0);
                EXIT;
            END IF;
        END LOOP;
    END IF;

    -- the enrolment stops (exit, escalation, pause) and its unsent touches
    -- are cancelled (after an exit, every unsent touch of the lead)
    IF v_exits OR v_move_to IS NOT NULL OR (v_pauses AND r.status = 'active') THEN
        UPDATE cadence.enrolment e
           SET status = CASE WHEN v_exits OR v_move_to IS NOT NULL THEN 'exited' ELSE 'paused' END,
               exit_reason = CASE WHEN v_exits THEN v_kind WHEN v_move_to IS NOT NULL THEN 'escalated'
                                  ELSE 'handed_off:' || v_kind END,
               ended_at = CASE WHEN v_exits OR v_move_to IS NOT NULL THEN NEW.occurred_at ELSE e.ended_at END,
               paused_at = CASE WHEN v_exits OR v_move_to IS NOT NULL THEN e.paused_at ELSE NEW.occurred_at END,
               next_due_at = NULL, move_due_at = NULL
         WHERE e.tenant_id = NEW.tenant_id AND e.enrolment_id = r.enrolment_id
        RETURNING e.exit_reason INTO v_reason;
        UPDATE cadence.touch t
           SET status = 'cancelled', status_reason = CASE WHEN v_exits THEN v_kind ELSE v_reason END, lease_until = NULL
         WHERE t.tenant_id = NEW.tenant_id AND t.status IN ('queued', 'claimed', 'held')
           AND CASE WHEN v_exits THEN t.lead_id = NEW.lead_id ELSE t.enrolment_id = r.enrolment_id END;
    END IF;

    IF k.response OR k.engagement OR k.preferred_channel IS NOT NULL OR v_move_to IS NOT NULL THEN
        UPDATE cadence.lead l
           SET last_response_at = CASE WHEN k.response THEN greatest(l.last_response_at, NEW.occurred_at)
                                       ELSE l.last_response_at END,
               last_engagement_at = CASE WHEN k.engagement THEN greatest(l.last_engagement_at, NEW.occurred_at)
                                         ELSE l.last_engagement_at END,
               preferred_channel = coalesce(k.preferred_channel, l.preferred_channel),
               score_bonus = l.score_bonus + coalesce(v_score, 0)
         WHERE l.tenant_id = NEW.tenant_id AND l.lead_id = NEW.lead_id;
    END IF;

    IF k.consent_channel IS NOT NULL THEN
        INSERT INTO cadence.consent (tenant_id, lead_id, channel, action, method, recorded_at, recorded_by, evidence)
        VALUES (NEW.tenant_id, NEW.lead_id, k.consent_channel, k.consent_action, 'event:' || v_kind, NEW.occurred_at,
                'bench.event_plpgsql', jsonb_build_object('event_id', NEW.event_id, 'source', NEW.source));
    END IF;

    IF k.human_contact OR v_exits THEN
        UPDATE cadence.alert a
           SET status = 'closed', closed_at = NEW.occurred_at, closed_by = 'event:' || v_kind
         WHERE a.tenant_id = NEW.tenant_id AND a.lead_id = NEW.lead_id
           AND a.status IN ('open', 'escalated') AND a.created_at <= NEW.occurred_at;
    END IF;

    IF v_move_to IS NOT NULL THEN
        PERFORM cadence.start_enrolment(NEW.tenant_id, NEW.lead_id, v_move_to, NEW.occurred_at, r.enrolment_id);
    END IF;
    -- (the alert's event_id refers to cadence.event, so this table's events leave it empty)
    IF v_hands_off AND NOT v_exits THEN
        PERFORM cadence.raise_alert(NEW.tenant_id, NEW.lead_id, r.enrolment_id, NULL, v_kind, NEW.occurred_at);
    END IF;

    -- the score as of the newest of the lead's events, and routing if its tier changed
    v_model := cadence.scoring_model_for(NEW.tenant_id);
    SELECT * INTO v_lead FROM cadence.lead l WHERE l.tenant_id = NEW.tenant_id AND l.lead_id = NEW.lead_id;
    SELECT greatest(NEW.occurred_at, max(h.occurred_at)) INTO v_at
      FROM bench.event_plpgsql h WHERE h.tenant_id = NEW.tenant_id AND h.lead_id = NEW.lead_id;
    SELECT array_agg(h.applied_kind), array_agg(h.occurred_at) INTO v_kinds, v_times
      FROM bench.event_plpgsql h
     WHERE h.tenant_id = NEW.tenant_id AND h.lead_id = NEW.lead_id AND h.occurred_at <= v_at;
    v_new_score := cadence.compute_score(v_model, v_lead, v_kinds, v_times, v_at);
    v_new_tier := cadence.score_tier(v_new_score, v_lead.tier, v_model);
    IF v_new_score IS DISTINCT FROM v_lead.score OR v_new_tier IS DISTINCT FROM v_lead.tier THEN
        UPDATE cadence.lead l SET score = v_new_score, tier = v_new_tier, scored_at = v_at
         WHERE l.tenant_id = NEW.tenant_id AND l.lead_id = NEW.lead_id;
        PERFORM cadence.route_lead(NEW.tenant_id, NEW.lead_id, v_lead.tier, v_new_tier, v_new_score, v_at);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION bench.event_applied_row() IS
  'Benchmark comparison: the event trigger a user would write in PL/pgSQL, one row at a time';

CREATE TRIGGER event_applied_row AFTER INSERT ON bench.event_plpgsql
    FOR EACH ROW EXECUTE FUNCTION bench.event_applied_row();
