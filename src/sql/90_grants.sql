-- cadence: install script, last part: what each role may do.  Later parts
-- may grant their own objects at their end; this file covers the rest.
REVOKE ALL ON ALL TABLES IN SCHEMA cadence FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA cadence FROM PUBLIC;
GRANT USAGE ON SCHEMA cadence TO cadence_reader;

GRANT SELECT ON ALL TABLES IN SCHEMA cadence TO cadence_reader;
GRANT EXECUTE ON FUNCTION
    cadence.current_tenant(), cadence.set_tenant(bigint, boolean), cadence.export_cadence(text, integer),
    cadence.merge_fields(), cadence.check_time_zone(text), cadence.parse_timing(text, text),
    cadence.parse_window(text, text), cadence.parse_duration(text, text), cadence.step_due(text, interval, integer, time, time, integer, timestamptz, timestamptz, text),
    cadence.plan_touch(timestamptz, text, time, time, integer, interval, timestamptz[]),
    cadence.is_allowed_at(timestamptz, text, time, time), cadence.check_template(text, text),
    cadence.render(text, jsonb), cadence.render_touch(text, text, jsonb), cadence.render_context(cadence.lead, cadence.rep, cadence.tenant),
    cadence.with_compliance_text(text, text, text, text, boolean), cadence.opt_out_line_due(bigint, bigint, text),
    cadence.opted_out_everywhere(bigint, bigint),
    cadence.consent_refusal(boolean, text[], text[], text, boolean),
    cadence.attempt_limits(bigint), cadence.attempt_allowed(bigint, bigint, text[], bigint, timestamptz, interval, integer),
    cadence.sms_keyword_kind(text), cadence.email_keyword_kind(text, text), cadence.applied_event_kind(text, jsonb),
    cadence.event_decisions(cadence.event_decision[]),
    cadence.compute_score(jsonb, cadence.lead, text[], timestamptz[], timestamptz),
    cadence.compute_score_from(jsonb, cadence.lead, double precision),
    cadence.engagement_points(jsonb, text, timestamptz, timestamptz),
    cadence.explain_score(jsonb, cadence.lead, text[], timestamptz[], timestamptz),
    cadence.default_scoring_spec(), cadence.scoring_model_for(bigint), cadence.score(bigint, timestamptz),
    cadence.score_explain(bigint, timestamptz), cadence.score_tier(integer, text, jsonb)
    TO cadence_reader;

-- The application writes leads and reps, appends consent (never rewrites
-- it), and moves touches and enrolments through the engine's functions.
GRANT INSERT, UPDATE ON cadence.rep TO cadence_app;
-- the consent state of a lead is written only by the consent ledger's trigger
GRANT INSERT (tenant_id, lead_id, external_id, first_name, last_name, email, phone, time_zone, segment, source,
              owner_rep_id, attributes, preferred_channel, last_response_at, last_engagement_at, created_at),
      UPDATE (external_id, first_name, last_name, email, phone, time_zone, segment, source,
              owner_rep_id, attributes, preferred_channel, last_response_at, last_engagement_at,
              score, tier, scored_at, score_bonus)
   ON cadence.lead TO cadence_app;
GRANT INSERT ON cadence.consent TO cadence_app;
GRANT INSERT, UPDATE ON cadence.enrolment, cadence.touch TO cadence_app;
GRANT INSERT ON cadence.event TO cadence_app;
GRANT INSERT, UPDATE ON cadence.alert TO cadence_app;
GRANT INSERT, DELETE ON cadence.scoring_run TO cadence_app;
GRANT EXECUTE ON FUNCTION
    cadence.enroll(bigint, text, timestamptz, boolean),
    cadence.record_consent(bigint, text, text, text, timestamptz, text, jsonb),
    cadence.tick(timestamptz),
    cadence.claim_touches(text[], text, integer, interval, timestamptz),
    cadence.complete_touch(bigint, text, jsonb, timestamptz),
    cadence.release_touch(bigint, text, text, timestamptz),
    cadence.consent_append_only(),
    cadence.resume_after_touches(bigint, bigint[], timestamptz),
    cadence.complete_touches(bigint[], text, jsonb, timestamptz),
    cadence.record_event(bigint, text, timestamptz, bigint, jsonb, text, text),
    cadence.resume_enrolment(bigint, timestamptz),
    cadence.start_enrolment(bigint, bigint, text, timestamptz, bigint),
    cadence.start_enrolments(bigint[], bigint[], text[], timestamptz[], bigint[]),
    cadence.raise_alert(bigint, bigint, bigint, bigint, text, timestamptz),
    cadence.raise_alerts(bigint[], bigint[], bigint[], bigint[], text[], timestamptz[]),
    cadence.require_aligned(text, integer[]),
    cadence.event_applied(),
    cadence.rescore(timestamptz), cadence.rescore_leads(bigint, bigint[], timestamptz, boolean, timestamptz[]),
    cadence.rescore_tenant_leads(bigint, timestamptz, jsonb, bigint[], timestamptz[]),
    cadence.route_rescored(bigint, cadence.rescored_lead[], numeric),
    cadence.route_lead(bigint, bigint, text, text, integer, timestamptz), cadence.lead_arrived(),
    cadence.wake_worker(), cadence.event_reads_by_key()
    TO cadence_app;
GRANT EXECUTE ON FUNCTION
    cadence.tenant_ids(), cadence.tick_tenant(bigint, timestamptz), cadence.tick_for_tenant(bigint, timestamptz),
    cadence.run_worker_tick(timestamptz),
    cadence.rescore_all(timestamptz),
    cadence.purge_old(timestamptz)
    TO cadence_worker;
GRANT DELETE ON cadence.touch, cadence.event, cadence.alert TO cadence_worker;
GRANT INSERT, UPDATE, DELETE ON cadence.tick_failure TO cadence_worker;
GRANT EXECUTE ON FUNCTION cadence.failing_tenant_ids(), cadence.note_tick_outcome(bigint, timestamptz, text, text)
    TO cadence_worker;
GRANT EXECUTE ON FUNCTION cadence.worker_stats() TO cadence_reader;

GRANT INSERT, UPDATE ON cadence.cadence, cadence.cadence_version, cadence.step TO cadence_admin;
GRANT INSERT, UPDATE, DELETE ON cadence.channel_policy, cadence.custom_event_kind, cadence.route TO cadence_admin;
GRANT INSERT ON cadence.scoring_model TO cadence_admin;
GRANT EXECUTE ON FUNCTION cadence.config_changed() TO cadence_admin;
GRANT EXECUTE ON FUNCTION
    cadence.define_cadence(jsonb), cadence.create_tenant(text),
    cadence.register_event_kind(text, boolean, boolean, boolean, text, text, text, boolean, boolean, boolean, text),
    cadence.define_scoring(jsonb, text, jsonb), cadence.compile_scoring(jsonb),
    cadence.set_route(text, text, text), cadence.drop_route(text, text),
    cadence.fit_logistic(text[], text[], double precision, integer, integer, timestamptz),
    cadence.fit_scoring_model(text[], text[], double precision, integer, boolean, integer, timestamptz, numeric),
    cadence.spec_text(jsonb, text, text, boolean), cadence.spec_check_members(jsonb, text[], text),
    cadence.spec_check_message(jsonb, text, boolean), cadence.spec_check_key(text, text),
    cadence.spec_check_rules(jsonb)
    TO cadence_admin;
