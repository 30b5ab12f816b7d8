//! `cargo xtask run` (`local up`) starts the whole system on loopback;
//! `cargo xtask send <file>...` (`local send`) sends events into it and prints every hop.

use clap::{ArgAction, Args, Parser, Subcommand};
use local::{
    LocalError, LocalSystem, Options, Ports, StateFile, sandbox::rate::RateLimit, send,
    system::RateLimits, workspace_root,
};
use std::{
    num::NonZeroU32,
    path::{Path, PathBuf},
    process::ExitCode,
};

const DEFAULT_PORT_BASE: u16 = 8750;

/// The whole system on one machine: loopback only, no AWS account (crates/local/README.md).
#[derive(Debug, Parser)]
#[command(
    name = "local",
    flatten_help = true,
    next_line_help = true,
    after_help = "`cargo xtask run [OPTIONS]` is `local up [OPTIONS]`, `cargo xtask send FILE...` is \
                  `local send FILE...`;\na `--` before the options is ignored."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(
        about = "Starts everything on 127.0.0.1 until Ctrl-C or SIGTERM (`cargo xtask run`)",
        long_about = "\
Starts everything on 127.0.0.1 (ports N..N+4, default 8750; 0 = any free ports)
and runs until Ctrl-C or SIGTERM. Function logs go to .local/functions.log (--logs: to
the terminal). One system per clone: the clone is the folder you run it in (or
LOCAL_WORKSPACE). --auth0-sce off (or LOCAL_AUTH0_LOGS_SCE=false): the Auth0 sandbox
logs no `sce` for a Management API email change (default on). --auth0-plan other (or
LOCAL_AUTH0_PLAN=other): the Auth0 sandbox answers as a tenant without Enterprise's
sign-out-everywhere endpoints (default enterprise). --auth0-rps N, --bloomreach-rps N,
--hybris-rps N (or LOCAL_AUTH0_RPS, LOCAL_BLOOMREACH_RPS, LOCAL_HYBRIS_RPS): that sandbox
lets N requests a second through (bursts up to N) and answers the rest 429 as its
provider does (default unlimited); counters at its GET /_local/stats.",
        next_line_help = true
    )]
    Up(UpArgs),
    #[command(
        about = "Puts events on the running system, prints every hop (`cargo xtask send`)",
        long_about = "\
Puts each sample (an event as in events/, or a PutEvents entry) on the running system
with the real AWS SDK client and prints every hop it takes.",
        next_line_help = true
    )]
    Send(SendArgs),
}

#[derive(Debug, Args)]
struct UpArgs {
    /// The SAM template to route by [default: infra/template.yaml in the clone]
    #[arg(long, value_name = "FILE")]
    template: Option<PathBuf>,
    /// Where emails are written, emptied at start [default: .local/outbox in the clone]
    #[arg(long, value_name = "DIR")]
    outbox: Option<PathBuf>,
    /// The first of five ports: EventBridge, API, Auth0, Bloomreach, Hybris;
    /// 0 = any free ports
    #[arg(
        long,
        value_name = "N",
        verbatim_doc_comment,
        env = "LOCAL_PORT_BASE",
        default_value_t = DEFAULT_PORT_BASE,
        value_parser = port_base,
    )]
    port_base: u16,
    /// Function logs (JSON lines) in this terminal instead of .local/functions.log
    #[arg(long)]
    logs: bool,
    /// Whether the Auth0 sandbox logs `sce` for a Management API email change
    /// (or true/false)
    #[arg(
        long = "auth0-sce",
        verbatim_doc_comment,
        value_name = "on|off",
        env = "LOCAL_AUTH0_LOGS_SCE",
        default_value = "on",
        value_parser = on_off,
        action = ArgAction::Set,
    )]
    auth0_sce: bool,
    /// The Auth0 sandbox's plan: `other` answers the session and refresh-token endpoints as
    /// a tenant without Enterprise does
    #[arg(
        long = "auth0-plan",
        verbatim_doc_comment,
        value_name = "enterprise|other",
        env = "LOCAL_AUTH0_PLAN",
        default_value = "enterprise",
        value_parser = plan,
        action = ArgAction::Set,
    )]
    auth0_enterprise: bool,
    /// The Auth0 sandbox's rate limit, requests a second for the tenant (bursts up to N);
    /// beyond it 429 with x-ratelimit-* headers
    #[arg(
        long = "auth0-rps",
        verbatim_doc_comment,
        value_name = "N|unlimited",
        env = "LOCAL_AUTH0_RPS",
        default_value = "unlimited",
        value_parser = |v: &str| rps(v, "--auth0-rps", "LOCAL_AUTH0_RPS"),
    )]
    auth0_rps: Rps,
    /// The Bloomreach sandbox's rate limit, requests a second (bursts up to N);
    /// beyond it 429 with Retry-After
    #[arg(
        long = "bloomreach-rps",
        verbatim_doc_comment,
        value_name = "N|unlimited",
        env = "LOCAL_BLOOMREACH_RPS",
        default_value = "unlimited",
        value_parser = |v: &str| rps(v, "--bloomreach-rps", "LOCAL_BLOOMREACH_RPS"),
    )]
    bloomreach_rps: Rps,
    /// The Hybris sandbox's rate limit, requests a second (bursts up to N);
    /// beyond it 429 with Retry-After
    #[arg(
        long = "hybris-rps",
        verbatim_doc_comment,
        value_name = "N|unlimited",
        env = "LOCAL_HYBRIS_RPS",
        default_value = "unlimited",
        value_parser = |v: &str| rps(v, "--hybris-rps", "LOCAL_HYBRIS_RPS"),
    )]
    hybris_rps: Rps,
}

/// A sandbox's rate limit as given: `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rps(Option<RateLimit>);

#[derive(Debug, Args)]
struct SendArgs {
    /// The bus for every sample [default: the entry's EventBusName, else by source: Auth0 logs
    /// to the Auth0 partner bus, SendEmail events to `email`, others to `default`]
    #[arg(long, value_name = "NAME", verbatim_doc_comment)]
    bus: Option<String>,
    /// Samples: an EventBridge event as in events/ (source, detail-type, detail) or a PutEvents
    /// entry (Source, DetailType, Detail)
    #[arg(value_name = "FILE", required = true, verbatim_doc_comment)]
    files: Vec<PathBuf>,
}

/// `--port-base` or `LOCAL_PORT_BASE`: a port up to 65531 (N + 4 is a port too). Empty is the
/// default, as an empty `LOCAL_PORT_BASE` always was. The message names both, since clap's
/// does not say where a value came from.
fn port_base(value: &str) -> Result<u16, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(DEFAULT_PORT_BASE);
    }
    let last = u16::MAX - 4;
    value
        .parse::<u16>()
        .ok()
        .filter(|base| *base <= last)
        .ok_or_else(|| format!("--port-base (or LOCAL_PORT_BASE) needs a port number, 0 to {last}"))
}

/// `on`/`true` or `off`/`false`, for `--auth0-sce` and `LOCAL_AUTH0_LOGS_SCE`.
fn on_off(value: &str) -> Result<bool, String> {
    match value.trim() {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err("--auth0-sce needs on or off (LOCAL_AUTH0_LOGS_SCE: true or false)".to_owned()),
    }
}

/// `enterprise` or `other`, for `--auth0-plan` and `LOCAL_AUTH0_PLAN`.
fn plan(value: &str) -> Result<bool, String> {
    match value.trim() {
        "enterprise" => Ok(true),
        "other" => Ok(false),
        _ => Err("--auth0-plan needs enterprise or other (LOCAL_AUTH0_PLAN too)".to_owned()),
    }
}

/// `--*-rps` and `LOCAL_*_RPS`: a whole number of requests a second, or `unlimited` (also
/// empty or 0, as an empty setting means the default).
fn rps(value: &str, flag: &str, env: &str) -> Result<Rps, String> {
    let value = value.trim();
    if value.is_empty() || value == "unlimited" {
        return Ok(Rps(None));
    }
    value
        .parse::<u32>()
        .map(|n| Rps(NonZeroU32::new(n).map(RateLimit::per_second)))
        .map_err(|_| {
            format!("{flag} (or {env}) needs a whole number of requests a second, or unlimited")
        })
}

fn main() -> ExitCode {
    // `cargo xtask run -- --port-base 0` and `cargo run -p local -- up -- --port-base 0` pass a
    // separator through; `local` has always ignored it.
    let cli = Cli::parse_from(std::env::args_os().filter(|a| a != "--"));
    let result = match cli.command {
        Command::Up(args) => up(args),
        Command::Send(args) => send_cmd(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local: {e}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, LocalError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(LocalError::Runtime)
}

/// Function logs: JSON lines as Lambda writes them, to a file or the terminal. Blocking.
fn init_logs(to_terminal: bool, file: &Path) -> Result<(), LocalError> {
    if to_terminal {
        lambda_support::init_tracing();
        return Ok(());
    }
    let written = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LocalError::Write { path, source }
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(written(dir))?;
    }
    let log = std::fs::File::create(file).map_err(written(file))?;
    let level = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    // `Targets`, not `EnvFilter`: the same `target=level` syntax without a regex engine to build.
    let filter: tracing_subscriber::filter::Targets = format!(
        "{level},hyper=info,hyper_util=info,reqwest=info,aws_smithy_runtime=info,aws_smithy_runtime_api=info"
    )
    .parse()
    .unwrap_or_else(|_| {
        tracing_subscriber::filter::Targets::new()
            .with_default(tracing_subscriber::filter::LevelFilter::INFO)
    });
    use tracing_subscriber::{Layer, layer::SubscriberExt, util::SubscriberInitExt};
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(false)
                .with_span_list(false)
                .with_writer(std::sync::Mutex::new(log))
                .with_filter(filter),
        )
        .try_init();
    Ok(())
}

fn up(args: UpArgs) -> Result<(), LocalError> {
    let root = workspace_root()?;
    let state = StateFile::path(&root);
    // Before anything is emptied, truncated or bound: the running system keeps its outbox,
    // its log file and its state.
    if let Ok(running) = StateFile::running(&state) {
        return Err(LocalError::AlreadyRunning {
            root,
            pid: running.pid,
            eventbridge: running.endpoints.eventbridge,
        });
    }
    let mut options = Options::new(
        args.template
            .unwrap_or_else(|| root.join("infra/template.yaml")),
        args.outbox.unwrap_or_else(|| root.join(".local/outbox")),
    );
    options.auth0_logs_sce = args.auth0_sce;
    options.auth0_enterprise = args.auth0_enterprise;
    options.rate_limits = RateLimits {
        auth0: args.auth0_rps.0,
        bloomreach: args.bloomreach_rps.0,
        hybris: args.hybris_rps.0,
    };
    options.ports = Ports::from_base(args.port_base);
    // Settings that are not Unicode cannot be a function's setting: left out.
    options.env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    options.print_hops = true;
    let logs_to_terminal = args.logs;
    let log_file = root.join(".local/functions.log");
    let runtime = runtime()?;
    // Binds every port before it empties the outbox: a start that fails changes nothing. The
    // servers run on the runtime's workers; the file work below is this thread's.
    let system = runtime.block_on(LocalSystem::start(options.clone()))?;
    // Functions log only once events arrive, so the log file is (re)started here.
    init_logs(logs_to_terminal, &log_file)?;
    system.state_file().write(&state)?;
    print!(
        "{}",
        banner(
            &system,
            &options,
            &root,
            (!logs_to_terminal).then_some(&log_file)
        )
    );
    runtime.block_on(stopped())?;
    println!("\nstopping");
    StateFile::remove(&state);
    runtime.block_on(system.shutdown());
    Ok(())
}

/// Ctrl-C or SIGTERM (what `kill`, systemd and process managers send): both stop cleanly.
async fn stopped() -> Result<(), LocalError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(LocalError::Signal)?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string())
}

fn banner(
    system: &LocalSystem,
    options: &Options,
    root: &Path,
    log_file: Option<&PathBuf>,
) -> String {
    let e = system.endpoints();
    let d = system.dixa_secrets();
    let mut s = String::new();
    let mut line = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    line("━━━ local system up: loopback only, no AWS account ━━━".into());
    line(format!(
        "routing from {} ({} rules, {} API routes)",
        relative(root, &options.template),
        system.topology().rules.len(),
        system.topology().api_routes.len()
    ));
    line(String::new());
    line(format!(
        "EventBridge endpoint   {}   (AWS_ENDPOINT_URL; PutEvents)",
        e.eventbridge
    ));
    line(format!(
        "  buses                {}",
        system.buses().join(", ")
    ));
    for r in &system.topology().rules {
        line(format!(
            "  rule {:<28}on {} → {}",
            r.name, r.bus, r.function
        ));
    }
    line(format!("  hops                 GET {}?after=N", e.hops));
    line(
        "  stores               in memory (send-email's dedupe record), as in production's tables"
            .into(),
    );
    if let Some(api) = &e.api {
        line(format!("Dixa API (API Gateway) {api}"));
        for r in &system.topology().api_routes {
            line(format!(
                "  {:<8}{:<27}→ {}",
                r.method, r.resource, r.function
            ));
        }
        line(format!(
            "  look-up secret       {}: {}",
            d.lookup_header, d.lookup_secret
        ));
        line(format!("  action token key     {}", d.action_token_key));
        line(format!(
            "  allowed origins      {}{}{}",
            d.allowed_origin,
            d.preview_origin
                .as_deref()
                .map(|o| format!(", {o}"))
                .unwrap_or_default(),
            if d.allow_null_origin {
                ", null (DIXA_ALLOW_NULL_ORIGIN=true)"
            } else {
                ""
            }
        ));
        line("  (secrets generated at start-up, valid while this process runs)".into());
    }
    let provider = |name: &str, url: &Option<String>, what: String| match url {
        Some(u) => format!("{name:<23}{u}   {what}"),
        None => format!("{name:<23}REAL endpoint from the environment"),
    };
    line(provider(
        "Auth0 sandbox",
        &e.auth0,
        system.auth0().map_or_else(String::new, |a| {
            format!(
                "(tenant {}, {} brute-force blocks, Management API email changes {}; GET /_local/state)",
                a.settings().domain,
                a.blocks().len(),
                if a.logs_sce() {
                    "log sce"
                } else {
                    "log nothing (--auth0-sce off)"
                }
            )
        }),
    ));
    if let Some(a) = system.auth0() {
        // The storefront's own application, for trying a change a customer (or whoever holds
        // their session) makes: its sce is emailed and recorded as the customer's.
        line(format!(
            "  storefront backend M2M app: client_id {} client_secret {} (its email changes read as the customer's)",
            local::sandbox::auth0::STOREFRONT_CLIENT_ID,
            a.storefront_secret()
        ));
    }
    line(provider(
        "Bloomreach sandbox",
        &e.bloomreach,
        "(records every email into the outbox)".into(),
    ));
    line(provider(
        "Hybris sandbox",
        &e.hybris,
        system.hybris().map_or_else(String::new, |h| {
            format!("(site {}; GET /_local/state)", h.base_site())
        }),
    ));
    // Limits only when set: an unlimited run's banner is as it was.
    let limits = &options.rate_limits;
    for (name, limit, url) in [
        ("Auth0", limits.auth0, &e.auth0),
        ("Bloomreach", limits.bloomreach, &e.bloomreach),
        ("Hybris", limits.hybris, &e.hybris),
    ] {
        // A real provider (no sandbox) is not limited here.
        if let (Some(l), Some(_)) = (limit, url) {
            line(format!(
                "  {name} rate limit {}/s, bursts up to {} (counters: GET /_local/stats)",
                l.per_second, l.burst
            ));
        }
    }
    let index = system.outbox().index();
    line(format!(
        "Outbox                 file://{}   (newest first; open in a browser)",
        std::fs::canonicalize(&index).unwrap_or(index).display()
    ));
    if let Some(f) = log_file {
        line(format!(
            "Function logs          {}   (JSON lines, as in CloudWatch)",
            relative(root, f)
        ));
    }
    line(format!(
        "State                  {}",
        relative(root, &StateFile::path(root))
    ));
    line(String::new());
    line("Send events:   cargo xtask send events/auth0/sce.json [more.json ...]".into());
    if let Some(api) = &e.api {
        line(format!(
            "Dixa card:     {api}/dixa/card?email=lee.locked%40example.com   (dixa/card.liquid as Dixa shows it; try jane%2Bshop%40example.com, sam.social%40example.com; &mode=same-origin)"
        ));
        line(format!(
            "Dixa look-up:  curl -H '{}: {}' '{api}/lookup?email=jane%2Bshop%40example.com&csid=1&agent=agent%40shop.example'",
            d.lookup_header, d.lookup_secret
        ));
    }
    line(
        "Real provider: set its URL + credentials before `up`, with the functions' own names:"
            .into(),
    );
    line("  AUTH0_DOMAIN (+ AUTH0_BASE_URL) + AUTH0_CLIENT_ID/AUTH0_CLIENT_SECRET;".into());
    line(
        "  BLOOMREACH_API_BASE + BLOOMREACH_PROJECT_TOKEN/API_KEY_ID/API_SECRET/TEMPLATE_*;".into(),
    );
    line("  HYBRIS_BASE_URL + HYBRIS_BASE_SITE/HYBRIS_CLIENT_ID/HYBRIS_CLIENT_SECRET.".into());
    line("Ctrl-C (or SIGTERM) stops. Hops follow below as they happen.".into());
    line(
        "━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━"
            .into(),
    );
    s
}

fn send_cmd(args: SendArgs) -> Result<(), LocalError> {
    let root = workspace_root()?;
    // Missing, unreadable or stale: says so, and how to start one.
    let state = StateFile::running(&StateFile::path(&root))?;
    let target = send::Target::from_state(&state);
    let files = args.files;
    let sent = runtime()?.block_on(async {
        // Outbox paths as a person types them in the clone: relative to its root.
        let prefix = format!("{}/", root.display());
        send::send_files(&target, &files, args.bus.as_deref(), &mut |l| {
            println!("{}", l.replace(&prefix, ""))
        })
        .await
    })?;
    let emails: usize = sent.iter().map(|s| s.outbox_files().len()).sum();
    let failed: usize = sent.iter().map(send::Sent::failures).sum();
    println!(
        "{} file(s) sent, {} event(s) accepted, {emails} email(s) recorded, {failed} invocation(s) failed",
        files.len(),
        sent.iter().map(|s| s.event_ids.len()).sum::<usize>()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rps_is_a_whole_number_or_unlimited() {
        let parse = |v: &str| rps(v, "--bloomreach-rps", "LOCAL_BLOOMREACH_RPS");
        assert_eq!(
            parse(" 5 "),
            Ok(Rps(NonZeroU32::new(5).map(RateLimit::per_second)))
        );
        for unlimited in ["unlimited", "", "0"] {
            assert_eq!(parse(unlimited), Ok(Rps(None)), "{unlimited:?}");
        }
        let refused = parse("2.5").unwrap_err();
        assert!(refused.contains("LOCAL_BLOOMREACH_RPS"), "{refused}");
        let cli = Cli::try_parse_from(["local", "up", "--hybris-rps", "3"]).unwrap();
        let Command::Up(args) = cli.command else {
            panic!("up")
        };
        assert_eq!(
            args.hybris_rps,
            Rps(NonZeroU32::new(3).map(RateLimit::per_second))
        );
    }
}
