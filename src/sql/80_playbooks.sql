-- cadence: install script, part 8: ready-made playbooks.
-- A playbook is a named set of cadences, routes (segment x tier -> cadence)
-- and scoring rules, written from the seeds, that a tenant installs in one
-- call instead of starting from a blank page.  The documents live here, in
-- the install script, so the extension needs nothing else; a tenant that
-- wants changes exports a cadence, edits it and defines it again.
--
-- Message texts follow the seeds' rules: one clear next step, no pressure,
-- a fallback for every merge field, texts short enough to stay one SMS
-- (160 characters) with the opt-out line for first names up to 20
-- characters, rep first names up to 12, a business name up to 25, a vehicle
-- up to 24 and a vehicle type up to 12; email subjects under 50 characters.

-- The playbook documents.  Each is
--   {name, description, cadences: [cadence documents, in install order],
--    routes: {segment: {tier: cadence_key}}, scoring: scoring document}
CREATE FUNCTION cadence.playbook(name text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $playbook$
BEGIN
    CASE playbook.name
    WHEN 'dealership' THEN RETURN $doc$
{
  "name": "dealership",
  "description": "Car dealership: hot 7-day, warm 30-day, moderate 60-day and cold 90-day cadences, long-term nurture, one cadence per lead segment (new inbound inquiry, unsold showroom visitor, aged internet lead, service defection risk), routes by segment and tier, and scoring rules tuned for the segments.",
  "cadences": [
    {
      "key": "hot-7day",
      "name": "Hot lead: 7-day intensive",
      "description": "Score 80+ (trade-in, test drive, pre-approved financing, buying this week). A call at once, a text 5 minutes later if the call went unanswered, an email at 30 minutes if there was no response, then one touch a day for a week. Ends on an appointment, a sale, a loss or an opt-out; replies and buying signals go to a rep; after 7 silent days the lead moves to warm-30day.",
      "tier": "hot",
      "steps": [
        {"name": "first call", "channel": "call", "timing": "immediate", "goal": "conversation",
         "message": {"body": "Call {{first_name|the customer}} within 5 minutes about the {{attr.vehicle|vehicle they asked about}}. Confirm it still fits, then offer two times to see it today. No answer: leave a voicemail under 20 seconds with your direct number."}},
        {"name": "text after a missed call", "channel": "sms", "timing": "+5 minutes", "condition": "previous_call_unanswered", "goal": "reply",
         "message": {"body": "Hi {{first_name|there}}, it's {{rep_first_name|your rep}} at {{dealership}}. I just called. When could you see the {{attr.vehicle|car you asked about}}?"}},
        {"name": "details by email", "channel": "email", "timing": "+30 minutes", "condition": "no_response", "goal": "appointment",
         "message": {"subject": "{{attr.vehicle|Your car}} is ready for a test drive",
                     "body": "Hi {{first_name|there}},\n\nThe {{attr.vehicle|vehicle you asked about}} is here and ready to drive.\n\nWould today after 5 or tomorrow morning work for a 30-minute test drive? Reply with the time that suits you and I will have it ready, with the price and payment options.\n\n{{rep_name|The sales team}}\n{{dealership}}",
                     "variants": [{"subject": "Test drive the {{attr.vehicle|car}}?",
                                   "body": "Hi {{first_name|there}},\n\nThanks for asking about the {{attr.vehicle|vehicle}}. It is here, and a test drive takes about 30 minutes.\n\nReply with a time today or tomorrow and I will have it out front, with the price and payment options ready to go through.\n\n{{rep_name|The sales team}}\n{{dealership}}"}]}},
        {"name": "morning call", "channel": "call", "timing": "day 2", "window": "morning",
         "message": {"body": "Call {{first_name|the customer}}: check the {{attr.vehicle|vehicle}} is still the one, and offer two times today or tomorrow. Ask whether a trade-in or financing question is holding things up."}},
        {"name": "evening text", "channel": "sms", "timing": "day 3", "window": "evening",
         "message": {"body": "Hi {{first_name|there}}, the {{attr.vehicle|car you asked about}} is still here. Want a 30-minute test drive tomorrow? Reply with a time."}},
        {"name": "video walk-around", "channel": "video", "timing": "day 4", "window": "afternoon",
         "message": {"body": "Record a 60-second walk-around of the {{attr.vehicle|vehicle}} for {{first_name|the customer}}: outside, inside, and the one feature that fits what they told you. End with your direct number, then send it."}},
        {"name": "trade-in email", "channel": "email", "timing": "day 5", "window": "morning",
         "message": {"subject": "What your current car is worth",
                     "body": "Hi {{first_name|there}},\n\nIf you plan to trade in your current car, reply with its year, model and mileage and I will send you an estimate today. A 20-minute appraisal when you visit turns it into a firm figure.\n\nWith that number I can show you real monthly payments on the {{attr.vehicle|vehicle you asked about}}.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "midday call", "channel": "call", "timing": "day 6", "window": "midday",
         "message": {"body": "Call {{first_name|the customer}}: offer a set time this afternoon or tomorrow to drive the {{attr.vehicle|vehicle}}. If they are not ready, ask what would help them decide and note it."}},
        {"name": "closing text", "channel": "sms", "timing": "day 7", "window": "anytime",
         "message": {"body": "Hi {{first_name|there}}, if the {{attr.vehicle|car you asked about}} is still on your list, reply with a good day and I'll have it ready to drive."}}
      ],
      "rules": {
        "exit_on": ["appointment_set", "appointment_show", "sold", "lost", "opt_out"],
        "hand_off_on": ["email_reply", "sms_reply", "trade_value_request", "credit_question", "urgent_timeline"],
        "on_silence": {"after": "7 days", "move_to": "warm-30day"}
      }
    },
    {
      "key": "warm-30day",
      "name": "Warm lead: 30-day balanced",
      "description": "Score 60-79 (website inquiry, buying this month). The seed's ten touches over 30 days, every 2 to 4 days, by call, text, email and video. Three email opens in 30 days or any click moves the lead to hot-7day with 20 points more; after 30 silent days it moves to long-term-nurture.",
      "tier": "warm",
      "steps": [
        {"name": "first call", "channel": "call", "timing": "immediate", "goal": "conversation",
         "message": {"body": "Call {{first_name|the customer}} about the {{attr.vehicle|vehicle they asked about}}: confirm it is still the right fit and when they plan to buy. No answer: leave a voicemail under 20 seconds with your direct number."}},
        {"name": "text after a missed call", "channel": "sms", "timing": "+30 minutes", "condition": "previous_call_unanswered", "goal": "reply",
         "message": {"body": "Hi {{first_name|there}}, it's {{rep_first_name|your rep}} at {{dealership}}. Sorry I missed you. Is a 5-minute call later today OK?"}},
        {"name": "price and payments", "channel": "email", "timing": "day 2", "window": "morning",
         "message": {"subject": "Numbers for the {{attr.vehicle|car you asked about}}",
                     "body": "Hi {{first_name|there}},\n\nI can put together three things for the {{attr.vehicle|vehicle you asked about}}: the out-the-door price, monthly payments over 48 or 60 months, and what your trade-in could add.\n\nReply with the down payment you have in mind and I will run the exact numbers.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "questions call", "channel": "call", "timing": "day 4", "window": "09:00-11:00",
         "message": {"body": "Call {{first_name|the customer}}: ask whether they have looked at the numbers for the {{attr.vehicle|vehicle}} and which questions are left. Offer a test drive at a set time."}},
        {"name": "similar vehicles", "channel": "email", "timing": "day 7", "window": "morning",
         "message": {"subject": "Three cars like the {{attr.vehicle|one you viewed}}",
                     "body": "Hi {{first_name|there}},\n\nIn case the {{attr.vehicle|vehicle you asked about}} is not quite right, I can pick out three similar ones we have now, each with a different price, mileage or trim.\n\nWant the list? Reply yes and I will send it today.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "new arrivals", "channel": "sms", "timing": "day 10", "window": "afternoon",
         "message": {"body": "Hi {{first_name|there}}, a few new {{attr.vehicle_type|vehicles}} came in this week. Still looking? Reply YES and I'll text you photos."}},
        {"name": "test drive call", "channel": "call", "timing": "day 14", "window": "afternoon",
         "message": {"body": "Call {{first_name|the customer}}: offer a test drive of the {{attr.vehicle|vehicle}} at a set time, an evening this week or Saturday. If the timing is off, ask when to follow up and note it."}},
        {"name": "pre-approval", "channel": "email", "timing": "day 18", "window": "morning",
         "message": {"subject": "Check your rate with no credit impact",
                     "body": "Hi {{first_name|there}},\n\nIf financing is part of the decision, you can see your rate before you visit. It is a soft credit check, so your credit score is not affected, and it takes about 5 minutes.\n\nReply and I will send you the secure link.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "video message", "channel": "video", "timing": "day 21", "window": "afternoon",
         "message": {"body": "Record a 60-second video for {{first_name|the customer}}: show the {{attr.vehicle|vehicle}} and give the one reason it fits what they told you (price, space, mileage). End with your direct number."}},
        {"name": "still shopping?", "channel": "sms", "timing": "day 25", "window": "afternoon",
         "message": {"body": "Hi {{first_name|there}}, are you still shopping for a car, or should I check back next month? Either answer helps."}},
        {"name": "updated numbers", "channel": "email", "timing": "day 30", "window": "morning",
         "message": {"subject": "Updated numbers on the {{attr.vehicle|car}}",
                     "body": "Hi {{first_name|there}},\n\nPrices and manufacturer offers change at the start of each month. Tell me the monthly payment you are aiming for and I will check what the {{attr.vehicle|vehicle you asked about}}, or one close to it, would cost you now.\n\n{{rep_name|The sales team}}\n{{dealership}}"}}
      ],
      "rules": {
        "exit_on": ["appointment_set", "appointment_show", "sold", "lost", "opt_out"],
        "hand_off_on": ["email_reply", "sms_reply", "trade_value_request", "credit_question", "urgent_timeline"],
        "escalate": [{"when": {"event": "email_open", "count": 3, "within": "30 days"}, "move_to": "hot-7day", "score": 20},
                     {"when": {"event": "email_click"}, "move_to": "hot-7day", "score": 20}],
        "on_silence": {"after": "30 days", "move_to": "long-term-nurture"}
      }
    },
    {
      "key": "moderate-60day",
      "name": "Moderate lead: 60-day weekly",
      "description": "Score 40-59 (buying in 1-3 months). One touch a week for nine weeks, mostly email with a call every few weeks. A click, or two opens within 14 days, moves the lead to warm-30day; after 60 silent days it moves to long-term-nurture.",
      "tier": "moderate",
      "steps": [
        {"name": "what to expect", "channel": "email", "timing": "week 1", "window": "morning",
         "message": {"subject": "Next steps for your car search",
                     "body": "Hi {{first_name|there}},\n\nThanks for your interest in the {{attr.vehicle|vehicle you asked about}}. Since you are planning a few weeks out, I will send one short note a week with what is useful: new arrivals, prices and financing.\n\nIf anything changes before then, reply to this email and I will help right away.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "introduction call", "channel": "call", "timing": "week 2", "window": "16:00-18:00",
         "message": {"body": "Call {{first_name|the customer}}: introduce yourself, ask about their timeline, budget and must-haves for the {{attr.vehicle|vehicle}}, and whether they have a trade-in. Note the answers."}},
        {"name": "matching stock", "channel": "email", "timing": "week 3", "window": "morning",
         "message": {"subject": "New arrivals that match your search",
                     "body": "Hi {{first_name|there}},\n\nNew {{attr.vehicle_type|vehicles}} come in every week. Reply with your budget and two must-haves, and I will send you the three closest matches we have.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "questions by text", "channel": "sms", "timing": "week 4", "window": "afternoon",
         "message": {"body": "Hi {{first_name|there}}, it's {{rep_first_name|your rep}} at {{dealership}}. Any question about the {{attr.vehicle|car you asked about}} I can answer?"}},
        {"name": "financing tips", "channel": "email", "timing": "week 5", "window": "morning",
         "message": {"subject": "How to get a good rate on a car loan",
                     "body": "Hi {{first_name|there}},\n\nThree things that lower the rate on a car loan: a larger down payment, a shorter term, and checking your rate before you shop. The last one is a soft credit check and does not affect your score.\n\nReply if you would like the link to check yours.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "timeline call", "channel": "call", "timing": "week 6", "window": "16:00-18:00",
         "message": {"body": "Call {{first_name|the customer}}: ask whether their timeline has moved, and offer a test drive of the {{attr.vehicle|vehicle}} or a close match at a set time."}},
        {"name": "trade-in value", "channel": "email", "timing": "week 7", "window": "morning",
         "message": {"subject": "What your trade-in is worth today",
                     "body": "Hi {{first_name|there}},\n\nTrade-in values move from month to month. Reply with the year, model and mileage of your current car and I will send you an estimate, so you know your budget before you decide.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "shortlist offer", "channel": "sms", "timing": "week 8", "window": "afternoon",
         "message": {"body": "Hi {{first_name|there}}, still planning to buy soon? Reply with what matters most (price, payment or features) and I'll send options."}},
        {"name": "how often", "channel": "email", "timing": "week 9", "window": "morning",
         "message": {"subject": "Should I keep sending weekly notes?",
                     "body": "Hi {{first_name|there}},\n\nI have been writing once a week. If that is too often, reply \"monthly\" and I will write less. If you are ready to look at cars, reply \"ready\" and I will call you at a time you pick.\n\n{{rep_name|The sales team}}\n{{dealership}}"}}
      ],
      "rules": {
        "exit_on": ["appointment_set", "appointment_show", "sold", "lost", "opt_out"],
        "hand_off_on": ["email_reply", "sms_reply", "trade_value_request", "credit_question", "urgent_timeline"],
        "escalate": [{"when": {"event": "email_click"}, "move_to": "warm-30day", "score": 15},
                     {"when": {"event": "email_open", "count": 2, "within": "14 days"}, "move_to": "warm-30day", "score": 10}],
        "on_silence": {"after": "60 days", "move_to": "long-term-nurture"}
      }
    },
    {
      "key": "cold-90day",
      "name": "Cold lead: 90-day nurture",
      "description": "Score under 40 (researching, 3+ months out). The seed's low-touch plan in weeks 1, 2, 4, 6, 8, 10 and 12: helpful emails, one text and one call. Any open, click or reply moves the lead to warm-30day with 20 points more; after 90 silent days it moves to long-term-nurture.",
      "tier": "cold",
      "steps": [
        {"name": "welcome", "channel": "email", "timing": "week 1", "window": "morning",
         "message": {"subject": "Your car search: a short guide",
                     "body": "Hi {{first_name|there}},\n\nThanks for your interest in {{dealership}}. While you research, I will send a short, useful email every couple of weeks: new arrivals, financing and trade-in tips.\n\nIf you reply with the kind of vehicle you have in mind, I will send our one-page buying checklist for it.\n\n{{rep_name|The sales team}}"}},
        {"name": "new arrivals", "channel": "email", "timing": "week 2", "window": "morning",
         "message": {"subject": "New arrivals this week",
                     "body": "Hi {{first_name|there}},\n\nNew {{attr.vehicle_type|vehicles}} arrived this week. Reply with your budget and the features you care about, and I will send the five that match best.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "financing basics", "channel": "email", "timing": "week 4", "window": "morning",
         "message": {"subject": "Financing basics: getting a good rate",
                     "body": "Hi {{first_name|there}},\n\nA few things decide the rate you are offered: your credit score, the loan term, and the down payment. Knowing your rate before you shop makes comparing cars easier, and a soft credit check does not affect your score.\n\nReply if you would like the link.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "trade-in guide", "channel": "email", "timing": "week 6", "window": "morning",
         "message": {"subject": "Trade-in guide: getting full value",
                     "body": "Hi {{first_name|there}},\n\nThree things raise a trade-in offer: service records, a second key, and fixing small dents before the appraisal. When you would like an estimate, reply with the year, model and mileage.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "still shopping text", "channel": "sms", "timing": "week 8", "window": "afternoon",
         "message": {"body": "Hi {{first_name|there}}, it's {{rep_first_name|your rep}} at {{dealership}}. Still shopping for a {{attr.vehicle_type|car}}? Reply YES for a few options."}},
        {"name": "common questions", "channel": "email", "timing": "week 10", "window": "morning",
         "message": {"subject": "Questions our customers ask most",
                     "body": "Hi {{first_name|there}},\n\nThe three questions we hear most: Can I test drive at home? (Often, yes.) Can I get a trade-in figure before I visit? (Yes, from photos.) How long does buying take? (About two hours, less if you apply for financing first.)\n\nReply with any question of your own.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "pause or continue call", "channel": "call", "timing": "week 12", "window": "16:00-18:00",
         "message": {"body": "Call {{first_name|the customer}}: ask whether they are still in the market or would like you to pause. Respect the answer: record lost or opt-out if they are done, else note when to follow up."}}
      ],
      "rules": {
        "exit_on": ["appointment_set", "appointment_show", "sold", "lost", "opt_out"],
        "hand_off_on": ["email_reply", "sms_reply", "trade_value_request", "credit_question", "urgent_timeline"],
        "escalate": [{"when": {"event": "email_open"}, "move_to": "warm-30day", "score": 20},
                     {"when": {"event": "email_click"}, "move_to": "warm-30day", "score": 20},
                     {"when": {"event": "email_reply"}, "move_to": "warm-30day", "score": 20},
                     {"when": {"event": "sms_reply"}, "move_to": "warm-30day", "score": 20}],
        "on_silence": {"after": "90 days", "move_to": "long-term-nurture"}
      }
    },
    {
      "key": "long-term-nurture",
      "name": "Long-term nurture: monthly check-ins",
      "description": "Leads that went quiet. One short note a month for five months, then a break-up message asking whether to keep in touch; the cadence ends after it. A click moves the lead to warm-30day with 20 points more.",
      "tier": "cold",
      "steps": [
        {"name": "monthly from now on", "channel": "email", "timing": "day 15", "window": "morning",
         "message": {"subject": "Monthly note from {{dealership}}",
                     "body": "Hi {{first_name|there}},\n\nYou have not heard from us in a while, so from now on I will write once a month with what changed: prices, new arrivals and financing. When you are ready to look again, reply and I will pick up where we left off.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "prices this month", "channel": "email", "timing": "day 45", "window": "morning",
         "message": {"subject": "What changed in car prices this month",
                     "body": "Hi {{first_name|there}},\n\nA quick update: prices on {{attr.vehicle_type|vehicles}} like the one you looked at have moved since we last spoke. Reply with your budget and I will tell you what it buys today.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "seasonal text", "channel": "sms", "timing": "day 75", "window": "afternoon",
         "message": {"body": "Hi {{first_name|there}}, it's {{rep_first_name|your rep}} at {{dealership}}. Any plans to look at cars this season? Reply anytime."}},
        {"name": "current car value", "channel": "email", "timing": "day 105", "window": "morning",
         "message": {"subject": "What is your current car worth?",
                     "body": "Hi {{first_name|there}},\n\nIf you are curious what your current car would bring as a trade-in, reply with its year, model and mileage and I will send an estimate. No visit needed.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "new arrivals", "channel": "email", "timing": "day 135", "window": "morning",
         "message": {"subject": "New arrivals and what they cost",
                     "body": "Hi {{first_name|there}},\n\nHere is the short version of what is new: reply with the kind of vehicle you want and your budget, and I will send three current options with prices.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "break-up", "channel": "email", "timing": "day 165", "window": "morning", "goal": "reply",
         "message": {"subject": "Should I keep in touch?",
                     "body": "Hi {{first_name|there}},\n\nI have written a few times without hearing back, so I will assume now is not the right time and stop these monthly notes.\n\nIf you would like to hear from me again, reply \"keep me posted\" and I will. Thank you for considering {{dealership}}.\n\n{{rep_name|The sales team}}"}}
      ],
      "rules": {
        "exit_on": ["appointment_set", "appointment_show", "sold", "lost", "opt_out"],
        "hand_off_on": ["email_reply", "sms_reply", "trade_value_request", "credit_question", "urgent_timeline"],
        "escalate": [{"when": {"event": "email_click"}, "move_to": "warm-30day", "score": 20}]
      }
    },
    {
      "key": "new-inbound",
      "name": "New inbound inquiry (not hot)",
      "description": "A new web, phone or chat inquiry whose score is below hot. Answer within 5 minutes and qualify, then the seed's day 0, 1, 2, 4, 7 and 14 plan: appointment options, a call with one useful fact, a stock check-in, a remote option, a soft close. A click moves the lead to warm-30day; after 15 silent days it moves to cold-90day.",
      "segment": "new_inbound",
      "steps": [
        {"name": "qualifying call", "channel": "call", "timing": "immediate", "goal": "conversation",
         "message": {"body": "Call {{first_name|the customer}} within 5 minutes of the inquiry. Qualify: vehicle ({{attr.vehicle|not given}}), timeline, budget or payment, trade-in. No answer: leave a voicemail under 20 seconds with your direct number."}},
        {"name": "text after a missed call", "channel": "sms", "timing": "+5 minutes", "condition": "previous_call_unanswered", "goal": "reply",
         "message": {"body": "Hi {{first_name|there}}, it's {{rep_first_name|your rep}} at {{dealership}}. Thanks for reaching out. When are you hoping to buy?"}},
        {"name": "first email", "channel": "email", "timing": "+15 minutes", "condition": "no_response", "goal": "reply",
         "message": {"subject": "About the {{attr.vehicle|car you asked about}}",
                     "body": "Hi {{first_name|there}},\n\nThanks for your inquiry about the {{attr.vehicle|vehicle you asked about}}. So I can send what is useful, one question: are you hoping to buy this month, or later on?\n\nA one-line reply is plenty.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "appointment options", "channel": ["email", "sms"], "timing": "day 2", "window": "morning", "goal": "appointment",
         "message": {"subject": "Two times to see the {{attr.vehicle|car}}",
                     "body": "Hi {{first_name|there}}, would a weekday evening or Saturday morning work to see the {{attr.vehicle|car you asked about}}? Reply with either."}},
        {"name": "value call", "channel": "call", "timing": "day 3", "window": "16:00-18:00",
         "message": {"body": "Call {{first_name|the customer}} with one useful fact about the {{attr.vehicle|vehicle}} (price, availability or a payment example), then offer a time to visit. No answer: short voicemail with your direct number."}},
        {"name": "stock check-in", "channel": "sms", "timing": "day 5", "window": "midday",
         "message": {"body": "Hi {{first_name|there}}, want me to text you photos of the {{attr.vehicle|car you asked about}} and two similar ones? Just reply YES."}},
        {"name": "remote option", "channel": "email", "timing": "day 8", "window": "morning",
         "message": {"subject": "Prefer to start from home?",
                     "body": "Hi {{first_name|there}},\n\nIf a visit is hard to fit in, most of the work can happen from home: a video walk-around of the {{attr.vehicle|vehicle}}, a trade-in estimate from a few photos, and a financing check that does not affect your credit score.\n\nReply with the one that would help and I will set it up.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "soft close", "channel": "email", "timing": "day 15", "window": "morning",
         "message": {"subject": "Should I check back later?",
                     "body": "Hi {{first_name|there}},\n\nI do not want to crowd your inbox. If now is not the time, tell me when to check back (next month, in three months) and I will wait until then.\n\n{{rep_name|The sales team}}\n{{dealership}}"}}
      ],
      "rules": {
        "exit_on": ["appointment_set", "appointment_show", "sold", "lost", "opt_out"],
        "hand_off_on": ["email_reply", "sms_reply", "trade_value_request", "credit_question", "urgent_timeline"],
        "escalate": [{"when": {"event": "email_click"}, "move_to": "warm-30day", "score": 20}],
        "on_silence": {"after": "15 days", "move_to": "cold-90day"}
      }
    },
    {
      "key": "unsold-showroom-visitor",
      "name": "Unsold showroom visitor",
      "description": "Came in, did not buy. A thank-you text the same day, then the seed's day 1, 2, 4, 7 and 14 plan: find out what held them back, answer it, offer close matches and a different next step, then a soft close. A click moves the lead to hot-7day; after 15 silent days it moves to moderate-60day.",
      "segment": "unsold_showroom",
      "steps": [
        {"name": "thank-you text", "channel": "sms", "timing": "+1 hours", "goal": "reply",
         "message": {"body": "Hi {{first_name|there}}, it's {{rep_first_name|your rep}} at {{dealership}}. Thanks for visiting today. What questions can I answer?"}},
        {"name": "what held them back", "channel": "call", "timing": "day 2", "window": "morning", "goal": "appointment",
         "message": {"body": "Call {{first_name|the customer}}: thank them for the visit, ask what held them back on the {{attr.vehicle|vehicle}} (price, payment, trade-in or timing) and offer two times to come back. Bring your manager in if the numbers need another look."}},
        {"name": "numbers recap", "channel": "email", "timing": "day 3", "window": "morning",
         "message": {"subject": "Your numbers on the {{attr.vehicle|car}}",
                     "body": "Hi {{first_name|there}},\n\nThanks again for coming in. If the price, the monthly payment or the trade-in figure is what held you back, reply with the number that would work for you and I will see what I can do before your next visit.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "close matches", "channel": "sms", "timing": "day 5", "window": "afternoon",
         "message": {"body": "Hi {{first_name|there}}, if the {{attr.vehicle|car you looked at}} wasn't quite right, I can text photos of two close matches. Want them?"}},
        {"name": "different next step", "channel": "call", "timing": "day 8", "window": "16:00-18:00",
         "message": {"body": "Call {{first_name|the customer}}: offer a next step other than a showroom visit: a test drive from home, a video walk-around or a trade-in appraisal. Note which one they pick."}},
        {"name": "soft close", "channel": "email", "timing": "day 15", "window": "morning",
         "message": {"subject": "When should I check back?",
                     "body": "Hi {{first_name|there}},\n\nIt was good to meet you. If you are still deciding, tell me when to check back and I will wait until then. If you bought elsewhere, a quick reply lets me close your file.\n\n{{rep_name|The sales team}}\n{{dealership}}"}}
      ],
      "rules": {
        "exit_on": ["appointment_set", "appointment_show", "sold", "lost", "opt_out"],
        "hand_off_on": ["email_reply", "sms_reply", "trade_value_request", "credit_question", "urgent_timeline"],
        "escalate": [{"when": {"event": "email_click"}, "move_to": "hot-7day", "score": 20}],
        "on_silence": {"after": "15 days", "move_to": "moderate-60day"}
      }
    },
    {
      "key": "aged-internet-lead",
      "name": "Aged internet lead",
      "description": "An internet lead that went quiet weeks ago. A fresh start on the seed's day 0, 1, 2, 4, 7 and 14 plan: ask plainly whether they are still shopping, call with one current option, show what is in stock, offer a trade-in figure, then a soft close. A click moves the lead to warm-30day; after 15 silent days it moves to long-term-nurture.",
      "segment": "aged_internet",
      "steps": [
        {"name": "still looking?", "channel": "email", "timing": "day 1", "window": "morning", "goal": "reply",
         "message": {"subject": "Still looking for a {{attr.vehicle_type|car}}?",
                     "body": "Hi {{first_name|there}},\n\nYou asked us about the {{attr.vehicle|vehicle you were looking at}} a while ago. Are you still shopping, or did you find one?\n\nA one-word reply is fine: \"looking\" or \"done\".\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "still shopping text", "channel": "sms", "timing": "day 2", "window": "afternoon",
         "message": {"body": "Hi {{first_name|there}}, it's {{rep_first_name|your rep}} at {{dealership}}. Still shopping for a car, or all set? Either answer helps."}},
        {"name": "one current option", "channel": "call", "timing": "day 3", "window": "16:00-18:00",
         "message": {"body": "Call {{first_name|the customer}}: they asked about the {{attr.vehicle|vehicle}} a while ago. Ask whether they still need a car and what changed, then offer one current option that fits. No answer: short voicemail with your direct number."}},
        {"name": "what is in stock", "channel": "email", "timing": "day 5", "window": "morning",
         "message": {"subject": "Options like the {{attr.vehicle|car you viewed}}",
                     "body": "Hi {{first_name|there}},\n\nOur stock has changed since you last looked. Reply with your budget and I will send the three vehicles closest to the {{attr.vehicle|one you asked about}}, with prices.\n\n{{rep_name|The sales team}}\n{{dealership}}"}},
        {"name": "trade-in offer", "channel": "sms", "timing": "day 8", "window": "midday",
         "message": {"body": "Hi {{first_name|there}}, would a trade-in figure help you plan? Text me the year, model and mileage of your car and I'll send one."}},
        {"name": "soft close", "channel": "email", "timing": "day 15", "window": "morning",
         "message": {"subject": "Keep you posted, or pause?",
                     "body": "Hi {{first_name|there}},\n\nShould I keep you posted on new arrivals and prices, or pause for now? Reply \"pause\" and I will write only once a month.\n\n{{rep_name|The sales team}}\n{{dealership}}"}}
      ],
      "rules": {
        "exit_on": ["appointment_set", "appointment_show", "sold", "lost", "opt_out"],
        "hand_off_on": ["email_reply", "sms_reply", "trade_value_request", "credit_question", "urgent_timeline"],
        "escalate": [{"when": {"event": "email_click"}, "move_to": "warm-30day", "score": 20}],
        "on_silence": {"after": "15 days", "move_to": "long-term-nurture"}
      }
    },
    {
      "key": "service-defection-risk",
      "name": "Service defection risk",
      "description": "A service customer who has not been back. The seed's day 0, 1, 2, 4, 7 and 14 plan for service: a reminder, an offer to book, an advisor's call, easier times, an invitation to describe a problem, then a soft close. Booking (appointment_set) ends it; after 15 silent days the lead moves to long-term-nurture.",
      "segment": "service_defection",
      "steps": [
        {"name": "service reminder", "channel": "email", "timing": "day 1", "window": "morning", "goal": "appointment",
         "message": {"subject": "Service time for your {{attr.vehicle|car}}?",
                     "body": "Hi {{first_name|there}},\n\nIt has been a while since we saw your {{attr.vehicle|vehicle}} in our service department, and {{attr.service_due|its next routine service}} may be coming up.\n\nReply with a day that suits you and we will book it.\n\n{{rep_name|The service team}}\n{{dealership}}"}},
        {"name": "booking text", "channel": "sms", "timing": "day 2", "window": "afternoon",
         "message": {"body": "Hi {{first_name|there}}, it's {{rep_first_name|your advisor}} at {{dealership}}. Want a service slot this week? Reply with a day."}},
        {"name": "advisor call", "channel": "call", "timing": "day 3", "window": "16:00-18:00",
         "message": {"body": "Call {{first_name|the customer}} about their {{attr.vehicle|vehicle}}: ask the mileage and any warning lights or concerns, and offer two service slots this week. If they now use another shop, ask why and note it."}},
        {"name": "easier times", "channel": "sms", "timing": "day 5", "window": "midday",
         "message": {"body": "Hi {{first_name|there}}, which suits a service visit best: early morning, lunchtime or Saturday? I'll find a slot that fits."}},
        {"name": "describe a problem", "channel": "email", "timing": "day 8", "window": "morning",
         "message": {"subject": "Questions about your {{attr.vehicle|car}}?",
                     "body": "Hi {{first_name|there}},\n\nIf something about your {{attr.vehicle|vehicle}} has been bothering you (a noise, a warning light, worn tyres), reply with what you noticed. A service advisor will tell you what it probably needs and what it costs before you book.\n\n{{rep_name|The service team}}\n{{dealership}}"}},
        {"name": "soft close", "channel": "email", "timing": "day 15", "window": "morning",
         "message": {"subject": "Should we keep your service reminders?",
                     "body": "Hi {{first_name|there}},\n\nIf you now service your car elsewhere or have sold it, reply and tell us; we will update our records and stop these reminders. If you would like to keep them, there is nothing to do.\n\n{{rep_name|The service team}}\n{{dealership}}"}}
      ],
      "rules": {
        "exit_on": ["appointment_set", "appointment_show", "sold", "lost", "opt_out"],
        "hand_off_on": ["email_reply", "sms_reply", "trade_value_request", "credit_question", "urgent_timeline"],
        "on_silence": {"after": "15 days", "move_to": "long-term-nurture"}
      }
    }
  ],
  "routes": {
    "*":                 {"hot": "hot-7day", "warm": "warm-30day", "moderate": "moderate-60day", "cold": "cold-90day"},
    "new_inbound":       {"hot": "hot-7day", "warm": "warm-30day", "moderate": "new-inbound", "cold": "new-inbound"},
    "unsold_showroom":   {"hot": "hot-7day", "warm": "unsold-showroom-visitor", "moderate": "unsold-showroom-visitor", "cold": "unsold-showroom-visitor"},
    "aged_internet":     {"hot": "hot-7day", "warm": "aged-internet-lead", "moderate": "aged-internet-lead", "cold": "aged-internet-lead"},
    "service_defection": {"hot": "hot-7day", "warm": "service-defection-risk", "moderate": "service-defection-risk", "cold": "service-defection-risk"}
  },
  "scoring": {
    "base": 30,
    "fit": [
      {"label": "trade-in, test-drive or pre-approved financing inquiry", "field": "attr.inquiry_type",
       "in": ["trade_in", "test_drive", "financing_preapproved"], "points": 50},
      {"label": "buying this week", "field": "attr.timeline", "equals": "this_week", "points": 40},
      {"label": "buying this month", "field": "attr.timeline", "equals": "this_month", "points": 35},
      {"label": "buying in 1-3 months", "field": "attr.timeline", "equals": "1_3_months", "points": 15},
      {"label": "researching, 3+ months", "field": "attr.timeline", "in": ["researching", "3_months_plus"], "points": -10},
      {"label": "new inbound inquiry: fresh intent", "field": "segment", "equals": "new_inbound", "points": 10},
      {"label": "visited the showroom", "field": "segment", "equals": "unsold_showroom", "points": 20}
    ],
    "engagement": {
      "email_open": {"points": 3, "half_life": "14 days", "cap": 12},
      "email_click": {"points": 8, "half_life": "14 days", "cap": 16},
      "email_reply": {"points": 15, "half_life": "7 days", "cap": 30},
      "sms_reply": {"points": 15, "half_life": "7 days", "cap": 30},
      "call_answered": {"points": 10, "half_life": "7 days", "cap": 20},
      "trade_value_request": {"points": 20, "half_life": "14 days", "cap": 20},
      "credit_question": {"points": 20, "half_life": "14 days", "cap": 20},
      "urgent_timeline": {"points": 25, "half_life": "14 days", "cap": 25},
      "appointment_set": {"points": 30, "half_life": "30 days", "cap": 30}
    },
    "tiers": {"hot": 80, "warm": 60, "moderate": 40},
    "exit_below": 20,
    "hysteresis": 5
  }
}
$doc$::jsonb;
    WHEN 'b2b' THEN RETURN $doc$
{
  "name": "b2b",
  "description": "B2B sales team: an inbound and an outbound sequence of email, calls with voicemail and LinkedIn over three weeks, each ending with a break-up email and a move to long-term nurture; routes for the inbound and outbound segments and scoring rules for company fit and engagement.",
  "cadences": [
    {
      "key": "b2b-inbound",
      "name": "B2B inbound: 9 touches over 3 weeks",
      "description": "A prospect who asked to be contacted. A reply at once and a call within the hour, then the mid-market plan on working days, each step a set number of days after the one before it went out: LinkedIn (+1), email (+1), call and voicemail (+2), a resource (+3), call (+4), a new angle (+4), about days 1, 2, 3, 5, 8, 12 and 16. After 24 silent days a break-up email, then b2b-nurture.",
      "segment": "inbound",
      "steps": [
        {"name": "first reply", "channel": "email", "timing": "immediate", "goal": "meeting",
         "message": {"subject": "Your request to {{dealership}}",
                     "body": "Hi {{first_name|there}},\n\nThanks for getting in touch about {{attr.topic|your request}}. I will be your contact.\n\nSo the first conversation is worth your time, could we take 15 minutes tomorrow or the day after? Reply with a time that suits you and I will send an invite.\n\n{{rep_name|The team}}\n{{dealership}}"}},
        {"name": "first call", "channel": "call", "timing": "+1 hours", "window": "09:00-17:00", "days": ["mon", "tue", "wed", "thu", "fri"],
         "condition": "no_response", "goal": "meeting",
         "message": {"body": "Call {{first_name|the contact}} at {{attr.company|their company}} about their request ({{attr.topic|see the form}}). Aim: a 15-minute discovery call in the calendar. No answer: voicemail under 20 seconds with your name, one reason to call back and your number."}},
        {"name": "linkedin connection", "channel": "linkedin", "timing": "after previous +1 days", "window": "09:00-17:00", "days": ["mon", "tue", "wed", "thu", "fri"],
         "message": {"body": "Send {{first_name|the contact}} a LinkedIn connection request with a one-line note that mentions their request about {{attr.topic|our product}}. No pitch."}},
        {"name": "after the call", "channel": "email", "timing": "after previous +1 days", "window": "09:00-17:00", "days": ["mon", "tue", "wed", "thu", "fri"],
         "message": {"subject": "Following up on {{attr.topic|your request}}",
                     "body": "Hi {{first_name|there}},\n\nI tried to reach you by phone after your request. One question to start: what prompted it now - a new project, a deadline, or a problem with how things work today?\n\nA one-line reply is enough, and I will come back with something specific.\n\n{{rep_name|The team}}\n{{dealership}}"}},
        {"name": "second call", "channel": "call", "timing": "after previous +2 days", "window": "09:00-17:00", "days": ["mon", "tue", "wed", "thu", "fri"],
         "message": {"body": "Call {{first_name|the contact}}: refer to your email and ask its one question (what prompted the request). Book 15 minutes if there is interest. No answer: voicemail under 20 seconds."}},
        {"name": "resource", "channel": "email", "timing": "after previous +3 days", "window": "09:00-17:00", "days": ["mon", "tue", "wed", "thu", "fri"],
         "message": {"subject": "A short case study on {{attr.topic|this}}",
                     "body": "Hi {{first_name|there}},\n\nA company of a similar size to {{attr.company|yours}} had the same question last year. I wrote up what they changed and what it saved them on two pages.\n\nWould it be useful? Reply and I will send it.\n\n{{rep_name|The team}}\n{{dealership}}"}},
        {"name": "third call", "channel": "call", "timing": "after previous +4 days", "window": "09:00-17:00", "days": ["mon", "tue", "wed", "thu", "fri"],
         "message": {"body": "Call {{first_name|the contact}} with a new angle (cost, time saved or risk, whichever fits {{attr.company|their company}}). Ask for 15 minutes. No answer: voicemail with one sentence on that angle."}},
        {"name": "new angle", "channel": "email", "timing": "after previous +4 days", "window": "09:00-17:00", "days": ["mon", "tue", "wed", "thu", "fri"],
         "message": {"subject": "Time, cost or risk?",
                     "body": "Hi {{first_name|there}},\n\nTeams that ask about {{attr.topic|this}} usually want one of three things: to save time, to cut cost, or to reduce risk. Tell me which matters most to {{attr.company|your team}} and I will send a one-page outline of how we would approach it.\n\n{{rep_name|The team}}\n{{dealership}}"}}
      ],
      "rules": {
        "exit_on": ["appointment_set", "sold", "lost", "opt_out"],
        "hand_off_on": ["email_reply", "sms_reply", "urgent_timeline"],
        "on_silence": {"after": "24 days", "move_to": "b2b-nurture"},
        "break_up": {"channel": "email",
                     "message": {"subject": "Closing the loop",
                                 "body": "Hi {{first_name|there}},\n\nI have reached out a few times and have not heard back, so I will assume the timing is not right and stop here.\n\nIf things change, reply to this email and I will pick it up from where we left off.\n\n{{rep_name|The team}}\n{{dealership}}"}}
      }
    },
    {
      "key": "b2b-outbound",
      "name": "B2B outbound: 8 touches over 3 weeks",
      "description": "A prospect we reach out to first. The mid-market plan on working days: an intro email on a Tuesday to Thursday morning, then each step a set number of days after the one before it went out: LinkedIn (+1), call and voicemail (+1), email (+2), a resource (+3), call (+4), a new angle (+4), about days 1, 2, 3, 5, 8, 12 and 16. After 24 silent days a break-up email, then b2b-nurture.",
      "segment": "outbound",
      "steps": [
        {"name": "intro", "channel": "email", "timing": "day 1", "window": "09:00-11:00", "days": ["tue", "wed", "thu"], "goal": "reply",
         "message": {"subject": "A question about {{attr.company|your team}}",
                     "body": "Hi {{first_name|there}},\n\nAt {{dealership}} we help teams like {{attr.company|yours}} with {{attr.topic|work like yours}}.\n\nIs that on your list this quarter? If it is, would 15 minutes next week be useful? If not, a one-word reply is fine and I will not follow up.\n\n{{rep_name|The team}}\n{{dealership}}"}},
        {"name": "linkedin connection", "channel": "linkedin", "timing": "after previous +1 days", "window": "09:00-17:00", "days": ["mon", "tue", "wed", "thu", "fri"],
         "message": {"body": "Look at {{first_name|the contact}}'s LinkedIn profile and send a connection request with a short note about {{attr.company|their company}}. No pitch."}},
        {"name": "call and voicemail", "channel": "call", "timing": "after previous +1 days", "window": "09:00-17:00", "days": ["mon", "tue", "wed", "thu", "fri"], "goal": "conversation",
         "message": {"body": "Call {{first_name|the contact}} at {{attr.company|their company}}: mention your email, ask one question about how they handle {{attr.topic|this}} today. No answer: voicemail under 20 seconds with your name and number."}},
        {"name": "after the call", "channel": "email", "timing": "after previous +2 days", "window": "09:00-17:00", "days": ["mon", "tue", "wed", "thu", "fri"],
         "message": {"subject": "Following up on my call",
                     "body": "Hi {{first_name|there}},\n\nI left you a short voicemail. The question behind it: how does {{attr.company|your team}} handle {{attr.topic|this}} today, and is it working?\n\nIf a 15-minute call would help, reply with a time.\n\n{{rep_name|The team}}\n{{dealership}}"}},
        {"name": "resource", "channel": "email", "timing": "after previous +3 days", "window": "09:00-17:00", "days": ["mon", "tue", "wed", "thu", "fri"],
         "message": {"subject": "A two-page case study",
                     "body": "Hi {{first_name|there}},\n\nA company much like {{attr.company|yours}} cut the time it spent on {{attr.topic|this work}} and wrote down how. It is two pages.\n\nShall I send it? A one-word reply will do.\n\n{{rep_name|The team}}\n{{dealership}}"}},
        {"name": "second call", "channel": "call", "timing": "after previous +4 days", "window": "09:00-17:00", "days": ["mon", "tue", "wed", "thu", "fri"],
         "message": {"body": "Call {{first_name|the contact}}: refer to the case study and ask whether the problem it solved exists at {{attr.company|their company}}. No answer: voicemail with one sentence about the result in it."}},
        {"name": "new angle", "channel": "email", "timing": "after previous +4 days", "window": "09:00-17:00", "days": ["mon", "tue", "wed", "thu", "fri"],
         "message": {"subject": "A different angle on {{attr.topic|this}}",
                     "body": "Hi {{first_name|there}},\n\nMaybe time is not the issue for {{attr.company|your team}}. Some teams come to us to lower cost or to reduce risk instead. If either of those is on your list, reply with which and I will send a one-page outline.\n\n{{rep_name|The team}}\n{{dealership}}"}}
      ],
      "rules": {
        "exit_on": ["appointment_set", "sold", "lost", "opt_out"],
        "hand_off_on": ["email_reply", "sms_reply", "urgent_timeline"],
        "on_silence": {"after": "24 days", "move_to": "b2b-nurture"},
        "break_up": {"channel": "email",
                     "message": {"subject": "Closing the loop",
                                 "body": "Hi {{first_name|there}},\n\nI have written a few times without hearing back, so I will take it that the timing is not right and stop here.\n\nIf that changes, reply to this email and I will be glad to pick it up.\n\n{{rep_name|The team}}\n{{dealership}}"}}
      }
    },
    {
      "key": "b2b-nurture",
      "name": "B2B long-term nurture: monthly",
      "description": "After a sequence ends without an answer. One useful note a month for five months and a LinkedIn touch, then a last message asking whether to stay in touch; the cadence ends after it. Replies and clicks go to a rep.",
      "steps": [
        {"name": "one idea", "channel": "email", "timing": "day 31", "window": "morning", "days": ["tue", "wed", "thu"],
         "message": {"subject": "One idea for {{attr.company|your team}}",
                     "body": "Hi {{first_name|there}},\n\nNo ask this time, just one idea that has worked for teams like {{attr.company|yours}}: measure how long {{attr.topic|the work}} takes today before changing anything. It makes any later decision much easier.\n\n{{rep_name|The team}}\n{{dealership}}"}},
        {"name": "what others changed", "channel": "email", "timing": "day 61", "window": "morning", "days": ["tue", "wed", "thu"],
         "message": {"subject": "What similar teams changed this quarter",
                     "body": "Hi {{first_name|there}},\n\nA short summary of what teams like {{attr.company|yours}} changed this quarter, and what it did for them, is ready. Reply if you would like a copy.\n\n{{rep_name|The team}}\n{{dealership}}"}},
        {"name": "linkedin touch", "channel": "linkedin", "timing": "day 91", "window": "09:00-17:00", "days": ["mon", "tue", "wed", "thu", "fri"],
         "message": {"body": "Look at {{first_name|the contact}}'s recent LinkedIn activity. If there is something you can add to, comment or send a short note; otherwise mark this done without contact."}},
        {"name": "checklist", "channel": "email", "timing": "day 121", "window": "morning", "days": ["tue", "wed", "thu"],
         "message": {"subject": "A short checklist you can keep",
                     "body": "Hi {{first_name|there}},\n\nWhen {{attr.topic|this}} comes back on the agenda, these five questions help any team choose well. Reply and I will send the one-page checklist.\n\n{{rep_name|The team}}\n{{dealership}}"}},
        {"name": "back on the list?", "channel": "email", "timing": "day 151", "window": "morning", "days": ["tue", "wed", "thu"],
         "message": {"subject": "Is {{attr.topic|this}} back on your list?",
                     "body": "Hi {{first_name|there}},\n\nPlans change over a few months. If {{attr.topic|this}} is back on the list at {{attr.company|your company}}, reply with a time for a 15-minute call.\n\n{{rep_name|The team}}\n{{dealership}}"}},
        {"name": "stay in touch?", "channel": "email", "timing": "day 181", "window": "morning", "days": ["tue", "wed", "thu"], "goal": "reply",
         "message": {"subject": "Should I stay in touch?",
                     "body": "Hi {{first_name|there}},\n\nThis is my last note for now. If you would like to hear from me now and then, reply \"stay in touch\". Otherwise, thank you for your time, and all the best.\n\n{{rep_name|The team}}\n{{dealership}}"}}
      ],
      "rules": {
        "exit_on": ["appointment_set", "sold", "lost", "opt_out"],
        "hand_off_on": ["email_reply", "sms_reply", "email_click", "urgent_timeline"]
      }
    }
  ],
  "routes": {
    "inbound":  {"hot": "b2b-inbound", "warm": "b2b-inbound", "moderate": "b2b-inbound", "cold": "b2b-inbound"},
    "outbound": {"hot": "b2b-outbound", "warm": "b2b-outbound", "moderate": "b2b-outbound", "cold": "b2b-outbound"}
  },
  "scoring": {
    "base": 30,
    "fit": [
      {"label": "inbound: asked to be contacted", "field": "segment", "equals": "inbound", "points": 20},
      {"label": "decision maker", "field": "attr.seniority", "in": ["owner", "founder", "c_level", "vp", "director", "head"], "points": 15},
      {"label": "mid-market company (50-1000 staff)", "field": "attr.employees", "range": [50, 1000], "points": 10},
      {"label": "project this quarter", "field": "attr.timeline", "equals": "this_quarter", "points": 20},
      {"label": "researching, next year", "field": "attr.timeline", "in": ["researching", "next_year"], "points": -10}
    ],
    "engagement": {
      "email_open": {"points": 2, "half_life": "14 days", "cap": 8},
      "email_click": {"points": 8, "half_life": "14 days", "cap": 16},
      "email_reply": {"points": 20, "half_life": "14 days", "cap": 30},
      "call_answered": {"points": 10, "half_life": "14 days", "cap": 20},
      "urgent_timeline": {"points": 25, "half_life": "30 days", "cap": 25},
      "appointment_set": {"points": 30, "half_life": "30 days", "cap": 30}
    },
    "tiers": {"hot": 80, "warm": 60, "moderate": 40},
    "exit_below": 20,
    "hysteresis": 5
  }
}
$doc$::jsonb;
    ELSE
        RAISE EXCEPTION 'unknown playbook "%" in field "name"', coalesce(playbook.name, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Playbooks: b2b, dealership (see cadence.playbooks()).';
    END CASE;
END
$playbook$;
COMMENT ON FUNCTION cadence.playbook(text) IS
  'The document of a ready-made playbook: its cadences, routes (segment -> tier -> cadence) and scoring rules; 22023 for an unknown name';

CREATE FUNCTION cadence.playbooks()
RETURNS TABLE (name text, description text, cadences text[])
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT n.name, d.doc ->> 'description',
           ARRAY(SELECT c.spec ->> 'key'
                   FROM jsonb_array_elements(d.doc -> 'cadences') WITH ORDINALITY AS c(spec, ord)
                  ORDER BY c.ord)
      FROM unnest(ARRAY['dealership', 'b2b']) WITH ORDINALITY AS n(name, ord)
     CROSS JOIN LATERAL (SELECT cadence.playbook(n.name) AS doc) d
     ORDER BY n.ord;
END;
COMMENT ON FUNCTION cadence.playbooks() IS
  'The ready-made playbooks cadence.install_playbook() knows, with a description and the cadences each installs';

-- Install a playbook in the current tenant, all or nothing: every cadence as
-- its next version, the routes (replacing the tenant's routes for the same
-- segment and tier), the scoring rules as the next version; then the
-- tenant's leads are rescored at as_of under the new rules, so tiers and
-- routes take effect now (cadence.rescore, one row in cadence.scoring_run).
CREATE FUNCTION cadence.install_playbook(name text, as_of timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE (kind text, key text, version integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_doc     jsonb;
    v_spec    jsonb;
    v_segment text;
    v_tiers   jsonb;
    v_tier    text;
    v_target  text;
    v_version_id bigint;
BEGIN
    IF as_of IS NULL OR NOT isfinite(as_of) THEN
        RAISE EXCEPTION 'as_of must be a finite time (field "as_of")' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_doc := cadence.playbook(install_playbook.name);

    FOR v_spec IN SELECT c.spec FROM jsonb_array_elements(v_doc -> 'cadences') WITH ORDINALITY AS c(spec, ord)
                   ORDER BY c.ord LOOP
        v_version_id := cadence.define_cadence(v_spec);
        kind := 'cadence';
        key := v_spec ->> 'key';
        SELECT cv.version INTO version
          FROM cadence.cadence_version cv
         WHERE cv.tenant_id = cadence.current_tenant() AND cv.cadence_version_id = v_version_id;
        RETURN NEXT;
    END LOOP;

    FOR v_segment, v_tiers IN SELECT s.key, s.value FROM jsonb_each(v_doc -> 'routes') AS s ORDER BY s.key LOOP
        FOR v_tier, v_target IN
            SELECT t.key, t.value #>> '{}' FROM jsonb_each(v_tiers) AS t
             ORDER BY array_position(ARRAY['hot', 'warm', 'moderate', 'cold'], t.key) LOOP
            PERFORM cadence.drop_route(v_segment, v_tier);
            PERFORM cadence.set_route(v_segment, v_tier, v_target);
            kind := 'route';
            key := format('%s/%s -> %s', v_segment, v_tier, v_target);
            version := NULL;
            RETURN NEXT;
        END LOOP;
    END LOOP;

    IF v_doc ? 'scoring' THEN
        kind := 'scoring';
        key := 'scoring_model';
        version := cadence.define_scoring(v_doc -> 'scoring');
        RETURN NEXT;
    END IF;

    PERFORM cadence.rescore(install_playbook.as_of);
END
$$;
COMMENT ON FUNCTION cadence.install_playbook(text, timestamptz) IS
  'Install a ready-made playbook in the current tenant, all or nothing: its cadences as new versions, its routes (replacing those of the same segment and tier) and its scoring rules, then rescore the leads at as_of; returns what was installed';

GRANT EXECUTE ON FUNCTION cadence.install_playbook(text, timestamptz) TO cadence_admin;
GRANT EXECUTE ON FUNCTION cadence.playbooks(), cadence.playbook(text) TO cadence_reader;
