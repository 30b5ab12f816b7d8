//! The look-up row (issue 19 item 7): how many Auth0 round trips dixa-get-user's look-up
//! waits for one after another. Its module docs promise two whatever the number of accounts:
//! `users-by-email` beside the email-history read, then every account's blocks, logs and
//! authentication methods at once.
//!
//! The function's release binary runs under the Runtime API emulator as in the main table,
//! against an Auth0 on wiremock that holds every answer back [`AUTH0_DELAY`], for an address
//! with two database accounts (so both are asked for blocks: three calls each in round 2).
//! The email history is on DynamoDB as in production, a table on moto (`MOTO_ENDPOINT`, or a
//! moto server started for the row); without moto the row runs with the history off and says
//! so. The table is empty: the read is made and answered, and no account has moved.
//!
//! Each Auth0 request's arrival is recorded. Its answer leaves [`AUTH0_DELAY`] later, so a
//! request that arrived at least that long after another may have waited for it: its round is
//! one more than the latest such request's. The number of rounds is the longest chain of
//! requests each sent after the previous one was answered, whatever the machine's speed.

use serde_json::{Value, json};
use std::{
    path::Path,
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use test_support::auth0::{self, EMAIL, USER, USER_ENCODED};
use test_support::dixa::{self, LOOKUP_SECRET};
use test_support::runtime::{LambdaProcess, Outcome};
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{any, method, path},
};

/// How long the Auth0 stub holds back every answer.
pub const AUTH0_DELAY: Duration = Duration::from_millis(60);
/// Warm look-ups measured, after one cold look-up (whose token fetch is not the look-up's).
pub const RUNS: usize = 5;
/// The second database account of the address (another database connection).
const SECOND_USER: &str = "auth0|5f2b1c0ffee0123456789dcba";
const SECOND_USER_ENCODED: &str = "auth0%7C5f2b1c0ffee0123456789dcba";
const TIMEOUT: Duration = Duration::from_secs(10);

/// What the look-up row prints.
pub struct LookupFigures {
    /// Where the email history was, in words.
    pub history: String,
    pub accounts: usize,
    /// Wall time of each warm look-up, as the Runtime API saw it.
    pub wall: Vec<Duration>,
    /// The warm look-up with the most rounds: its Auth0 requests ("METHOD path") per round.
    pub rounds: Vec<Vec<String>>,
    /// The fewest rounds any warm look-up took (equal to `rounds.len()` when all agree).
    pub fewest_rounds: usize,
    /// Auth0 requests per warm look-up (the most any made).
    pub requests: usize,
}

/// One recorded Auth0 request: when it arrived and what it asked.
type Arrival = (Instant, String);

/// Answers with `answer` after [`AUTH0_DELAY`], noting the request's arrival first (wiremock
/// calls a responder when the request has arrived and applies the delay afterwards).
struct Recorded {
    log: Arc<Mutex<Vec<Arrival>>>,
    answer: ResponseTemplate,
}

impl Respond for Recorded {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).push((
            Instant::now(),
            format!("{} {}", request.method, request.url.path()),
        ));
        self.answer.clone().set_delay(AUTH0_DELAY)
    }
}

async fn auth0_stub(log: &Arc<Mutex<Vec<Arrival>>>) -> MockServer {
    let server = MockServer::start().await;
    let recorded = |answer: ResponseTemplate| Recorded {
        log: log.clone(),
        answer,
    };
    let json = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    let mut second = auth0::user(SECOND_USER, EMAIL);
    second["identities"][0]["connection"] = json!("Legacy-Customers");
    let mut answers = vec![
        (
            "POST",
            "/oauth/token".to_owned(),
            auth0::token_response("t", 86_400),
        ),
        (
            "GET",
            "/api/v2/users-by-email".to_owned(),
            json(json!([auth0::user(USER, EMAIL), second])),
        ),
    ];
    for id in [USER_ENCODED, SECOND_USER_ENCODED] {
        answers.extend([
            (
                "GET",
                format!("/api/v2/user-blocks/{id}"),
                json(json!({"blocked_for": []})),
            ),
            (
                "GET",
                format!("/api/v2/users/{id}/logs"),
                json(auth0::security_logs()),
            ),
            (
                "GET",
                format!("/api/v2/users/{id}/authentication-methods"),
                json(json!([auth0::totp_factor()])),
            ),
        ]);
    }
    for (verb, at, answer) in answers {
        Mock::given(method(verb))
            .and(path(at))
            .respond_with(recorded(answer))
            .mount(&server)
            .await;
    }
    // Anything else is counted too (and fails the look-up's check).
    Mock::given(any())
        .respond_with(recorded(ResponseTemplate::new(404)))
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    server
}

/// Whether a moto server can be had: `MOTO_ENDPOINT`, or moto importable by the Python that
/// `test_support::moto::server` starts (which panics when it cannot).
fn moto_available() -> bool {
    if std::env::var("MOTO_ENDPOINT").is_ok_and(|e| !e.is_empty()) {
        return true;
    }
    let python = std::env::var("MOTO_PYTHON").unwrap_or_else(|_| "python3".into());
    Command::new(python)
        .args(["-c", "import moto.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The email history's table on moto, as `EmailHistoryTable` in the template declares it.
async fn create_history_table(endpoint: &str) -> String {
    let dynamo = aws_sdk_dynamodb::Client::new(&test_support::aws::sdk_config(endpoint).await);
    let table = test_support::unique("bench-email-history");
    test_support::aws::create_email_history_table(&dynamo, &table).await;
    table
}

/// The card the look-up answered, checked complete: every account found, with its events and
/// MFA factors, and the history in the state the row says.
fn check_card(outcome: Outcome, accounts: usize, history: &str) -> Result<(), String> {
    let response = match outcome {
        Outcome::Response(r) => r,
        Outcome::Error {
            error_type,
            error_message,
        } => return Err(format!("look-up failed: {error_type}: {error_message}")),
    };
    let status = response["statusCode"].as_u64();
    let card: Value = response["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    let complete = |a: &Value| a["events"]["status"] == "ok" && a["mfa_factors"].is_u64();
    let ok = status == Some(200)
        && card["count"] == json!(accounts)
        && card["history"] == history
        && card["accounts"]
            .as_array()
            .is_some_and(|all| all.iter().all(complete));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "look-up answered {status:?} with a card that is not the full one (history {history:?} expected): {}",
            response["body"]
        ))
    }
}

/// The round of each request, in arrival order (see the module docs).
pub fn rounds(arrivals: &[Arrival], delay: Duration) -> Vec<Vec<String>> {
    let mut sorted = arrivals.to_vec();
    sorted.sort_by_key(|(at, _)| *at);
    let mut round_of: Vec<usize> = Vec::with_capacity(sorted.len());
    for (at, _) in &sorted {
        let round = sorted
            .iter()
            .zip(&round_of)
            .filter(|((earlier, _), _)| *earlier + delay <= *at)
            .map(|(_, round)| round + 1)
            .max()
            .unwrap_or(1);
        round_of.push(round);
    }
    let mut grouped: Vec<Vec<String>> =
        vec![Vec::new(); round_of.iter().copied().max().unwrap_or(0)];
    for ((_, call), round) in sorted.into_iter().zip(round_of) {
        grouped[round - 1].push(call);
    }
    grouped
}

/// Runs the look-up row with the binaries in `release`.
pub async fn measure(release: &Path) -> Result<LookupFigures, String> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let auth0 = auth0_stub(&log).await;
    // Held until the row is done: a moto server this row started stops when it drops.
    let moto = if moto_available() {
        Some(test_support::moto::server().await)
    } else {
        None
    };
    let (history, history_state, mut env) = match &moto {
        Some(moto) => {
            let table = create_history_table(moto.endpoint()).await;
            let mut env = test_support::aws::env_for(moto.endpoint());
            env.extend(dixa::history_env(&table));
            ("DynamoDB on moto (empty table)".to_owned(), "ok", env)
        }
        None => (
            "off (moto not installed: `cargo xtask test` installs it)".to_owned(),
            "off",
            Vec::new(),
        ),
    };
    env.push(("AWS_LAMBDA_LOG_LEVEL", "WARN".into()));
    env.extend(dixa::env(&auth0.uri(), &[]));
    let accounts = 2;
    let binary = release.join("dixa-get-user").to_string_lossy().into_owned();
    let event = test_support::apigw::lookup_event(EMAIL, Some(LOOKUP_SECRET));
    let mut lambda = LambdaProcess::spawn(&binary, "dixa-get-user", &env).await;
    check_card(
        lambda.invoke(event.clone(), TIMEOUT).await,
        accounts,
        history_state,
    )?;
    let mut figures = LookupFigures {
        history,
        accounts,
        wall: Vec::with_capacity(RUNS),
        rounds: Vec::new(),
        fewest_rounds: usize::MAX,
        requests: 0,
    };
    for _ in 0..RUNS {
        let before = log.lock().unwrap_or_else(|e| e.into_inner()).len();
        let start = Instant::now();
        let outcome = lambda.invoke(event.clone(), TIMEOUT).await;
        figures.wall.push(start.elapsed());
        check_card(outcome, accounts, history_state)?;
        let arrivals: Vec<Arrival> =
            log.lock().unwrap_or_else(|e| e.into_inner())[before..].to_vec();
        let grouped = rounds(&arrivals, AUTH0_DELAY);
        figures.fewest_rounds = figures.fewest_rounds.min(grouped.len());
        figures.requests = figures.requests.max(arrivals.len());
        if grouped.len() > figures.rounds.len() {
            figures.rounds = grouped;
        }
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Duration = Duration::from_millis(60);

    fn at(start: Instant, ms: u64, call: &str) -> Arrival {
        (start + Duration::from_millis(ms), call.to_owned())
    }

    #[test]
    fn requests_sent_before_an_answer_share_its_round() {
        let t = Instant::now();
        let arrivals = [
            at(t, 0, "users-by-email"),
            at(t, 62, "blocks a"),
            at(t, 63, "logs a"),
            at(t, 64, "blocks b"),
        ];
        assert_eq!(
            rounds(&arrivals, D),
            [
                vec!["users-by-email"],
                vec!["blocks a", "logs a", "blocks b"]
            ]
        );
    }

    #[test]
    fn a_request_after_an_answer_is_a_later_round_even_beside_earlier_ones() {
        let t = Instant::now();
        // The token at 0, users-by-email after its answer, one call after that, and one call
        // that went out at 70 (beside users-by-email, not after it).
        let arrivals = [
            at(t, 125, "blocks"),
            at(t, 0, "token"),
            at(t, 61, "users-by-email"),
            at(t, 70, "logs"),
        ];
        assert_eq!(
            rounds(&arrivals, D),
            [
                vec!["token"],
                vec!["users-by-email", "logs"],
                vec!["blocks"]
            ]
        );
        assert!(rounds(&[], D).is_empty());
    }
}
