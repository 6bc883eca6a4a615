//! Accounts from the console: `dnsdesk user add` with a password read from
//! stdin (or none, as before), `user password`, `user disable`/`enable`
//! and `user list`; passwords never reach the audit log.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Output;

use common::Site;

common::on_both_databases!(
    user_add_reads_a_password_from_stdin_and_refuses_a_short_one,
    users_without_stdin_stay_token_only_as_before,
    passwords_are_set_and_users_disabled_from_the_console,
);

const PASSWORD: &str = "kapuas-river-2026";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One column of the database, read as someone with access to it would.
fn column(site: &Site, sql: &str) -> Vec<String> {
    site.column(sql)
}

async fn user_add_reads_a_password_from_stdin_and_refuses_a_short_one() {
    let site = Site::new();
    let out = site.cli_stdin(
        &["user", "add", "boss", "--role", "admin", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "user boss added with role admin"
    );
    let hash = column(
        &site,
        "SELECT password_hash FROM users WHERE username = 'boss'",
    );
    assert_eq!(hash.len(), 1);
    assert!(hash[0].starts_with("$argon2id$v=19$"), "{hash:?}");

    let out = site.cli_stdin(
        &[
            "user",
            "add",
            "shorty",
            "--role",
            "reviewer",
            "--password-stdin",
        ],
        "123456789\n",
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("password"), "{}", stderr(&out));
    // Refused before anything was written.
    assert!(
        column(
            &site,
            "SELECT username FROM users WHERE username = 'shorty'"
        )
        .is_empty()
    );

    let audit = column(&site, "SELECT detail FROM audit_log").join("\n");
    assert!(
        !audit.contains(PASSWORD) && !audit.contains("argon2"),
        "{audit}"
    );
}

async fn users_without_stdin_stay_token_only_as_before() {
    let site = Site::new();
    // As tests/common does it: `--username`, no stdin, no terminal.
    let token = site.staff("reviewer1", "reviewer");
    assert!(token.starts_with("dnsdesk_"));
    let hash = column(
        &site,
        "SELECT COALESCE(password_hash, 'none') FROM users WHERE username = 'reviewer1'",
    );
    assert_eq!(hash, ["none"]);
    // An explicit token-only user, even when something is piped in.
    let out = site.cli_stdin(
        &["user", "add", "robot", "--role", "netadmin", "--token-only"],
        "ignored\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let both = site.cli_output(&["user", "add", "x", "--username", "y", "--role", "admin"]);
    assert!(!both.status.success(), "one username only");
}

async fn passwords_are_set_and_users_disabled_from_the_console() {
    let site = Site::new();
    site.cli(&["user", "add", "--username", "clerk", "--role", "reviewer"]);

    let out = site.cli_stdin(
        &["user", "password", "clerk", "--password-stdin"],
        &format!("{PASSWORD}\r\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let hash = column(
        &site,
        "SELECT password_hash FROM users WHERE username = 'clerk'",
    );
    assert!(hash[0].starts_with("$argon2id$"), "{hash:?}");
    let out = site.cli_stdin(
        &["user", "password", "clerk", "--password-stdin"],
        "short\n",
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("password"), "{}", stderr(&out));
    // No stdin and no terminal: nothing to read the password from.
    let out = site.cli_output(&["user", "password", "clerk"]);
    assert!(!out.status.success());
    let out = site.cli_stdin(
        &["user", "password", "nobody", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("nobody"), "{}", stderr(&out));

    site.cli(&["user", "disable", "clerk"]);
    assert!(
        site.cli(&["user", "list"])
            .contains("clerk reviewer - disabled")
    );
    site.cli(&["user", "enable", "--username", "clerk"]);
    assert!(
        site.cli(&["user", "list"])
            .contains("clerk reviewer - enabled")
    );

    let actions = column(&site, "SELECT action FROM audit_log ORDER BY seq");
    for action in ["user.password_set", "user.disabled", "user.enabled"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
    let audit = column(&site, "SELECT detail FROM audit_log").join("\n");
    assert!(
        !audit.contains(PASSWORD) && !audit.contains("argon2"),
        "{audit}"
    );
}
