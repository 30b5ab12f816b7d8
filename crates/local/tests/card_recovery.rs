//! `dixa/card.liquid` rendered with the `liquid` crate from fixed look-up answers with the
//! address-history fields (issue 19): accounts that moved away from the address, recent
//! events, the recovery actions and the `history` note. No backend: the JSON is the contract
//! (`docs/dixa.md`, "What the card receives"); `tests/card.rs` renders the real look-up.

mod card_fixtures;
mod common;

use card_fixtures::*;
use local::dixa_card::{CARD_FILE, render};
use serde_json::{Value, json};

const API: &str = "http://127.0.0.1:8751";
const HISTORY_NOTE: &str = "Address history is unavailable right now: an account that moved away from this address may not be listed.";

fn card() -> String {
    std::fs::read_to_string(common::workspace().join(CARD_FILE)).expect("dixa/card.liquid")
}

/// The card's markup for `response`: from its root element to the script (the style and the
/// script name every class, so absence is checked on the markup only).
fn html(response: &Value) -> String {
    let page = render(&card(), response, API).unwrap();
    let start = page
        .find("<div class=\"a0\" id=\"a0-card\"")
        .expect("the card's root");
    let end = page.find("<script>").expect("the card's script");
    page[start..end].to_owned()
}

/// Each account section's HTML (from after `class="a0-account`), in order.
fn sections(html: &str) -> Vec<&str> {
    html.split("<section class=\"a0-account")
        .skip(1)
        .map(|s| &s[..s.find("</section>").unwrap()])
        .collect()
}

/// The `data-action` of each button in `section`, in order.
fn buttons(section: &str) -> Vec<&str> {
    section
        .split("data-action=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect()
}

/// The text of the first element whose attributes start with `class="<class>"` (up to the
/// next tag).
fn text_of<'a>(html: &'a str, class: &str) -> &'a str {
    let start = html
        .find(&format!("class=\"{class}\""))
        .unwrap_or_else(|| panic!("no {class} in {html}"));
    let rest = &html[start..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    &rest[..rest.find('<').unwrap()]
}

/// The step texts of the recovery order in `section`.
fn steps(section: &str) -> Vec<&str> {
    let Some(start) = section.find("class=\"a0-steps\"") else {
        return Vec::new();
    };
    let box_ = &section[start..];
    let box_ = &box_[..box_.find("</div>").unwrap()];
    box_.split("<li data-step=\"")
        .skip(1)
        .map(|li| &li[li.find('>').unwrap() + 1..li.find("</li>").unwrap()])
        .collect()
}

fn one_moved(moved: Value, actions: Value) -> Value {
    response(
        vec![account(
            MOVED_ID,
            MOVED_TO,
            json!({"moved": moved, "actions": actions}),
        )],
        json!({}),
    )
}

fn moved_head(at: &str, by: &str, conversation: Option<&str>) -> String {
    let mut moved = json!({"at": at, "by": by});
    if let Some(c) = conversation {
        moved["conversation_id"] = json!(c);
    }
    text_of(&html(&one_moved(moved, json!(["block"]))), "a0-moved-head").to_owned()
}

#[test]
fn a_moved_account_comes_first_under_a_heading_that_says_what_happened() {
    let html = html(&moved_and_current());
    let s = sections(&html);
    assert_eq!(s.len(), 2);
    assert!(
        html.contains(">2 Auth0 accounts have used this email</p>"),
        "{html}"
    );

    // The moved one: what happened is its heading, then where its email is now.
    assert!(s[0].starts_with(" a0-moved\""), "{}", s[0]);
    assert!(s[0].contains("aria-label=\"Auth0 account moved away from this address\""));
    assert_eq!(
        text_of(s[0], "a0-moved-head"),
        "This address was moved to another email on 4 December 2026 by the customer"
    );
    assert!(s[0].contains(&format!(
        "Its email now: <span class=\"a0-email\">{MOVED_TO}</span>"
    )));
    assert!(s[0].contains(&format!("data-email=\"{MOVED_TO}\"")));
    // The recovery order, in the words of its buttons; the buttons in that order first.
    assert!(s[0].contains("<p>If the customer did not make this change:</p>"));
    assert_eq!(
        steps(s[0]),
        [
            "Give the address back",
            "Sign out everywhere",
            "Send password reset email"
        ]
    );
    assert_eq!(
        buttons(s[0]),
        [
            "restore_email",
            "sign_out_everywhere",
            "send_password_reset",
            "resend_verification",
            "change_email",
            "reset_mfa",
            "block"
        ]
    );
    assert!(s[0].contains("<dt>MFA</dt><dd data-fact=\"mfa\">1 factor</dd>"));

    // The current one: today's heading, no recovery order.
    assert!(s[1].starts_with("\""), "{}", s[1]);
    assert!(s[1].contains(&format!("<h3 class=\"a0-email\">{LOOKED_UP}</h3>")));
    assert!(!s[1].contains("a0-moved-head") && !s[1].contains("a0-steps"));
    assert_eq!(buttons(s[1]), ["sign_out_everywhere", "block"]);
    assert!(s[1].contains("<dd data-fact=\"mfa\">none</dd>"));

    // The address restore_email gives back is on the card for the script.
    assert!(html.contains(&format!("data-lookup=\"{LOOKED_UP}\"")));
    // history "ok": no note.
    assert!(!html.contains("Address history is unavailable"));
}

#[test]
fn who_moved_it_and_when_is_said_in_words() {
    assert_eq!(
        moved_head("2026-12-04T23:59:59.000Z", "agent", Some("8812345")),
        "This address was moved to another email on 4 December 2026 by a support agent (conversation 8812345)"
    );
    assert_eq!(
        moved_head("2026-12-04T10:00:00Z", "agent", None),
        "This address was moved to another email on 4 December 2026 by a support agent"
    );
    // Every month, one- and two-digit days, as sent (UTC).
    for (i, month) in common::card::MONTHS.iter().enumerate() {
        for (day, words) in [("01", "1"), ("09", "9"), ("10", "10"), ("28", "28")] {
            let at = format!("2027-{:02}-{day}T00:00:00.000Z", i + 1);
            assert_eq!(
                moved_head(&at, "customer", None),
                format!(
                    "This address was moved to another email on {words} {month} 2027 by the customer"
                ),
                "{at}"
            );
        }
    }
    // An unknown `by` and no `at`: the sentence without those parts, never a broken one.
    let bare = html(&one_moved(json!({"by": "system"}), json!(["block"])));
    assert_eq!(
        text_of(&bare, "a0-moved-head"),
        "This address was moved to another email"
    );
    // One moved account alone: no count line.
    assert!(!bare.contains("Auth0 accounts"));
}

fn with_events(events: Value) -> String {
    html(&response(
        vec![account(MOVED_ID, LOOKED_UP, json!({"events": events}))],
        json!({}),
    ))
}

fn event(date: &str, kind: &str, what: &str, country: Option<&str>, ip: Option<&str>) -> Value {
    let mut e = json!({"date": date, "type": kind, "what": what});
    if let Some(c) = country {
        e["country"] = json!(c);
    }
    if let Some(ip) = ip {
        e["ip"] = json!(ip);
    }
    e
}

#[test]
fn events_are_folded_behind_a_one_line_summary() {
    let items = [
        event(
            "2026-11-20T10:00:00.000Z",
            "sce",
            "Email changed",
            Some("Germany"),
            Some("203.0.113.7"),
        ),
        event(
            "2026-11-20T09:58:00.000Z",
            "s",
            "Successful login",
            None,
            Some("203.0.113.7"),
        ),
        event(
            "2026-11-19T08:00:00.000Z",
            "fp",
            "Failed login: <wrong> password",
            Some("DE"),
            None,
        ),
        event(
            "2026-11-02T07:05:00.000Z",
            "s",
            "Successful login",
            None,
            None,
        ),
        event(
            "2026-10-01T00:00:00Z",
            "ss",
            "Other account event (ss)",
            Some("Denmark"),
            None,
        ),
    ];
    let html = with_events(json!({"status": "ok", "items": items}));
    // Folded: a <details> without `open`, its summary the one line.
    assert!(html.contains("<details class=\"a0-events\">"), "{html}");
    assert!(!html.contains(" open"));
    assert!(
        html.contains(
            "<summary>5 recent events, newest: Email changed on 20 November 2026</summary>"
        )
    );
    // One line per event, newest first as sent: what, then when (UTC) and roughly where
    // (the country; the IP only when there is no country and the API sent one).
    let lines: Vec<String> = html
        .split("<li data-type=")
        .skip(1)
        .map(|li| {
            let li = &li[..li.find("</li>").unwrap()];
            format!(
                "{} | {}",
                text_of(li, "a0-ev-what"),
                text_of(li, "a0-ev-when")
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            "Email changed | 20 November 2026, 10:00 UTC, Germany",
            "Successful login | 20 November 2026, 09:58 UTC, IP 203.0.113.7",
            "Failed login: &lt;wrong&gt; password | 19 November 2026, 08:00 UTC, DE",
            "Successful login | 2 November 2026, 07:05 UTC",
            "Other account event (ss) | 1 October 2026, 00:00 UTC, Denmark",
        ]
    );
    assert!(html.contains("<li data-type=\"sce\">"));

    // One event: no "newest".
    let one = with_events(json!({"status": "ok", "items": [
        event("2026-11-20T10:00:00.000Z", "sce", "Email changed", None, None)]}));
    assert!(one.contains("<summary>1 recent event: Email changed on 20 November 2026</summary>"));
    // None: a line in words, nothing to unfold.
    let none = with_events(json!({"status": "ok", "items": []}));
    assert!(none.contains("data-events=\"none\">No recent events.</p>"));
    assert!(!none.contains("<details"));
}

#[test]
fn events_that_could_not_be_read_say_so() {
    let html = with_events(json!({"status": "unavailable"}));
    assert!(
        html.contains("data-events=\"unavailable\">Recent events are unavailable right now.</p>")
    );
    assert!(!html.contains("<details") && !html.contains("recent event"));
    // The second account of the fixture: only its own events are unavailable.
    let both = self::html(&moved_and_current());
    let s = sections(&both);
    assert!(s[0].contains("<details class=\"a0-events\">"));
    assert!(s[1].contains("Recent events are unavailable right now."));
}

/// Today's answer, without any of the new fields: rendered as before.
#[test]
fn an_answer_without_the_new_fields_renders_as_before() {
    let html = html(
        &json!({"found": true, "count": 1, "token_expires_in": 300, "accounts": [{
            "user_id": MOVED_ID, "email": LOOKED_UP, "email_verified": true,
            "connection": "Username-Password-Authentication", "logins_count": 3,
            "last_login": null, "created_at": "2024-01-02T03:04:05.000Z",
            "blocked": false, "brute_force_blocked": false, "brute_force_block_count": 0,
            "action_token": "t", "actions": ["send_password_reset", "change_email", "block"]
        }]}),
    );
    assert_eq!(
        buttons(sections(&html)[0]),
        ["send_password_reset", "change_email", "block"]
    );
    for new in [
        "a0-moved",
        "a0-steps",
        "a0-history",
        "a0-events",
        "data-fact=\"mfa\"",
        "data-events",
    ] {
        assert!(!html.contains(new), "{new}");
    }
    assert!(html.contains(&format!("<h3 class=\"a0-email\">{LOOKED_UP}</h3>")));
    assert!(html.contains("data-lookup=\"\""));
}

#[test]
fn each_new_button_is_there_only_when_its_action_is_listed() {
    let labels = [
        ("restore_email", "Give the address back"),
        ("sign_out_everywhere", "Sign out everywhere"),
        ("resend_verification", "Resend verification email"),
        ("reset_mfa", "Reset MFA"),
    ];
    for (action, label) in labels {
        let html = html(&one_moved(
            json!({"at": "2026-12-04T09:30:12Z", "by": "customer"}),
            json!([action]),
        ));
        let s = sections(&html);
        assert_eq!(buttons(s[0]), [action], "{action}");
        assert!(s[0].contains(&format!("data-action=\"{action}\">{label}</button>")));
        for (other, other_label) in labels.iter().filter(|(a, _)| *a != action) {
            assert!(
                !html.contains(&format!(">{other_label}</button>")),
                "{other}"
            );
        }
    }
    // Reset MFA is marked as the dangerous kind, like Block.
    let mfa = html(&response(
        vec![account(
            CURRENT_ID,
            LOOKED_UP,
            json!({"actions": ["reset_mfa"], "mfa_factors": 2}),
        )],
        json!({}),
    ));
    assert!(mfa.contains("class=\"a0-danger\" data-action=\"reset_mfa\""));
    assert!(mfa.contains("<dd data-fact=\"mfa\">2 factors</dd>"));

    // restore_email needs the looked-up address: without the answer's "email" there is no
    // button and no step for it (nothing to give back), the other steps stay.
    let mut no_address = moved_and_current();
    no_address.as_object_mut().unwrap().remove("email");
    let html = html(&no_address);
    let s = sections(&html);
    assert!(!buttons(s[0]).contains(&"restore_email"));
    assert_eq!(
        steps(s[0]),
        ["Sign out everywhere", "Send password reset email"]
    );
    assert!(html.contains("data-lookup=\"\""));

    // Only a reset listed on a moved account: a one-step order; none of the three: no order.
    let moved = json!({"at": "2026-12-04T09:30:12Z", "by": "customer"});
    let reset_only = self::html(&one_moved(moved.clone(), json!(["send_password_reset"])));
    assert_eq!(steps(&reset_only), ["Send password reset email"]);
    let none = self::html(&one_moved(moved, json!(["block"])));
    assert!(!none.contains("a0-steps"));
}

#[test]
fn history_unavailable_is_one_line_with_or_without_accounts() {
    let none = html(&none_history_unavailable());
    assert_eq!(none.matches(HISTORY_NOTE).count(), 1, "{none}");
    assert!(none.contains("No Auth0 account for this email."));
    // The note comes before what the card says about the accounts.
    assert!(none.find(HISTORY_NOTE).unwrap() < none.find("No Auth0 account").unwrap());

    let mut some = moved_and_current();
    some["history"] = json!("unavailable");
    let some = html(&some);
    assert_eq!(some.matches(HISTORY_NOTE).count(), 1);
    assert!(some.find(HISTORY_NOTE).unwrap() < some.find("<section").unwrap());

    for history in [json!("ok"), json!("off")] {
        let mut r = moved_and_current();
        r["history"] = history.clone();
        assert!(!html(&r).contains("Address history"), "{history}");
    }
}

#[test]
fn new_values_are_escaped() {
    let mut r = moved_and_current();
    r["email"] = json!("a\"><b>@example.com");
    r["accounts"][0]["moved"] =
        json!({"at": "2026-12-04T09:30:12Z", "by": "agent", "conversation_id": "<i>1</i>"});
    r["accounts"][0]["events"]["items"][0]["country"] = json!("<script>x</script>");
    r["accounts"][0]["events"]["items"][0]["type"] = json!("\"x");
    let html = html(&r);
    assert!(html.contains("data-lookup=\"a&quot;&gt;&lt;b&gt;@example.com\""));
    assert!(html.contains("(conversation &lt;i&gt;1&lt;/i&gt;)"));
    assert!(html.contains(", &lt;script&gt;x&lt;/script&gt;</span>"));
    assert!(html.contains("<li data-type=\"&quot;x\">"));
    assert!(!html.contains("<script>x") && !html.contains("<i>1"));
}
