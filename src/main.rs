//! The `dnsdesk` binary: parses the command line and configuration, then
//! serves, or runs one bootstrap command against the configured database.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use api::audit::{AuditAction, AuditActor, AuditEvent};
use api::config::Config;
use api::service::accounts::{self, AccountAdmin};
use api::service::admin;
use api::service::audit as service_audit;
use clap::{Parser, Subcommand};

/// Subdomain provisioning for kalbarprov.go.id.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// A TOML configuration file (see dnsdesk.example.toml). Without one,
    /// built-in defaults apply; DNSDESK_* variables override both.
    #[arg(long, short, global = true, env = "DNSDESK_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve,
    /// Manage agencies (PD).
    Agency {
        #[command(subcommand)]
        action: AgencyAction,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// The zone on its servers.
    Zone {
        #[command(subcommand)]
        action: ZoneCommand,
    },
    /// The working-day calendar: national holidays and collective leave.
    Holiday {
        #[command(subcommand)]
        action: HolidayCommand,
    },
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// The database itself.
    Database {
        #[command(subcommand)]
        action: DatabaseCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DatabaseCommand {
    /// Copy the configured SQLite database, every row as stored (the audit
    /// chain stays valid), into an empty PostgreSQL database, to move to
    /// several instances (docs/deploy.md). Stop the service first.
    Copy {
        /// The PostgreSQL database: postgres://USER:PASSWORD@HOST:PORT/DB.
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
enum ZoneCommand {
    /// Read the zone from the primary (signed AXFR), compare every managed
    /// name with dnsdesk's record and the secondaries' serials with the
    /// primary's, and record the findings; prints them.
    Drift,
    /// Register the names the zone already holds in the catalogue (day
    /// one), read by signed AXFR from the primary or from a zone file, each
    /// assigned to an agency by a mapping file or left unassigned; no
    /// update is sent. Prints what became of every name.
    Import {
        /// Read this zone file instead of transferring the zone.
        #[arg(long)]
        zone_file: Option<PathBuf>,
        /// A TOML file with an [agencies] table: `disdik = "DISDIK"` (a
        /// name relative to the zone, or a full one, and the names below
        /// it) -> agency code. Names it does not cover stay unassigned.
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// Show what would be imported; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Give a managed name to an agency (an imported name left unassigned,
    /// or a name moving between agencies).
    Assign {
        /// The name, e.g. bappeda.kalbarprov.go.id.
        #[arg(long)]
        name: String,
        /// The agency code, e.g. BAPPEDA.
        #[arg(long)]
        agency: String,
    },
}

#[derive(Debug, Subcommand)]
enum HolidayCommand {
    /// List the non-working days in force (shipped ones with every edit).
    List {
        #[arg(long)]
        year: Option<i32>,
    },
    /// Make a day a holiday or collective leave (or rename it).
    Add {
        /// e.g. 2026-12-24.
        #[arg(long)]
        date: String,
        /// libur_nasional or cuti_bersama.
        #[arg(long)]
        kind: String,
        /// As the decree names it.
        #[arg(long)]
        name: String,
    },
    /// Make a listed day a working day again.
    Remove {
        #[arg(long)]
        date: String,
    },
    /// Load a year's holiday file (as api/calendar/id-holidays-2026.toml),
    /// replacing what that year held.
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain from the first entry and compare it with
    /// the checkpoints; names the first broken entry and exits 1 if any.
    Verify {
        /// The checkpoint file (default: audit.checkpoint_file).
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Write a checkpoint of the chain's head now (and mail it to
    /// audit.checkpoint_recipients).
    Checkpoint,
}

#[derive(Debug, Subcommand)]
enum AgencyAction {
    /// Add an agency.
    Add {
        /// Short code, e.g. DISDIK.
        #[arg(long)]
        code: String,
        /// Full name, e.g. "Dinas Pendidikan".
        #[arg(long)]
        name: String,
        /// Where confirmations are sent.
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// Add a user. With --password-stdin, or at a terminal (asked twice,
    /// not echoed), they get a password for the web UI; otherwise they
    /// use API tokens only (`dnsdesk token create`).
    Add {
        #[command(flatten)]
        user: UserName,
        /// pd, reviewer, netadmin or admin.
        #[arg(long)]
        role: String,
        /// The agency code of a pd user.
        #[arg(long)]
        agency: Option<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        /// No password, and no prompt at a terminal: the user works with
        /// API tokens only.
        #[arg(long, conflicts_with = "password_stdin")]
        token_only: bool,
    },
    /// Set a user's password (at least 10 characters); their web sessions
    /// end. Asked twice at a terminal, or read from stdin.
    Password {
        #[command(flatten)]
        user: UserName,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: their web sessions end and their API tokens stop
    /// working.
    Disable {
        #[command(flatten)]
        user: UserName,
    },
    /// Enable a disabled user again.
    Enable {
        #[command(flatten)]
        user: UserName,
    },
    /// List users: username, role, agency, whether disabled.
    List,
}

/// Which user: `dnsdesk user disable boss`, or `--username boss` as
/// scripts written for `token create` spell it.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct UserName {
    /// The username.
    #[arg(value_name = "USERNAME")]
    username: Option<String>,
    /// The username, as an option.
    #[arg(long = "username", value_name = "USERNAME")]
    username_option: Option<String>,
}

impl UserName {
    fn into_string(self) -> String {
        // The group requires exactly one of the two.
        self.username.or(self.username_option).unwrap_or_default()
    }
}

#[derive(Debug, Subcommand)]
enum TokenAction {
    /// Create an API token; it is printed once, alone on the last line.
    Create {
        #[arg(long)]
        username: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,hickory_server=warn,hickory_net=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dnsdesk: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("dnsdesk: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let config = Config::load(cli.config.as_deref(), |k| std::env::var(k).ok())
        .map_err(|e| e.to_string())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&config).await,
        Command::Agency {
            action: AgencyAction::Add { code, name, email },
        } => {
            let store = api::server::open_store(&config)
                .await
                .map_err(|e| e.to_string())?;
            let agency = admin::add_agency(store.as_ref(), &code, &name, &email, console())
                .await
                .map_err(|e| e.to_string())?;
            println!("agency {} added ({})", agency.code, agency.name);
            Ok(())
        }
        Command::User { action } => user(&config, action).await,
        Command::Token {
            action: TokenAction::Create { username },
        } => {
            let store = api::server::open_store(&config)
                .await
                .map_err(|e| e.to_string())?;
            let token = admin::create_token(store.as_ref(), &username, console())
                .await
                .map_err(|e| e.to_string())?;
            eprintln!("token for {username} (shown once; only its hash is stored):");
            let mut out = std::io::stdout().lock();
            writeln!(out, "{token}").map_err(|e| e.to_string())
        }
        Command::Audit { action } => audit(&config, action).await,
        Command::Database {
            action: DatabaseCommand::Copy { to },
        } => copy_database(&config, &to).await,
        Command::Holiday { action } => holiday(&config, action).await,
        Command::Zone {
            action: ZoneCommand::Drift,
        } => drift(&config).await,
        Command::Zone {
            action:
                ZoneCommand::Import {
                    zone_file,
                    mapping,
                    dry_run,
                },
        } => import(&config, zone_file, mapping, dry_run).await,
        Command::Zone {
            action: ZoneCommand::Assign { name, agency },
        } => {
            let store = api::server::open_store(&config)
                .await
                .map_err(|e| e.to_string())?;
            let sub = admin::assign_name(store.as_ref(), &name, &agency, console())
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{} now belongs to {}",
                sub.name,
                agency.trim().to_uppercase()
            );
            Ok(())
        }
    }
}

/// Who runs a console command, for the audit log: the login name.
fn console() -> AuditActor {
    AuditActor::Console(console_user())
}

/// The operating-system user running the command.
fn console_user() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

async fn user(config: &Config, action: UserAction) -> Result<(), String> {
    let fail = |e: api::error::ServiceError| e.to_string();
    match action {
        UserAction::Add {
            user,
            role,
            agency,
            password_stdin,
            token_only,
        } => {
            let username = user.into_string();
            let password = if token_only {
                None
            } else {
                new_password(&username, password_stdin)?
            };
            // Hashed (and its length checked) before anything is written:
            // a refused password leaves no user without one behind.
            let hash = password
                .as_deref()
                .map(accounts::hash_password)
                .transpose()
                .map_err(fail)?;
            let with_password = hash.is_some();
            let store = api::server::open_store(config)
                .await
                .map_err(|e| e.to_string())?;
            let user = admin::add_user(
                store.as_ref(),
                &username,
                &role,
                agency.as_deref(),
                hash,
                console(),
            )
            .await
            .map_err(fail)?;
            println!("user {} added with role {}", user.username, user.role);
            if !with_password {
                eprintln!("no password: {} uses API tokens only", user.username);
            }
            Ok(())
        }
        UserAction::Password {
            user,
            password_stdin,
        } => {
            let username = user.into_string();
            let Some(password) = new_password(&username, password_stdin)? else {
                return Err(
                    "no password given: pass --password-stdin, or run at a terminal".to_owned(),
                );
            };
            let store = api::server::open_store(config)
                .await
                .map_err(|e| e.to_string())?;
            let target = find_user(store.as_ref(), &username).await?;
            accounts::set_password(
                store.as_ref(),
                &AccountAdmin::Console(console_user()),
                target.id,
                &password,
            )
            .await
            .map_err(fail)?;
            println!("password of {} set; their sessions ended", target.username);
            Ok(())
        }
        UserAction::Disable { user } => set_disabled(config, user, true).await,
        UserAction::Enable { user } => set_disabled(config, user, false).await,
        UserAction::List => {
            let store = api::server::open_store(config)
                .await
                .map_err(|e| e.to_string())?;
            let users =
                accounts::list_users(store.as_ref(), &AccountAdmin::Console(console_user()))
                    .await
                    .map_err(fail)?;
            let agencies = store.list_agencies().await.map_err(|e| e.to_string())?;
            for user in users {
                let agency = user
                    .agency_id
                    .and_then(|id| agencies.iter().find(|a| a.id == id))
                    .map_or("-", |a| a.code.as_str());
                let state = if user.disabled { "disabled" } else { "enabled" };
                println!("{} {} {agency} {state}", user.username, user.role);
            }
            Ok(())
        }
    }
}

async fn set_disabled(config: &Config, user: UserName, disabled: bool) -> Result<(), String> {
    let store = api::server::open_store(config)
        .await
        .map_err(|e| e.to_string())?;
    let target = find_user(store.as_ref(), &user.into_string()).await?;
    let by = AccountAdmin::Console(console_user());
    let changed = if disabled {
        accounts::disable_user(store.as_ref(), &by, target.id).await
    } else {
        accounts::enable_user(store.as_ref(), &by, target.id).await
    }
    .map_err(|e| e.to_string())?;
    if disabled {
        println!(
            "user {} disabled: their sessions ended, their API tokens stop working",
            changed.username
        );
    } else {
        println!("user {} enabled", changed.username);
    }
    Ok(())
}

/// The user with `username` (as `add_user` stores it: trimmed, lowercase).
async fn find_user(
    store: &dyn api::store::Store,
    username: &str,
) -> Result<api::model::User, String> {
    store
        .user_by_username(&username.trim().to_ascii_lowercase())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("username: no user {username}"))
}

/// A new password: the first line of stdin with `--password-stdin`;
/// otherwise asked twice without echo when stdin is a terminal; otherwise
/// none (scripts that create token-only users pipe nothing).
fn new_password(username: &str, from_stdin: bool) -> Result<Option<String>, String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        let password = line.strip_suffix('\n').unwrap_or(&line);
        let password = password.strip_suffix('\r').unwrap_or(password);
        return Ok(Some(password.to_owned()));
    }
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let ask = |prompt: String| {
        rpassword::prompt_password(prompt).map_err(|e| format!("cannot read the password: {e}"))
    };
    let first = ask(format!(
        "password for {username} (at least {} characters): ",
        accounts::MIN_PASSWORD_CHARS
    ))?;
    let again = ask("the same password again: ".to_owned())?;
    if first != again {
        return Err("the two passwords differ; nothing was changed".to_owned());
    }
    Ok(Some(first))
}

async fn drift(config: &Config) -> Result<(), String> {
    let store = api::server::open_store(config)
        .await
        .map_err(|e| e.to_string())?;
    let target = api::server::configured_target(config).map_err(|e| e.to_string())?;
    let report = api::service::drift::run(store.as_ref(), &target, config.dns_timeout())
        .await
        .map_err(|e| e.to_string())?;
    let serial = report
        .primary_serial
        .map_or_else(|| "?".to_owned(), |s| s.to_string());
    if report.findings.is_empty() {
        println!("no drift: every managed name matches the zone (serial {serial})");
        return Ok(());
    }
    println!(
        "{} difference(s) at serial {serial}, {} new:",
        report.findings.len(),
        report.opened.len()
    );
    for finding in &report.findings {
        println!(
            "{}",
            serde_json::to_string(finding).map_err(|e| e.to_string())?
        );
    }
    Ok(())
}

async fn import(
    config: &Config,
    zone_file: Option<PathBuf>,
    mapping: Option<PathBuf>,
    dry_run: bool,
) -> Result<(), String> {
    use api::service::import;
    let policy = config.name_policy().map_err(|e| e.to_string())?;
    let mapping = mapping
        .map(|path| import::Mapping::read(&path, policy.zone()))
        .transpose()
        .map_err(|e| e.to_string())?;
    let zone = match zone_file {
        Some(path) => import::read_zone_file(&path, policy.zone()).map_err(|e| e.to_string())?,
        None => {
            let target = api::server::configured_target(config).map_err(|e| e.to_string())?;
            import::transfer_zone(&target, config.dns_timeout())
                .await
                .map_err(|e| e.to_string())?
        }
    };
    let store = api::server::open_store(config)
        .await
        .map_err(|e| e.to_string())?;
    let report = import::run(
        store.as_ref(),
        &policy,
        &zone,
        mapping.as_ref(),
        dry_run,
        console(),
    )
    .await
    .map_err(|e| e.to_string())?;
    for line in report.lines() {
        println!("{line}");
    }
    println!("{}", report.summary());
    Ok(())
}

async fn holiday(config: &Config, action: HolidayCommand) -> Result<(), String> {
    use api::calendar::WorkCalendar;
    use api::service::calendar;
    let store = api::server::open_store(config)
        .await
        .map_err(|e| e.to_string())?;
    let base = WorkCalendar::builtin();
    let fail = |e: api::error::ServiceError| e.to_string();
    match action {
        HolidayCommand::List { year } => {
            let (years, days) = calendar::list(store.as_ref(), &base, year)
                .await
                .map_err(fail)?;
            let loaded: Vec<String> = years.iter().map(ToString::to_string).collect();
            println!("years loaded: {}", loaded.join(", "));
            for day in days {
                println!("{} {} {}", day.date, day.kind.as_str(), day.name);
            }
        }
        HolidayCommand::Add { date, kind, name } => {
            let day = calendar::add(store.as_ref(), &date, &kind, &name, console())
                .await
                .map_err(fail)?;
            println!("{} is now {}: {}", day.date, day.kind.as_str(), day.name);
        }
        HolidayCommand::Remove { date } => {
            let day = calendar::remove(store.as_ref(), &base, &date, console())
                .await
                .map_err(fail)?;
            println!("{} ({}) is a working day again", day.date, day.name);
        }
        HolidayCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let (year, days) = calendar::import(store.as_ref(), &text, console())
                .await
                .map_err(|e| format!("{}: {e}", file.display()))?;
            println!(
                "{year}: {days} non-working days loaded from {}",
                file.display()
            );
        }
    }
    Ok(())
}

/// `dnsdesk database copy --to URL`.
async fn copy_database(config: &Config, to: &str) -> Result<(), String> {
    use api::config::Database;
    use api::store::Store;
    use api::store::postgres::PgStore;
    use api::store::sqlite::SqliteStore;
    let Database::Sqlite(path) = config.database() else {
        return Err(
            "database copy reads a SQLite database; the configured one is PostgreSQL".into(),
        );
    };
    if !path.exists() {
        return Err(format!("no database at {}", path.display()));
    }
    let target_url = api::config::DatabaseUrl(to.to_owned());
    let target_name = Database::Postgres(to.to_owned()).describe();
    if !to.starts_with("postgres://") && !to.starts_with("postgresql://") {
        return Err(format!("--to: {target_url:?} is not a postgres:// URL"));
    }
    let source = SqliteStore::open(&path).await.map_err(|e| e.to_string())?;
    let target = PgStore::open_url(to)
        .await
        .map_err(|e| format!("{target_name}: {e}"))?;
    let report = api::store::copy::sqlite_to_postgres(&source, &target)
        .await
        .map_err(|e| e.to_string())?;
    let counts: serde_json::Map<String, serde_json::Value> = report
        .tables
        .iter()
        .map(|(table, rows)| (table.clone(), serde_json::json!(rows)))
        .collect();
    let event = AuditEvent::new(AuditAction::DatabaseCopied, console())
        .with_detail(serde_json::json!({ "from": path.display().to_string(), "rows": counts }));
    target
        .append_audit(event)
        .await
        .map_err(|e| e.to_string())?;
    let total: u64 = report.tables.iter().map(|(_, rows)| rows).sum();
    println!(
        "copied {total} rows from {} to {target_name}; set database_url to it and start dnsdesk",
        path.display()
    );
    Ok(())
}

async fn audit(config: &Config, action: AuditCommand) -> Result<(), String> {
    let store = api::server::open_store(config)
        .await
        .map_err(|e| e.to_string())?;
    match action {
        AuditCommand::Verify { checkpoints } => {
            let path = checkpoints.unwrap_or_else(|| config.checkpoint_path());
            let verified = service_audit::verify(store.as_ref(), &path)
                .await
                .map_err(|e| format!("audit log NOT intact: {e}"))?;
            println!(
                "audit log intact: {} entries, head {}, {} checkpoint(s) in {} agree",
                verified.entries,
                verified.head,
                verified.checkpoints,
                path.display()
            );
            Ok(())
        }
        AuditCommand::Checkpoint => {
            let path = config.checkpoint_path();
            let mark = service_audit::checkpoint(
                store.as_ref(),
                &path,
                &config.audit.checkpoint_recipients,
                console(),
            )
            .await
            .map_err(|e| e.to_string())?;
            println!(
                "checkpoint written to {}: {} entries, head {}",
                path.display(),
                mark.seq,
                mark.hash
            );
            Ok(())
        }
    }
}

async fn serve(config: &Config) -> Result<(), String> {
    let running = api::server::start(config)
        .await
        .map_err(|e| e.to_string())?;
    let dns = running
        .dns_addr
        .map(|a| format!(" dns={a}"))
        .unwrap_or_default();
    // One machine-readable line on stdout: tests and scripts wait for it.
    println!(
        "dnsdesk ready http=http://{}{dns} instance={}",
        running.http_addr,
        api::instance::id()
    );
    tracing::info!(http = %running.http_addr, "dnsdesk is ready; GET /healthz");
    eprintln!("dnsdesk: open http://{}/ in a browser", running.http_addr);
    // A fresh install has nobody to sign in as: say how to make the first
    // admin rather than leave a login page nobody can pass.
    match running.app.store.list_users().await {
        Ok(users)
            if !users
                .iter()
                .any(|u| u.role == api::model::Role::Admin && !u.disabled) =>
        {
            eprintln!(
                "dnsdesk: no admin yet; create one with `dnsdesk user add admin --role admin` \
             (asks for a password), then add agencies and users in the web UI"
            )
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot list users"),
    }
    wait_for_signal().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
