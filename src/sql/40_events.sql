-- cadence: install script, part 5: engagement events and what they do.
-- Events are recorded in cadence.event, by cadence.record_event() or by a
-- plain INSERT or COPY; a statement-level trigger written in C applies them
-- in the same transaction: consent changes, exits, hand-offs to a human,
-- escalation to another cadence, the silence clock and channel preference.

-- The kinds every tenant knows, with their intrinsic effects.  Whether a kind
-- ends an enrolment, pauses it or alerts a rep is decided per cadence by its
-- rules (exit_on, pause_on, hand_off_on); the default_* columns are used when
-- a cadence does not say.
CREATE TABLE cadence.event_kind (
    kind              text PRIMARY KEY CHECK (kind ~ '^[a-z][a-z0-9_]{0,62}$'),
    response          boolean NOT NULL DEFAULT false,
    engagement        boolean NOT NULL DEFAULT false,
    human_contact     boolean NOT NULL DEFAULT false,
    consent_channel   text CHECK (consent_channel = ANY ('{all,call,voicemail,sms,email,video,linkedin}'::text[])),
    consent_action    text CHECK (consent_action = ANY ('{grant,revoke}'::text[])),
    preferred_channel text REFERENCES cadence.channel,
    default_exit      boolean NOT NULL DEFAULT false,
    default_pause     boolean NOT NULL DEFAULT false,
    default_hand_off  boolean NOT NULL DEFAULT false,
    description       text NOT NULL,
    CHECK ((consent_channel IS NULL) = (consent_action IS NULL))
);
COMMENT ON TABLE cadence.event_kind IS 'Built-in engagement event kinds and their effects (shared by all tenants)';
COMMENT ON COLUMN cadence.event_kind.response IS 'The lead answered: sets lead.last_response_at (the no_response condition)';
COMMENT ON COLUMN cadence.event_kind.engagement IS 'Counts as engagement: sets lead.last_engagement_at and restarts the silence clock';
COMMENT ON COLUMN cadence.event_kind.human_contact IS 'A person reached the lead: closes open hand-off alerts';
COMMENT ON COLUMN cadence.event_kind.consent_channel IS 'Channel whose consent this kind grants or revokes (with consent_action), recorded in the ledger';

INSERT INTO cadence.event_kind (kind, response, engagement, human_contact, consent_channel, consent_action,
                                preferred_channel, default_exit, default_pause, default_hand_off, description) VALUES
    ('email_open',          false, true,  false, NULL,    NULL,     NULL,    false, false, false, 'An email was opened'),
    ('email_click',         false, true,  false, NULL,    NULL,     NULL,    false, false, false, 'A link in an email was clicked'),
    ('email_reply',         true,  true,  false, NULL,    NULL,     'email', false, true,  true,  'The lead replied to an email'),
    ('sms_reply',           true,  true,  false, NULL,    NULL,     'sms',   false, true,  true,  'The lead replied to a text (STOP-like keywords count as sms_stop, START as sms_start)'),
    ('call_answered',       true,  true,  true,  NULL,    NULL,     NULL,    false, false, false, 'A call reached the lead'),
    ('call_no_answer',      false, false, false, NULL,    NULL,     NULL,    false, false, false, 'A call was not answered'),
    ('voicemail_left',      false, false, false, NULL,    NULL,     NULL,    false, false, false, 'A voicemail was left'),
    ('bounce',              false, false, false, NULL,    NULL,     NULL,    false, false, false, 'An email bounced'),
    ('unsubscribe',         false, false, false, 'email', 'revoke', NULL,    false, false, false, 'The lead unsubscribed from email'),
    ('sms_stop',            false, false, false, 'sms',   'revoke', NULL,    false, false, false, 'The lead texted STOP (or STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPT OUT)'),
    ('sms_start',           false, false, false, 'sms',   'grant',  NULL,    false, false, false, 'The lead texted START or UNSTOP to receive texts again'),
    ('opt_out',             false, false, false, 'all',   'revoke', NULL,    true,  false, false, 'The lead asked for no contact at all'),
    ('appointment_set',     true,  true,  true,  NULL,    NULL,     NULL,    true,  false, false, 'An appointment was booked'),
    ('appointment_show',    true,  true,  true,  NULL,    NULL,     NULL,    true,  false, false, 'The lead came to the appointment'),
    ('sold',                true,  true,  true,  NULL,    NULL,     NULL,    true,  false, false, 'The lead bought'),
    ('lost',                false, false, false, NULL,    NULL,     NULL,    true,  false, false, 'The lead bought elsewhere or is no longer in the market'),
    ('trade_value_request', true,  true,  false, NULL,    NULL,     NULL,    false, false, true,  'High intent: the lead asked what their trade is worth'),
    ('credit_question',     true,  true,  false, NULL,    NULL,     NULL,    false, false, true,  'High intent: the lead asked about credit or financing'),
    ('urgent_timeline',     true,  true,  false, NULL,    NULL,     NULL,    false, false, true,  'High intent: the lead needs to buy soon'),
    ('rep_contact',         false, false, true,  NULL,    NULL,     NULL,    false, false, false, 'A rep logged a conversation with the lead');

-- Kinds a tenant adds, or built-in kinds whose effects it changes.
CREATE TABLE cadence.custom_event_kind (
    tenant_id bigint NOT NULL DEFAULT cadence.current_tenant() REFERENCES cadence.tenant,
    LIKE cadence.event_kind INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    CONSTRAINT custom_event_kind_pkey PRIMARY KEY (tenant_id, kind)
);
COMMENT ON TABLE cadence.custom_event_kind IS 'Event kinds a tenant registers, or built-in kinds whose effects it overrides';

-- The event trigger keeps the event kinds, cadence versions' rules,
-- scoring models and routes it has read in each backend
-- (src/config_cache.c).  A change to one of their tables (the kinds' and
-- cadence.cadence_version here; cadence.scoring_model,
-- cadence.scoring_default and cadence.route in 50_scoring.sql) tells every
-- backend, once it commits, to read them again.  Row triggers, and ALWAYS: a logical
-- replication subscriber applies rows with session_replication_role =
-- replica and fires row triggers only.
CREATE FUNCTION cadence.config_changed()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'cadence_config_changed';
COMMENT ON FUNCTION cadence.config_changed() IS
  'Trigger (C): every backend reads the event kinds, cadence versions, scoring models and routes again once the change commits';
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE ON cadence.event_kind
    FOR EACH ROW EXECUTE FUNCTION cadence.config_changed();
CREATE TRIGGER config_truncated AFTER TRUNCATE ON cadence.event_kind
    FOR EACH STATEMENT EXECUTE FUNCTION cadence.config_changed();
ALTER TABLE cadence.event_kind ENABLE ALWAYS TRIGGER config_changed, ENABLE ALWAYS TRIGGER config_truncated;
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE ON cadence.custom_event_kind
    FOR EACH ROW EXECUTE FUNCTION cadence.config_changed();
CREATE TRIGGER config_truncated AFTER TRUNCATE ON cadence.custom_event_kind
    FOR EACH STATEMENT EXECUTE FUNCTION cadence.config_changed();
ALTER TABLE cadence.custom_event_kind ENABLE ALWAYS TRIGGER config_changed, ENABLE ALWAYS TRIGGER config_truncated;
-- (a cadence version never changes once defined; a change made by hand is seen too)
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE ON cadence.cadence_version
    FOR EACH ROW EXECUTE FUNCTION cadence.config_changed();
CREATE TRIGGER config_truncated AFTER TRUNCATE ON cadence.cadence_version
    FOR EACH STATEMENT EXECUTE FUNCTION cadence.config_changed();
ALTER TABLE cadence.cadence_version ENABLE ALWAYS TRIGGER config_changed, ENABLE ALWAYS TRIGGER config_truncated;

-- The kinds in force for a tenant: its own, else the built-in ones.
CREATE VIEW cadence.event_kinds WITH (security_barrier) AS
SELECT c.tenant_id, c.kind, c.response, c.engagement, c.human_contact, c.consent_channel, c.consent_action,
       c.preferred_channel, c.default_exit, c.default_pause, c.default_hand_off, c.description, true AS custom
  FROM cadence.custom_event_kind c
 WHERE c.tenant_id OPERATOR(pg_catalog.=) cadence.current_tenant()
UNION ALL
SELECT cadence.current_tenant(), k.kind, k.response, k.engagement, k.human_contact, k.consent_channel, k.consent_action,
       k.preferred_channel, k.default_exit, k.default_pause, k.default_hand_off, k.description, false
  FROM cadence.event_kind k
 WHERE NOT EXISTS (SELECT FROM cadence.custom_event_kind c
                    WHERE c.tenant_id OPERATOR(pg_catalog.=) cadence.current_tenant()
                      AND c.kind OPERATOR(pg_catalog.=) k.kind);
COMMENT ON VIEW cadence.event_kinds IS 'Event kinds in force for the current tenant: its own and the built-in ones it did not override';

-- STOP-like and START-like keywords in an SMS reply, as carriers treat them:
-- the whole message is the keyword, in any case, with spaces, quotes or
-- punctuation around it ("Stop.", "'STOP'", "opt-out", "STOP ALL").  These
-- three are C (src/keyword.c): the event table's generated column calls
-- them, and a generated column is prepared again for every INSERT, which
-- costs far less for a C function than for SQL that is inlined each time.
CREATE FUNCTION cadence.sms_keyword_kind(body text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'cadence_sms_keyword_kind';
COMMENT ON FUNCTION cadence.sms_keyword_kind(text) IS
  'sms_stop for STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPT OUT; sms_start for START, UNSTOP; else NULL';

-- An email reply that asks to stop: its first line (what the lead typed
-- above the quoted message) or its subject is UNSUBSCRIBE, STOP, REMOVE ME
-- or OPT OUT and nothing else.  The emails' footer tells leads to reply
-- UNSUBSCRIBE when the tenant has no unsubscribe link.
CREATE FUNCTION cadence.email_keyword_kind(body text, subject text)
RETURNS text
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'cadence_email_keyword_kind';
COMMENT ON FUNCTION cadence.email_keyword_kind(text, text) IS
  'unsubscribe for an email reply whose first line or subject is UNSUBSCRIBE, STOP, REMOVE ME or OPT OUT; else NULL';

-- The kind an event acts as: a reply that is an opt-out (or opt-in) keyword
-- acts as that keyword, for its effects, its score and the KPIs alike (the
-- body of an sms_reply; the body or subject of an email_reply).
CREATE FUNCTION cadence.applied_event_kind(kind text, payload jsonb)
RETURNS text
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'cadence_applied_event_kind';
COMMENT ON FUNCTION cadence.applied_event_kind(text, jsonb) IS
  'The kind an event acts as: an SMS reply STOP is sms_stop, START sms_start; an email reply UNSUBSCRIBE is unsubscribe';

CREATE TABLE cadence.event (
    tenant_id   bigint NOT NULL DEFAULT cadence.current_tenant(),
    event_id    bigint GENERATED BY DEFAULT AS IDENTITY,
    lead_id     bigint NOT NULL,
    kind        text NOT NULL,
    occurred_at timestamptz NOT NULL,
    touch_id    bigint,
    payload     jsonb NOT NULL DEFAULT '{}' CONSTRAINT event_payload_object CHECK (pg_catalog.jsonb_typeof(payload) = 'object'),
    source      text NOT NULL DEFAULT 'crm' CHECK (source <> ''),
    provider_id text CHECK (provider_id <> ''),
    recorded_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- what the event acts as (an SMS reply "STOP" is sms_stop), worked out
    -- once as it is stored; scores, escalation counts and KPIs read this
    applied_kind text NOT NULL GENERATED ALWAYS AS (cadence.applied_event_kind(kind, payload)) STORED,
    PRIMARY KEY (tenant_id, event_id),
    -- a webhook delivered twice is one event
    CONSTRAINT event_provider_once UNIQUE (tenant_id, source, provider_id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES cadence.lead,
    FOREIGN KEY (tenant_id, touch_id) REFERENCES cadence.touch
);
CREATE INDEX event_lead ON cadence.event (tenant_id, lead_id, applied_kind, occurred_at);
COMMENT ON TABLE cadence.event IS 'Engagement events per lead (opens, clicks, replies, appointments, opt-outs, ...); applied by a trigger as they arrive';
COMMENT ON COLUMN cadence.event.provider_id IS 'The provider''s id for the event; unique per tenant and source, so a redelivered webhook is not counted twice';
COMMENT ON COLUMN cadence.event.applied_kind IS 'The kind the event acts as: kind, except that a reply which is an opt-out or opt-in keyword acts as that keyword (sms_stop, sms_start, unsubscribe)';
COMMENT ON COLUMN cadence.event.touch_id IS 'The touch the event answers, when known (an open of that email, a reply to that text)';

-- Alerts hand a lead to a human: a reply, a high-intent signal or a new hot
-- lead.  Without human contact within the tenant's hand_off_timeout the
-- tick passes the alert to a manager; with no active manager it stays open,
-- marked no_manager_at, until the tick finds one.
CREATE TABLE cadence.alert (
    tenant_id     bigint NOT NULL DEFAULT cadence.current_tenant(),
    alert_id      bigint GENERATED BY DEFAULT AS IDENTITY,
    lead_id       bigint NOT NULL,
    enrolment_id  bigint,
    event_id      bigint,
    reason        text NOT NULL,
    rep_id        bigint,
    status        text NOT NULL DEFAULT 'open' CHECK (status = ANY ('{open,escalated,closed}'::text[])),
    created_at    timestamptz NOT NULL,
    escalate_at   timestamptz NOT NULL,
    escalated_to_rep_id bigint,
    escalated_at  timestamptz,
    no_manager_at timestamptz,
    closed_at     timestamptz,
    closed_by     text,
    PRIMARY KEY (tenant_id, alert_id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES cadence.lead,
    FOREIGN KEY (tenant_id, enrolment_id) REFERENCES cadence.enrolment,
    FOREIGN KEY (tenant_id, event_id) REFERENCES cadence.event,
    FOREIGN KEY (tenant_id, rep_id) REFERENCES cadence.rep,
    FOREIGN KEY (tenant_id, escalated_to_rep_id) REFERENCES cadence.rep
);
-- Alerts waiting for a manager are kept apart: the tick's due check reads
-- only alerts still to be escalated, however many wait.
CREATE INDEX alert_to_escalate ON cadence.alert (tenant_id, escalate_at) WHERE status = 'open' AND no_manager_at IS NULL;
CREATE INDEX alert_awaiting_manager ON cadence.alert (tenant_id, escalate_at) WHERE status = 'open' AND no_manager_at IS NOT NULL;
CREATE INDEX alert_open_lead ON cadence.alert (tenant_id, lead_id) WHERE status IN ('open', 'escalated');
COMMENT ON TABLE cadence.alert IS 'Hand-offs to a human: the rep alerted, and the manager it went to when nobody made contact in time';
COMMENT ON COLUMN cadence.alert.reason IS 'new_hot_lead, or the event kind that raised it (sms_reply, trade_value_request, ...)';
COMMENT ON COLUMN cadence.alert.no_manager_at IS 'When a tick found the alert due for a manager and the tenant had no active one; it stays open and goes to the first manager a later tick finds';

DO $install$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['custom_event_kind', 'event', 'alert'] LOOP
        EXECUTE pg_catalog.format('ALTER TABLE cadence.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format(
            'CREATE POLICY tenant_isolation ON cadence.%I USING (tenant_id OPERATOR(pg_catalog.=) '
            'COALESCE(pg_catalog.int8(NULLIF(pg_catalog.current_setting(''cadence.tenant_id'', true), '''')), 1))', t);
        PERFORM pg_catalog.pg_extension_config_dump(pg_catalog.format('cadence.%I', t)::regclass, '');
    END LOOP;
    FOREACH t IN ARRAY ARRAY['event', 'alert'] LOOP
        PERFORM pg_catalog.pg_extension_config_dump(
            pg_catalog.pg_get_serial_sequence(pg_catalog.format('cadence.%I', t), t || '_id')::regclass, '');
    END LOOP;
END
$install$;

-- The set functions below take one array per column.  Arrays of different
-- lengths would pair values of different rows (unnest pads with NULLs), so
-- they are refused, naming the fields.
CREATE FUNCTION cadence.require_aligned(fields text, VARIADIC lengths integer[])
RETURNS void
LANGUAGE C
AS 'MODULE_PATHNAME', 'cadence_require_aligned';
COMMENT ON FUNCTION cadence.require_aligned(text, integer[]) IS
  'Internal: refuse the column arrays of a set function when their lengths differ';

-- Raise hand-off alerts, one per (lead, reason) given, in the order given:
-- each to the lead's owner when the owner is active, else to the tenant's
-- on-duty reps in turn, the one alerted longest ago first (round robin).
-- A lead with an alert of that reason still open gets no second one.
-- Set-based, so that a bulk load that raises thousands of alerts reads and
-- updates each rep once rather than once per alert (every update of a rep
-- in one transaction leaves a row version the next alert would read).
-- The arrays are aligned; returns the alerts raised.
CREATE FUNCTION cadence.raise_alerts(tenant_ids bigint[], lead_ids bigint[], enrolment_ids bigint[],
                                     event_ids bigint[], reasons text[], raised_ats timestamptz[])
RETURNS bigint
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_raised       bigint;
    v_tenants      bigint[];
    v_leads        bigint[];
    v_enrolments   bigint[];
    v_events       bigint[];
    v_reasons      text[];
    v_reps         bigint[];
    v_raised_ats   timestamptz[];
    v_escalate_ats timestamptz[];
    v_rep          bigint;
    v_turn         bigint;      -- the rep first in turn, as one statement read it
    v_held         bigint;      -- and as the statement before read it
    v_timeout      interval;
    v_open         boolean;
BEGIN
    PERFORM cadence.require_aligned('tenant_ids, lead_ids, enrolment_ids, event_ids, reasons, raised_ats',
                                    cardinality(tenant_ids), cardinality(lead_ids), cardinality(enrolment_ids),
                                    cardinality(event_ids), cardinality(reasons), cardinality(raised_ats));
    IF array_position(reasons, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'an alert needs a reason (field "reasons")' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF array_position(raised_ats, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'an alert needs a time (field "raised_ats")' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- a kept plan suits a few alerts; a large batch is planned for its size
    -- and for the alerts open now (a plan kept from a call when none were
    -- open would scan them all for each row)
    IF cardinality(lead_ids) > 100 THEN
        PERFORM pg_catalog.set_config('plan_cache_mode', 'force_custom_plan', true);
    END IF;
    -- One alert, the common case (an event, a new hot lead): the same rules
    -- as the set form below, read by key, and one rep locked instead of all
    -- the tenant's on-duty reps.  The lead is locked first (the event
    -- trigger holds it already), so that two alerts of the same lead and
    -- reason wait for each other and the second finds the first open.  The
    -- rep is the lead's active owner (the alert's update of the rep locks
    -- it), else the on-duty rep alerted longest ago.  A rep whose turn a
    -- concurrent alert holds is skipped for the next in turn, so concurrent
    -- alerts go to different reps without waiting for each other; only when
    -- every on-duty rep is held does this one wait for them, as the set
    -- form does, and then take the turn that is left.  (The set form's lock
    -- of all of them was a fifth of one alert's CPU instructions.)
    IF cardinality(lead_ids) = 1 THEN
        -- (a statement of its own: the read below, started after the lock
        -- was granted, sees the alert of a transaction it waited for)
        PERFORM FROM cadence.lead l
         WHERE l.tenant_id = tenant_ids[1] AND l.lead_id = lead_ids[1]
           FOR NO KEY UPDATE;
        -- (the owner and the timeout as subqueries by key, where a join
        -- scanned every tenant's reps; the timeout is never NULL, so NULL
        -- means no tenant, as the join's missing row did)
        SELECT (SELECT o.rep_id FROM cadence.rep o
                 WHERE o.tenant_id = l.tenant_id AND o.rep_id = l.owner_rep_id AND o.active),
               (SELECT t.hand_off_timeout FROM cadence.tenant t WHERE t.tenant_id = l.tenant_id),
               EXISTS (SELECT FROM cadence.alert a
                        WHERE a.tenant_id = l.tenant_id AND a.lead_id = l.lead_id
                          AND a.status IN ('open', 'escalated') AND a.reason = reasons[1])
          INTO v_rep, v_timeout, v_open
          FROM cadence.lead l
         WHERE l.tenant_id = tenant_ids[1] AND l.lead_id = lead_ids[1];
        IF NOT FOUND OR v_open OR v_timeout IS NULL THEN
            RETURN 0;
        END IF;
        -- The turn is read before its rep is locked: an alert that went to
        -- that rep and committed in between makes it no longer the first.
        -- Read again (a statement of its own sees that alert) until the
        -- first in turn is a rep this call holds; each round holds one more
        -- rep, so this ends.
        WHILE v_rep IS NULL LOOP
            SELECT r.rep_id INTO v_turn
              FROM cadence.rep r
             WHERE r.tenant_id = tenant_ids[1] AND r.on_duty AND r.active AND r.role = 'rep'
             ORDER BY r.last_alerted_at NULLS FIRST, r.rep_id
             LIMIT 1
               FOR NO KEY UPDATE SKIP LOCKED;
            IF v_turn IS NULL THEN
                -- every on-duty rep is held (or none is on duty): wait for them
                PERFORM FROM cadence.rep r
                 WHERE r.tenant_id = tenant_ids[1] AND r.on_duty AND r.active AND r.role = 'rep'
                 ORDER BY r.rep_id
                   FOR NO KEY UPDATE;
                SELECT r.rep_id INTO v_rep
                  FROM cadence.rep r
                 WHERE r.tenant_id = tenant_ids[1] AND r.on_duty AND r.active AND r.role = 'rep'
                 ORDER BY r.last_alerted_at NULLS FIRST, r.rep_id
                 LIMIT 1;
                EXIT;
            END IF;
            IF v_turn = v_held THEN
                v_rep := v_turn;
            END IF;
            v_held := v_turn;
        END LOOP;
        -- two plain statements: one that joins the INSERT's rows to the reps
        -- costs more to start than both
        INSERT INTO cadence.alert (tenant_id, lead_id, enrolment_id, event_id, reason, rep_id, created_at, escalate_at)
        VALUES (tenant_ids[1], lead_ids[1], enrolment_ids[1], event_ids[1], reasons[1], v_rep,
                raised_ats[1], raised_ats[1] + v_timeout);
        UPDATE cadence.rep r
           SET last_alerted_at = greatest(r.last_alerted_at, raised_ats[1])
         WHERE r.tenant_id = tenant_ids[1] AND r.rep_id = v_rep;
        RETURN 1;
    END IF;
    -- The reps this call may alert are locked first, in order, so that
    -- concurrent batches take their turns of the round robin one after
    -- another and update the reps they share without deadlocking: the
    -- leads' active owners, and the on-duty reps when a lead has no active
    -- owner (otherwise the tenant takes no turn).
    PERFORM FROM cadence.rep r
     WHERE r.tenant_id = ANY (raise_alerts.tenant_ids) AND r.active
       AND EXISTS (SELECT FROM unnest(tenant_ids, lead_ids) AS i(tenant_id, lead_id)
                     JOIN cadence.lead l ON l.tenant_id = i.tenant_id AND l.lead_id = i.lead_id
                     LEFT JOIN cadence.rep o ON o.tenant_id = l.tenant_id AND o.rep_id = l.owner_rep_id AND o.active
                    WHERE i.tenant_id = r.tenant_id
                      AND (o.rep_id = r.rep_id
                           OR (o.rep_id IS NULL AND r.on_duty AND r.role = 'rep')))
     ORDER BY r.tenant_id, r.rep_id
       FOR NO KEY UPDATE;
    -- the alerts to raise, each with its rep, in the order given
    WITH wanted AS (
        SELECT DISTINCT ON (i.tenant_id, i.lead_id, i.reason) i.*
          FROM unnest(tenant_ids, lead_ids, enrolment_ids, event_ids, reasons, raised_ats)
               WITH ORDINALITY AS i(tenant_id, lead_id, enrolment_id, event_id, reason, raised_at, ord)
         WHERE NOT EXISTS (SELECT FROM cadence.alert a
                            WHERE a.tenant_id = i.tenant_id AND a.lead_id = i.lead_id
                              AND a.status IN ('open', 'escalated') AND a.reason = i.reason)
         ORDER BY i.tenant_id, i.lead_id, i.reason, i.ord
    ), owned AS (
        -- turn: the k-th alert without an owner, per tenant, in the order given
        SELECT w.*, o.rep_id AS owner_rep_id,
               row_number() OVER (PARTITION BY w.tenant_id, o.rep_id IS NULL ORDER BY w.ord) - 1 AS turn
          FROM wanted w
          JOIN cadence.lead l ON l.tenant_id = w.tenant_id AND l.lead_id = w.lead_id
          LEFT JOIN cadence.rep o ON o.tenant_id = l.tenant_id AND o.rep_id = l.owner_rep_id AND o.active
    ), on_duty AS (
        SELECT r.tenant_id, r.rep_id,
               row_number() OVER (PARTITION BY r.tenant_id ORDER BY r.last_alerted_at NULLS FIRST, r.rep_id) - 1 AS pos,
               count(*) OVER (PARTITION BY r.tenant_id) AS reps
          FROM cadence.rep r
         WHERE r.tenant_id = ANY (raise_alerts.tenant_ids) AND r.on_duty AND r.active AND r.role = 'rep'
    )
    SELECT array_agg(x.tenant_id ORDER BY x.ord), array_agg(x.lead_id ORDER BY x.ord),
           array_agg(x.enrolment_id ORDER BY x.ord), array_agg(x.event_id ORDER BY x.ord),
           array_agg(x.reason ORDER BY x.ord), array_agg(coalesce(x.owner_rep_id, d.rep_id) ORDER BY x.ord),
           array_agg(x.raised_at ORDER BY x.ord), array_agg(x.raised_at + t.hand_off_timeout ORDER BY x.ord)
      INTO v_tenants, v_leads, v_enrolments, v_events, v_reasons, v_reps, v_raised_ats, v_escalate_ats
      FROM owned x
      LEFT JOIN on_duty d ON x.owner_rep_id IS NULL AND d.tenant_id = x.tenant_id AND d.pos = x.turn % d.reps
      JOIN cadence.tenant t ON t.tenant_id = x.tenant_id;
    IF v_tenants IS NULL THEN
        RETURN 0;
    END IF;
    -- The inserts' foreign-key checks run on generic plans whatever the
    -- batch's size: planned for the statistics of a tenant that had no
    -- events yet, the check of each alert's event would walk all of the
    -- tenant's events in the batch instead of looking one up by its key.
    -- (A small batch never left the function's own setting.)
    IF cardinality(lead_ids) > 100 THEN
        PERFORM pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', true);
    END IF;
    WITH raised AS (
        INSERT INTO cadence.alert (tenant_id, lead_id, enrolment_id, event_id, reason, rep_id, created_at, escalate_at)
        SELECT u.tenant_id, u.lead_id, u.enrolment_id, u.event_id, u.reason, u.rep_id, u.raised_at, u.escalate_at
          FROM unnest(v_tenants, v_leads, v_enrolments, v_events, v_reasons, v_reps, v_raised_ats, v_escalate_ats)
               WITH ORDINALITY AS u(tenant_id, lead_id, enrolment_id, event_id, reason, rep_id, raised_at, escalate_at, ord)
         ORDER BY u.ord
        RETURNING tenant_id, rep_id, created_at
    ), alerted AS (
        UPDATE cadence.rep r
           SET last_alerted_at = greatest(r.last_alerted_at, x.at)
          FROM (SELECT a.tenant_id, a.rep_id, max(a.created_at) AS at FROM raised a
                 WHERE a.rep_id IS NOT NULL GROUP BY a.tenant_id, a.rep_id) x
         WHERE r.tenant_id = x.tenant_id AND r.rep_id = x.rep_id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM raised) + 0 * (SELECT count(*) FROM alerted) INTO v_raised;
    RETURN v_raised;
END
$$;
COMMENT ON FUNCTION cadence.raise_alerts(bigint[], bigint[], bigint[], bigint[], text[], timestamptz[]) IS
  'Internal: alert each lead''s owner (or the on-duty reps in turn) that the lead needs a human now';

-- One alert (raise_alerts with one row); returns the open alert of the lead
-- for that reason (new or already there).
CREATE FUNCTION cadence.raise_alert(tenant_id bigint, lead_id bigint, enrolment_id bigint, event_id bigint,
                                    reason text, raised_at timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_alert bigint;
BEGIN
    PERFORM cadence.raise_alerts(ARRAY[tenant_id], ARRAY[lead_id], ARRAY[enrolment_id], ARRAY[event_id],
                                 ARRAY[reason], ARRAY[raised_at]);
    SELECT a.alert_id INTO v_alert FROM cadence.alert a
     WHERE a.tenant_id = raise_alert.tenant_id AND a.lead_id = raise_alert.lead_id AND a.status IN ('open', 'escalated')
       AND a.reason = raise_alert.reason
     ORDER BY a.alert_id DESC
     LIMIT 1;
    RETURN v_alert;
END
$$;
COMMENT ON FUNCTION cadence.raise_alert(bigint, bigint, bigint, bigint, text, timestamptz) IS
  'Internal: alert the lead''s owner (or the next on-duty rep) that the lead needs a human now';

CREATE FUNCTION cadence.record_event(lead_id bigint, kind text, occurred_at timestamptz DEFAULT pg_catalog.now(),
                                     touch_id bigint DEFAULT NULL, payload jsonb DEFAULT '{}',
                                     source text DEFAULT 'crm', provider_id text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_tenant bigint := cadence.current_tenant();
    v_id     bigint;
BEGIN
    IF occurred_at IS NULL THEN
        RAISE EXCEPTION 'occurred_at must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF payload IS NULL OR jsonb_typeof(payload) <> 'object' THEN
        RAISE EXCEPTION 'payload must be a JSON object (field "payload")' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the lead is checked in the same statement; no row means an unknown
    -- lead or a repeated delivery, told apart below
    INSERT INTO cadence.event (tenant_id, lead_id, kind, occurred_at, touch_id, payload, source, provider_id)
    SELECT v_tenant, record_event.lead_id, record_event.kind, record_event.occurred_at, record_event.touch_id,
           record_event.payload, coalesce(record_event.source, 'crm'), record_event.provider_id
     WHERE EXISTS (SELECT FROM cadence.lead l WHERE l.tenant_id = v_tenant AND l.lead_id = record_event.lead_id)
    ON CONFLICT ON CONSTRAINT event_provider_once DO NOTHING
    RETURNING event_id INTO v_id;
    IF v_id IS NULL THEN
        IF NOT EXISTS (SELECT FROM cadence.lead l WHERE l.tenant_id = v_tenant AND l.lead_id = record_event.lead_id) THEN
            RAISE EXCEPTION 'lead % does not exist (field "lead_id")', coalesce(record_event.lead_id::text, 'NULL')
                USING ERRCODE = 'no_data_found';
        END IF;
        -- delivered before: the first delivery is the event
        SELECT e.event_id INTO v_id FROM cadence.event e
         WHERE e.tenant_id = v_tenant AND e.source = coalesce(record_event.source, 'crm')
           AND e.provider_id = record_event.provider_id;
    END IF;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION cadence.record_event(bigint, text, timestamptz, bigint, jsonb, text, text) IS
  'Record an engagement event and apply it at once; a repeated (source, provider_id) returns the first event''s id';

-- What a batch of new events does to one lead, as the event trigger decides
-- it (src/event_decide.c) and then applies it in the few statements that
-- have work (src/event.c).
-- Internal: nothing else reads or stores it.
CREATE TYPE cadence.event_decision AS (
    tenant_id         bigint,
    lead_id           bigint,
    enrolment_id      bigint,       -- the running enrolment, locked; NULL when there is none
    enrolment_status  text,
    new_status        text,         -- the enrolment's status after the events
    new_reason        text,         -- and its exit_reason
    changes_enrolment boolean,      -- it exits, pauses or escalates
    exit_kind         text,
    exit_at           timestamptz,
    pause_kind        text,
    pause_at          timestamptz,
    hand_off_kind     text,
    hand_off_event    bigint,
    hand_off_at       timestamptz,
    response_at       timestamptz,
    engaged_at        timestamptz,
    contact_at        timestamptz,
    contact_kind      text,
    preferred_channel text,
    move_to           text,         -- the cadence an escalation moves the lead to
    moved_at          timestamptz,
    move_score        integer
);
COMMENT ON TYPE cadence.event_decision IS 'Internal: what the event trigger decided for one lead of a batch';

-- The decisions of a batch as rows.  unnest() would do, but a kept plan
-- would then expect 100 rows and may choose to scan a whole table; most
-- batches are one event of one lead.
CREATE FUNCTION cadence.event_decisions(decisions cadence.event_decision[])
RETURNS SETOF cadence.event_decision
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 1
AS 'MODULE_PATHNAME', 'cadence_event_decisions';
COMMENT ON FUNCTION cadence.event_decisions(cadence.event_decision[]) IS
  'Internal: the event trigger''s decisions as rows';

CREATE FUNCTION cadence.event_applied()
RETURNS trigger
LANGUAGE c
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'cadence_event_applied';
COMMENT ON FUNCTION cadence.event_applied() IS
  'Trigger (statement level, C): apply new events set-based: consent, exits, pauses, alerts, escalation, the lead''s engagement';
CREATE TRIGGER event_applied AFTER INSERT ON cadence.event
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION cadence.event_applied();

-- Whether the current role's events are applied from reads by key (the
-- fast path, src/key_read.c), or as batches of statements because a table
-- an event reads has a row-level security policy of its own, or an index
-- the reads need is missing: what a DBA asks when events are slow.
CREATE FUNCTION cadence.event_reads_by_key()
RETURNS boolean
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'cadence_event_reads_by_key';
COMMENT ON FUNCTION cadence.event_reads_by_key() IS
  'Whether one event of the current role is applied from reads by key (false: with statements, as a batch)';

CREATE FUNCTION cadence.register_event_kind(kind text, response boolean DEFAULT false, engagement boolean DEFAULT true,
                                            human_contact boolean DEFAULT false, consent_channel text DEFAULT NULL,
                                            consent_action text DEFAULT NULL, preferred_channel text DEFAULT NULL,
                                            default_exit boolean DEFAULT false, default_pause boolean DEFAULT false,
                                            default_hand_off boolean DEFAULT false, description text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF kind IS NULL OR kind !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'invalid event kind "%" in field "kind"', coalesce(kind, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Kinds are lower-case letters, digits and "_", starting with a letter, at most 63 characters.';
    END IF;
    IF (consent_channel IS NULL) <> (consent_action IS NULL) THEN
        RAISE EXCEPTION 'consent_channel and consent_action go together (field "%")',
                CASE WHEN consent_channel IS NULL THEN 'consent_channel' ELSE 'consent_action' END
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF consent_channel IS NOT NULL AND consent_channel NOT IN ('all', 'call', 'voicemail', 'sms', 'email', 'video', 'linkedin') THEN
        RAISE EXCEPTION 'invalid channel "%" in field "consent_channel"', consent_channel USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF consent_action IS NOT NULL AND consent_action NOT IN ('grant', 'revoke') THEN
        RAISE EXCEPTION 'invalid action "%" in field "consent_action"', consent_action USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF preferred_channel IS NOT NULL AND NOT EXISTS (SELECT FROM cadence.channel c WHERE c.channel = preferred_channel) THEN
        RAISE EXCEPTION 'invalid channel "%" in field "preferred_channel"', preferred_channel USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO cadence.custom_event_kind AS c (tenant_id, kind, response, engagement, human_contact, consent_channel,
                                                consent_action, preferred_channel, default_exit, default_pause,
                                                default_hand_off, description)
    VALUES (cadence.current_tenant(), kind, response, engagement, human_contact, consent_channel, consent_action,
            preferred_channel, default_exit, default_pause, default_hand_off, coalesce(description, kind))
    ON CONFLICT ON CONSTRAINT custom_event_kind_pkey DO UPDATE
       SET response = EXCLUDED.response, engagement = EXCLUDED.engagement, human_contact = EXCLUDED.human_contact,
           consent_channel = EXCLUDED.consent_channel, consent_action = EXCLUDED.consent_action,
           preferred_channel = EXCLUDED.preferred_channel, default_exit = EXCLUDED.default_exit,
           default_pause = EXCLUDED.default_pause, default_hand_off = EXCLUDED.default_hand_off,
           description = EXCLUDED.description;
    RETURN kind;
END
$$;
COMMENT ON FUNCTION cadence.register_event_kind(text, boolean, boolean, boolean, text, text, text, boolean, boolean, boolean, text) IS
  'Add an event kind for the current tenant, or change the effects of a built-in one for it';

CREATE FUNCTION cadence.resume_enrolment(enrolment_id bigint, as_of timestamptz DEFAULT pg_catalog.now())
RETURNS cadence.enrolment
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_enrolment cadence.enrolment;
    v_rules     jsonb;
    v_next      cadence.step;
    v_zone      text;
BEGIN
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO v_enrolment FROM cadence.enrolment e
     WHERE e.tenant_id = cadence.current_tenant() AND e.enrolment_id = resume_enrolment.enrolment_id
       AND e.status = 'paused'
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'enrolment % does not exist or is not paused (field "enrolment_id")',
                coalesce(resume_enrolment.enrolment_id::text, 'NULL')
            USING ERRCODE = 'no_data_found';
    END IF;
    SELECT v.rules INTO v_rules FROM cadence.cadence_version v
     WHERE v.tenant_id = v_enrolment.tenant_id AND v.cadence_version_id = v_enrolment.cadence_version_id;
    SELECT l.time_zone INTO v_zone FROM cadence.lead l
     WHERE l.tenant_id = v_enrolment.tenant_id AND l.lead_id = v_enrolment.lead_id;
    SELECT * INTO v_next FROM cadence.step s
     WHERE s.tenant_id = v_enrolment.tenant_id AND s.cadence_version_id = v_enrolment.cadence_version_id
       AND s.step_no = v_enrolment.next_step_no AND NOT s.is_break_up;

    -- The cadence goes on from the step it had reached; the silence clock
    -- starts again now, since the lead just spoke with a person.
    UPDATE cadence.enrolment e
       SET status = CASE WHEN v_next.step_no IS NULL AND NOT (v_rules ? 'on_complete') AND NOT (v_rules ? 'on_silence')
                         THEN 'completed' ELSE 'active' END,
           ended_at = CASE WHEN v_next.step_no IS NULL AND NOT (v_rules ? 'on_complete') AND NOT (v_rules ? 'on_silence')
                           THEN as_of END,
           exit_reason = CASE WHEN v_next.step_no IS NULL AND NOT (v_rules ? 'on_complete') AND NOT (v_rules ? 'on_silence')
                              THEN 'cadence_completed' END,
           paused_at = NULL,
           next_due_at = CASE WHEN v_next.step_no IS NOT NULL THEN
                             greatest(as_of, cadence.step_due(v_next.timing_kind, v_next.step_offset, v_next.day_number,
                                                              v_next.window_from, v_next.window_until, v_next.weekdays,
                                                              e.enrolled_at, as_of, v_zone)) END,
           move_due_at = CASE WHEN v_next.step_no IS NULL AND v_rules ? 'on_complete' THEN as_of
                              WHEN v_rules ? 'on_silence'
                              THEN as_of + cadence.parse_duration(v_rules -> 'on_silence' ->> 'after') END,
           move_to = CASE WHEN v_next.step_no IS NULL AND v_rules ? 'on_complete' THEN v_rules -> 'on_complete' ->> 'move_to'
                          ELSE v_rules -> 'on_silence' ->> 'move_to' END,
           move_reason = CASE WHEN v_next.step_no IS NULL AND v_rules ? 'on_complete' THEN 'cadence_completed'
                              WHEN v_rules ? 'on_silence' THEN 'silence' END
     WHERE e.tenant_id = v_enrolment.tenant_id AND e.enrolment_id = v_enrolment.enrolment_id
    RETURNING e.* INTO v_enrolment;
    RETURN v_enrolment;
END
$$;
COMMENT ON FUNCTION cadence.resume_enrolment(bigint, timestamptz) IS
  'Put a lead that was handed to a human back on its cadence, from the step it had reached';

-- Start leads on the current version of cadences, each at its own instant:
-- the first step's time, the silence clock of the cadence's rules, and for
-- a hot cadence an alert to call now (the seed's first automation rule).
-- Used by enroll(), by escalation and by moves on silence or completion;
-- set-based, so that a batch of events or a tick that moves thousands of
-- leads starts them in one statement (one lead, the common case, takes a
-- read by key and a plain INSERT instead).  The arrays are aligned; the new
-- enrolments are numbered in the order given, and their ids are returned
-- in that order.
CREATE FUNCTION cadence.start_enrolments(tenant_ids bigint[], lead_ids bigint[], cadence_keys text[],
                                         started_ats timestamptz[], previous_enrolment_ids bigint[])
RETURNS bigint[]
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_missing      text;
    v_missing_lead bigint;
    v_ids          bigint[];
    -- the new enrolments on hot cadences, which raise a new_hot_lead alert
    v_hot_tenants     bigint[];
    v_hot_leads       bigint[];
    v_hot_enrolments  bigint[];
    v_hot_starts      timestamptz[];
    -- one lead: its cadence's current version, rules, tier and first step's time
    v_version         bigint;
    v_rules           jsonb;
    v_hot             boolean;
    v_due             timestamptz;
BEGIN
    PERFORM cadence.require_aligned('tenant_ids, lead_ids, cadence_keys, started_ats, previous_enrolment_ids',
                                    cardinality(tenant_ids), cardinality(lead_ids), cardinality(cadence_keys),
                                    cardinality(started_ats), cardinality(previous_enrolment_ids));
    IF array_position(started_ats, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'an enrolment needs a start time (field "started_ats")' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- a kept plan suits a few leads; a large batch is planned for its size
    IF cardinality(lead_ids) > 100 THEN
        PERFORM pg_catalog.set_config('plan_cache_mode', 'force_custom_plan', true);
    END IF;

    -- One lead, the common case (an escalation, a move on silence, enroll()):
    -- the same enrolment as the set form below, from a read by key and a
    -- plain INSERT, which cost less to start than the set form's statement.
    IF cardinality(lead_ids) = 1 THEN
        SELECT v.cadence_version_id, v.rules, c.tier = 'hot',
               cadence.step_due(s.timing_kind, s.step_offset, s.day_number, s.window_from, s.window_until, s.weekdays,
                                started_ats[1], NULL, l.time_zone)
          INTO v_version, v_rules, v_hot, v_due
          FROM cadence.cadence c
          JOIN cadence.cadence_version v
            ON v.tenant_id = c.tenant_id AND v.cadence_key = c.cadence_key AND v.version = c.current_version
          JOIN cadence.step s ON s.tenant_id = v.tenant_id AND s.cadence_version_id = v.cadence_version_id AND s.step_no = 1
          JOIN cadence.lead l ON l.tenant_id = c.tenant_id AND l.lead_id = lead_ids[1]
         WHERE c.tenant_id = tenant_ids[1] AND c.cadence_key = cadence_keys[1];
        IF FOUND THEN
            INSERT INTO cadence.enrolment (tenant_id, lead_id, cadence_version_id, enrolled_at, next_step_no, next_due_at,
                                           previous_enrolment_id, move_due_at, move_to, move_reason)
            VALUES (tenant_ids[1], lead_ids[1], v_version, started_ats[1], 1, v_due, previous_enrolment_ids[1],
                    started_ats[1] + cadence.parse_duration(v_rules -> 'on_silence' ->> 'after'),
                    v_rules -> 'on_silence' ->> 'move_to',
                    CASE WHEN v_rules ? 'on_silence' THEN 'silence' END)
            RETURNING ARRAY[enrolment_id] INTO v_ids;
            IF v_hot THEN
                v_hot_tenants := tenant_ids;
                v_hot_leads := lead_ids;
                v_hot_enrolments := v_ids;
                v_hot_starts := started_ats;
            END IF;
        END IF;
    ELSE
    WITH started AS (
        INSERT INTO cadence.enrolment (tenant_id, lead_id, cadence_version_id, enrolled_at, next_step_no, next_due_at,
                                       previous_enrolment_id, move_due_at, move_to, move_reason)
        SELECT c.tenant_id, l.lead_id, v.cadence_version_id, i.started_at, 1,
               cadence.step_due(s.timing_kind, s.step_offset, s.day_number, s.window_from, s.window_until, s.weekdays,
                                i.started_at, NULL, l.time_zone),
               i.previous_enrolment_id,
               i.started_at + cadence.parse_duration(v.rules -> 'on_silence' ->> 'after'),
               v.rules -> 'on_silence' ->> 'move_to',
               CASE WHEN v.rules ? 'on_silence' THEN 'silence' END
          FROM unnest(tenant_ids, lead_ids, cadence_keys, started_ats, previous_enrolment_ids)
               WITH ORDINALITY AS i(tenant_id, lead_id, cadence_key, started_at, previous_enrolment_id, ord)
          JOIN cadence.cadence c ON c.tenant_id = i.tenant_id AND c.cadence_key = i.cadence_key
          JOIN cadence.cadence_version v
            ON v.tenant_id = c.tenant_id AND v.cadence_key = c.cadence_key AND v.version = c.current_version
          JOIN cadence.step s ON s.tenant_id = v.tenant_id AND s.cadence_version_id = v.cadence_version_id AND s.step_no = 1
          JOIN cadence.lead l ON l.tenant_id = i.tenant_id AND l.lead_id = i.lead_id
         ORDER BY i.ord
        RETURNING tenant_id, enrolment_id, lead_id, cadence_version_id, enrolled_at
    )
    SELECT array_agg(x.enrolment_id ORDER BY x.enrolment_id),
           array_agg(x.tenant_id ORDER BY x.enrolment_id) FILTER (WHERE x.hot),
           array_agg(x.lead_id ORDER BY x.enrolment_id) FILTER (WHERE x.hot),
           array_agg(x.enrolment_id ORDER BY x.enrolment_id) FILTER (WHERE x.hot),
           array_agg(x.enrolled_at ORDER BY x.enrolment_id) FILTER (WHERE x.hot)
      INTO v_ids, v_hot_tenants, v_hot_leads, v_hot_enrolments, v_hot_starts
      FROM (SELECT st.*, c.tier = 'hot' AS hot
              FROM started st
              JOIN cadence.cadence_version v ON v.tenant_id = st.tenant_id AND v.cadence_version_id = st.cadence_version_id
              JOIN cadence.cadence c ON c.tenant_id = v.tenant_id AND c.cadence_key = v.cadence_key) x;
    END IF;
    -- A lead or cadence that is missing starts nothing (the statement above
    -- joins them): name it.  The error undoes the enrolments made.
    IF coalesce(cardinality(v_ids), 0) < cardinality(lead_ids) THEN
        SELECT i.lead_id INTO v_missing_lead
          FROM unnest(tenant_ids, lead_ids) AS i(tenant_id, lead_id)
         WHERE NOT EXISTS (SELECT FROM cadence.lead l WHERE l.tenant_id = i.tenant_id AND l.lead_id = i.lead_id)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'lead % does not exist (field "lead_id")', coalesce(v_missing_lead::text, 'NULL')
                USING ERRCODE = 'no_data_found';
        END IF;
        SELECT i.cadence_key INTO v_missing
          FROM unnest(tenant_ids, cadence_keys) AS i(tenant_id, cadence_key)
         WHERE NOT EXISTS (SELECT FROM cadence.cadence c
                             JOIN cadence.cadence_version v
                               ON v.tenant_id = c.tenant_id AND v.cadence_key = c.cadence_key AND v.version = c.current_version
                             JOIN cadence.step s
                               ON s.tenant_id = v.tenant_id AND s.cadence_version_id = v.cadence_version_id AND s.step_no = 1
                            WHERE c.tenant_id = i.tenant_id AND c.cadence_key = i.cadence_key)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'cadence "%" does not exist (field "cadence_key")', coalesce(v_missing, 'NULL')
                USING ERRCODE = 'no_data_found';
        END IF;
        RAISE EXCEPTION 'enrolled % of the % leads given', coalesce(cardinality(v_ids), 0), cardinality(lead_ids)
            USING ERRCODE = 'internal_error';
    END IF;
    -- the first steps may be due now: the scheduler should not wait for its interval
    PERFORM cadence.wake_worker();
    IF v_hot_tenants IS NOT NULL THEN
        PERFORM cadence.raise_alerts(v_hot_tenants, v_hot_leads, v_hot_enrolments,
                                     array_fill(NULL::bigint, ARRAY[cardinality(v_hot_tenants)]),
                                     array_fill('new_hot_lead'::text, ARRAY[cardinality(v_hot_tenants)]),
                                     v_hot_starts);
    END IF;
    RETURN v_ids;
END
$$;
COMMENT ON FUNCTION cadence.start_enrolments(bigint[], bigint[], text[], timestamptz[], bigint[]) IS
  'Internal: enrol leads on the current versions of cadences (enroll, escalation and moves share it)';

-- One lead: start_enrolments() with arrays of one.  PL/pgSQL, not SQL: a SQL function
-- with a SET clause is never inlined and would be planned on every call.
CREATE FUNCTION cadence.start_enrolment(tenant_id bigint, lead_id bigint, cadence_key text, started_at timestamptz,
                                        previous_enrolment_id bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (cadence.start_enrolments(ARRAY[tenant_id], ARRAY[lead_id], ARRAY[cadence_key], ARRAY[started_at],
                                     ARRAY[previous_enrolment_id]))[1];
END
$$;
COMMENT ON FUNCTION cadence.start_enrolment(bigint, bigint, text, timestamptz, bigint) IS
  'Internal: enrol a lead on the current version of a cadence (enroll, escalation and moves share it)';
