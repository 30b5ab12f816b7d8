//! `dixa/card.liquid` rendered with the `liquid` crate for real look-up answers (the local
//! system's dixa-get-user against the seeded Auth0 sandbox), and the preview routes.

mod common;

use local::dixa_card::{API_URL_LINE, CARD_FILE, render, response_variable};
use serde_json::{Value, json};
// See tests/dixa.rs: every test of a binary installs a capture.
use test_support::logs::logs;

const API: &str = "http://127.0.0.1:8751";

fn card() -> String {
    std::fs::read_to_string(common::workspace().join(CARD_FILE)).expect("dixa/card.liquid")
}

async fn lookup(system: &local::LocalSystem, email: &str) -> Value {
    let d = system.dixa_secrets();
    let url = format!(
        "{}/lookup?email={}&csid=8812345&agent=agent%40shop.example",
        system.endpoints().api.as_ref().unwrap(),
        lambda_support::encode_component(email)
    );
    let res = lambda_support::http::client_builder()
        .build()
        .unwrap()
        .get(url)
        .header(&d.lookup_header, &d.lookup_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    res.json().await.unwrap()
}

/// The card `template` renders for the look-up of `email`.
async fn card_for(system: &local::LocalSystem, template: &str, email: &str) -> String {
    render(template, &lookup(system, email).await, API).unwrap()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// The buttons of each account section, in order.
fn buttons_per_account(html: &str) -> Vec<Vec<String>> {
    html.split("<section class=\"a0-account\"")
        .skip(1)
        .map(|section| {
            section[..section.find("</section>").unwrap()]
                .split("data-action=\"")
                .skip(1)
                .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn the_card_renders_for_one_several_none_blocked_and_social() {
    let _logs = logs();
    let system = common::start().await;
    let template = card();

    // One database account, nothing blocked.
    let one = card_for(&system, &template, "maria.rossi@example.com").await;
    assert_eq!(count(&one, "<section class=\"a0-account\""), 1);
    assert!(one.contains(">maria.rossi@example.com</h3>"));
    assert!(one.contains("Email verified"));
    assert!(one.contains("2026-11-20 09:00 UTC"), "last login");
    assert!(one.contains("2022-09-10"), "created");
    assert!(!one.contains(">Blocked by an admin</span>"));
    assert!(!one.contains(">Brute-force blocked ("));
    // The recovery actions the look-up lists (issue 19) sit among today's: sign-out is always
    // offered, an MFA reset because Maria has factors.
    assert_eq!(
        buttons_per_account(&one),
        [[
            "sign_out_everywhere",
            "send_password_reset",
            "change_email",
            "reset_mfa",
            "block"
        ]]
    );
    // What the look-up now adds: the looked-up address (for restore_email), the MFA count and
    // the recent events folded behind their summary; nothing moved, the history was read.
    assert!(one.contains("data-lookup=\"maria.rossi@example.com\""));
    assert!(one.contains("<dd data-fact=\"mfa\">2 factors</dd>"));
    assert!(one.contains(
        "<summary>4 recent events, newest: Password changed on 20 November 2026</summary>"
    ));
    assert!(one.contains("20 November 2026, 09:58 UTC, Italy"));
    assert!(!one.contains("<h3 class=\"a0-moved-head\""));
    assert!(!one.contains("Address history is unavailable right now"));
    assert!(one.contains(&format!("data-api=\"{API}\"")));
    assert!(one.contains("The buttons work for 5 min"));
    assert!(!one.contains("Auth0 accounts use this email"));

    // Several: the database and the Google account of one address. Only the database account
    // is asked for brute-force blocks (the protection is a database connection's; issue 19:
    // no blocks call for an account without a database identity).
    let several = card_for(&system, &template, "jane+shop@example.com").await;
    assert!(several.contains("2 Auth0 accounts use this email"));
    assert_eq!(count(&several, "<section class=\"a0-account\""), 2);
    assert_eq!(count(&several, "Brute-force blocked (1)"), 1);
    assert_eq!(
        buttons_per_account(&several),
        [
            vec![
                "clear_brute_force_blocks",
                "sign_out_everywhere",
                "send_password_reset",
                "change_email",
                "block"
            ],
            vec!["sign_out_everywhere", "block"],
        ]
    );
    assert_eq!(count(&several, "No password here"), 1);
    // No factors, no events in the sandbox's logs: said in words, nothing to reset or unfold.
    assert_eq!(count(&several, "<dd data-fact=\"mfa\">none</dd>"), 2);
    assert_eq!(count(&several, ">No recent events.</p>"), 2);
    // Each section carries its own account's token.
    let tokens: Vec<&str> = several.split("data-token=\"").skip(1).collect();
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0][..40], tokens[1][..40]);

    // None.
    let none = card_for(&system, &template, "nobody@example.com").await;
    assert!(none.contains("No Auth0 account for this email."));
    assert_eq!(count(&none, "<section"), 0);
    assert!(none.contains("data-ttl=\"0\""));

    // Blocked by an admin: the badge and Unblock, not Block.
    let blocked = card_for(&system, &template, "blocked.by.admin@example.com").await;
    assert!(blocked.contains(">Blocked by an admin</span>"));
    assert_eq!(
        buttons_per_account(&blocked),
        [[
            "unblock",
            "sign_out_everywhere",
            "send_password_reset",
            "change_email"
        ]]
    );

    // Brute-force blocked from two IPs: the count is on the badge.
    let locked = card_for(&system, &template, "lee.locked@example.com").await;
    assert!(locked.contains(">Brute-force blocked (2)</span>"));

    // Social only: no reset, no email change, and a sentence saying why.
    let social = card_for(&system, &template, "sam.social@example.com").await;
    assert_eq!(
        buttons_per_account(&social),
        [["sign_out_everywhere", "block"]]
    );
    assert!(social.contains("signs in through google-oauth2"));
    system.shutdown().await;
}

#[test]
fn values_are_escaped_and_missing_fields_have_words() {
    let response = json!({"found": true, "count": 1, "token_expires_in": 300, "accounts": [{
        "user_id": "auth0|\"><script>alert(1)</script>", "email": null, "email_verified": false,
        "connection": null, "logins_count": 0, "last_login": null, "created_at": null,
        "blocked": false, "brute_force_blocked": false, "brute_force_block_count": 0,
        "action_token": "a\"b", "actions": ["block"]
    }]});
    let html = render(&card(), &response, API).unwrap();
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("auth0|&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("data-token=\"a&quot;b\""));
    assert!(html.contains("(no email address)"));
    assert!(html.contains("Email not verified"));
    assert!(html.contains("<dd>never</dd>"));
    assert!(html.contains("<dd>unknown</dd>"));
}

/// The card must stay within the Liquid both Liqp (Dixa) and the `liquid` crate know: a new
/// tag or filter needs checking against Liqp first.
#[test]
fn the_card_uses_only_the_shared_liquid_subset() {
    let template = card();
    const TAGS: &[&str] = &[
        "comment",
        "endcomment",
        "assign",
        "if",
        "elsif",
        "else",
        "endif",
        "unless",
        "endunless",
        "for",
        "endfor",
    ];
    const FILTERS: &[&str] = &["escape", "slice", "replace", "divided_by"];
    let mut tags = 0;
    for tag in template.split("{%").skip(1) {
        let name = tag
            .trim_start_matches('-')
            .split_whitespace()
            .next()
            .unwrap();
        assert!(TAGS.contains(&name), "tag {name} in {CARD_FILE}");
        tags += 1;
    }
    assert!(tags > 10);
    for output in template.split("{{").skip(1) {
        let output = &output[..output.find("}}").unwrap()];
        for filter in output.split('|').skip(1) {
            let name = filter.split([':', ' ']).find(|s| !s.is_empty()).unwrap();
            assert!(FILTERS.contains(&name), "filter {name} in {CARD_FILE}");
        }
    }
    // No whitespace control (`{%-`): older Liqp releases do not have it.
    assert!(!template.contains("{%-") && !template.contains("-%}"));
    assert!(!template.contains("{{-") && !template.contains("-}}"));
    // The two lines a person edits when pasting the card into Dixa.
    assert_eq!(template.matches(API_URL_LINE).count(), 1);
    assert_eq!(response_variable(&template).unwrap(), "data");
    // Self-contained: nothing fetched from elsewhere but the API.
    for external in ["<link", "src=\"http", "@import", "url(", "fonts.g"] {
        assert!(!template.contains(external), "{external}");
    }
}

#[tokio::test]
async fn the_preview_serves_the_sandboxed_page_and_the_rendered_frame() {
    let _logs = logs();
    let system = common::start().await;
    let api = system.endpoints().api.clone().unwrap();
    let http = lambda_support::http::client_builder().build().unwrap();
    let get = async |path: &str| {
        let res = http.get(format!("{api}{path}")).send().await.unwrap();
        let status = res.status().as_u16();
        let cache = res
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, cache, res.text().await.unwrap())
    };

    let (status, cache, page) = get("/dixa/card?email=maria.rossi%40example.com").await;
    assert_eq!(status, 200);
    assert_eq!(cache.as_deref(), Some("no-store"));
    assert!(page.contains("sandbox=\"allow-scripts\" src=\"/dixa/card/frame?email=maria.rossi%40example.com&amp;csid=preview-1&amp;agent=agent%40shop.example\""), "{page}");
    let (_, _, same) = get("/dixa/card?email=maria.rossi%40example.com&mode=same-origin").await;
    assert!(same.contains("sandbox=\"allow-scripts allow-same-origin\""));
    let (status, _, _) = get("/dixa/card?email=maria.rossi%40example.com&mode=open").await;
    assert_eq!(status, 400);
    let (status, _, _) = get("/dixa/card").await;
    assert_eq!(status, 400);

    let (status, cache, frame) =
        get("/dixa/card/frame?email=maria.rossi%40example.com&csid=77").await;
    assert_eq!(status, 200, "{frame}");
    assert_eq!(cache.as_deref(), Some("no-store"));
    assert!(frame.contains(">maria.rossi@example.com</h3>"));
    assert!(frame.contains(&format!("data-api=\"{api}\"")));
    // An invalid csid is the look-up's 400, shown as the error Dixa would show.
    let (status, _, error) =
        get("/dixa/card/frame?email=maria.rossi%40example.com&csid=a%20b").await;
    assert_eq!(status, 502);
    assert!(error.contains("400"), "{error}");
    system.shutdown().await;
}
