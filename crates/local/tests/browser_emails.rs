//! The outbox as a person reads it, in headless Chromium: the samples go through the whole local
//! system, then every email page is opened at phone width (375 px) and desktop width (1280 px),
//! read by its visible text, and saved as a screenshot (`target/screenshots/email-<kind>-<width>.png`;
//! the README shows the 375 px ones, copied to `templates/email/screenshots/`).

mod common;

use fantoccini::{Client, Locator};
use test_support::browser::{self, Browser};

/// The sample, then per email it leaves: kind and the heading the customer reads first.
const SAMPLES: [(&str, &[(&str, &str)]); 4] = [
    (
        "limit_wc",
        &[("account_blocked", "Your account has been blocked")],
    ),
    (
        "scp",
        &[("password_changed", "Your password has been changed")],
    ),
    (
        "sce",
        &[
            (
                "email_changed_old_address",
                "The email address for your account has been changed",
            ),
            (
                "email_changed_new_address",
                "This is now the email address for your account",
            ),
        ],
    ),
    ("fcpr", &[("hybris_password_reset", "Reset your password")]),
];

async fn text_of(c: &Client, xpath: &str) -> String {
    browser::text(c, Locator::XPath(xpath)).await
}

/// Whether the page is wider than the viewport (a phone would scroll sideways).
async fn overflows(c: &Client) -> bool {
    let v = c
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    v.as_bool().unwrap_or(true)
}

#[tokio::test]
async fn every_email_reads_well_on_a_phone_and_a_desktop() {
    let _logs = test_support::logs::logs();
    let system = common::start().await;
    let client = common::eventbridge(&system).await;
    for (sample, _) in SAMPLES {
        common::put_sample(&system, &client, sample).await;
    }
    let entries = system.outbox().entries();
    let expected: Vec<(&str, &str)> = SAMPLES
        .iter()
        .flat_map(|(_, e)| e.iter().copied())
        .collect();
    assert_eq!(entries.len(), expected.len(), "{entries:?}");

    let browser = Browser::start(375, 800).await.unwrap();
    let c = browser.client();
    for (kind, heading) in expected {
        let entry = entries.iter().find(|e| e.kind == kind).unwrap();
        let url = format!("file://{}", entry.html.display());
        for width in [375, 1280] {
            browser.set_viewport(width, 800).await.unwrap();
            c.goto(&url).await.unwrap();
            // The envelope and the email, as a mail client would show them.
            assert_eq!(text_of(c, "//h1").await, heading, "{kind}");
            assert_eq!(
                text_of(c, "//dd[@class='subject']").await,
                entry.subject,
                "{kind}"
            );
            assert_eq!(
                text_of(c, "//dt[.='To']/following-sibling::dd[1]").await,
                entry.recipient
            );
            assert!(!overflows(c).await, "{kind} is wider than {width} px");
            browser
                .screenshot_full_page(&format!("email-{kind}-{width}"))
                .await
                .unwrap();
        }
        // The request metadata is there, folded away until asked for.
        let json = c.find(Locator::XPath("//details/pre")).await.unwrap();
        assert!(
            !json.is_displayed().await.unwrap(),
            "{kind}: metadata folded"
        );
        browser::click(c, Locator::XPath("//summary[.='Request metadata']")).await;
        assert!(json.is_displayed().await.unwrap(), "{kind}: metadata opens");
        assert!(json.text().await.unwrap().contains(&entry.recipient));
    }

    // The index: newest first, each row a link to the email by its subject.
    browser.set_viewport(1280, 800).await.unwrap();
    c.goto(&format!("file://{}", system.outbox().index().display()))
        .await
        .unwrap();
    let first = text_of(c, "//table//tr[2]/td[4]").await;
    assert_eq!(&first, &entries.last().unwrap().subject, "newest first");
    browser
        .screenshot_full_page("outbox-index-1280")
        .await
        .unwrap();
    let link = "//a[.='The email address for your account has been changed']";
    browser::click(c, Locator::XPath(link)).await;
    assert_eq!(
        text_of(c, "//h1").await,
        "The email address for your account has been changed"
    );
    browser.close().await;
    system.shutdown().await;
}
