//! The web UI over HTTP, as a browser without scripts uses it: sign-in and
//! sessions, CSRF on every form, agencies kept apart, the throttles, and a
//! request filed, approved and confirmed through the pages. (The same in a
//! real Chromium: tests/ui.rs.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::web::{WebSession, hidden};
use common::{DEADLINE, PDF, Site};
use reqwest::StatusCode;

common::on_both_databases!(
    a_request_goes_from_the_form_to_the_confirmation_letter,
    forms_without_this_sessions_csrf_token_are_refused,
    a_pd_sees_nothing_of_another_agency,
    sessions_end_at_logout_and_when_a_user_is_disabled,
    sign_in_is_throttled_and_failures_are_audited_without_the_password,
    the_public_check_is_rate_limited_per_client,
    behind_a_trusted_proxy_clients_are_told_apart_by_x_forwarded_for,
    over_https_the_session_cookie_is_secure_and_host_prefixed,
    a_pd_asks_for_a_change_and_a_removal_from_the_subdomains_page,
);

const PW: &str = "sungai-kapuas-2026";

fn site_with_people() -> Site {
    let site = Site::new();
    site.web_user("budi", "pd", Some("DISDIK"), PW);
    site.web_user("sari", "pd", Some("DINKES"), PW);
    site.web_user("rina", "reviewer", None, PW);
    site.web_user("boss", "admin", None, PW);
    site
}

/// Files `name` through the form; returns the request's page path.
async fn file(web: &mut WebSession, name: &str, ip: &str) -> String {
    let form = web.get("/requests/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let csrf = form.csrf();
    let filed = web
        .post_multipart(
            "/requests",
            &[
                ("csrf", &csrf),
                ("kind", "create"),
                ("name", name),
                ("record_type", "A"),
                ("record_value", ip),
                ("record_ttl", "300"),
                ("record_glue", ""),
                ("record_type", "AAAA"),
                ("record_value", ""),
                ("record_ttl", ""),
                ("record_glue", ""),
                ("purpose", "Portal layanan"),
                ("letter_number", "005/123/DISKOMINFO/2026"),
                ("letter_date", "2026-11-20"),
            ],
            Some(PDF),
        )
        .await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.body);
    let to = filed.location.unwrap();
    assert!(to.contains("msg=filed"), "{to}");
    to.split('?').next().unwrap().to_owned()
}

async fn a_request_goes_from_the_form_to_the_confirmation_letter() {
    let site = site_with_people();
    let dnsdesk = site.start();
    let base = dnsdesk.url("");
    let mut pd = WebSession::new(&base);
    assert_eq!(pd.login("budi", PW).await.status, StatusCode::SEE_OTHER);
    let page = file(&mut pd, "ppid.disdik.kalbarprov.go.id", "203.0.113.10").await;

    // The availability hint now says the name is taken by this request.
    let hint = pd
        .get("/names/availability?name=ppid.disdik.kalbarprov.go.id")
        .await;
    assert!(hint.body.contains("\"available\":false"), "{}", hint.body);
    assert!(hint.body.contains("DNS/2026/"), "{}", hint.body);

    let mut reviewer = WebSession::new(&base);
    reviewer.login("rina", PW).await;
    let queue = reviewer.get("/review").await;
    assert!(queue.body.contains("ppid.disdik.kalbarprov.go.id"));
    let detail = reviewer.get(&page).await;
    // The exact UPDATE and its prerequisite are shown before deciding.
    assert!(
        detail
            .body
            .contains("prereq nxdomain ppid.disdik.kalbarprov.go.id.")
    );
    assert!(
        detail
            .body
            .contains("update add ppid.disdik.kalbarprov.go.id. 300 IN A 203.0.113.10")
    );
    let csrf = detail.csrf();
    let digest = hidden(&detail.body, "digest").unwrap();
    let approve = [
        ("csrf", csrf.as_str()),
        ("decision", "approve"),
        ("digest", digest.as_str()),
        ("note", "Surat lengkap"),
    ];
    let approved = reviewer.post(&format!("{page}/decide"), &approve).await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    // A double click: shown where the request stands, never a second
    // update (counted in the audit log below).
    let again = reviewer.post(&format!("{page}/decide"), &approve).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(again.location.unwrap().contains("msg=already_decided"));

    // The live section settles on active.
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        let live = pd.get(&format!("{page}/live")).await;
        if live.body.contains("data-final") {
            assert!(live.body.contains("badge ok\">Aktif"), "{}", live.body);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", live.body);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let detail = pd.get(&page).await;
    assert!(detail.body.contains("id=\"confirmation-link\""));
    let letter = pd.get(&format!("{page}/confirmation")).await;
    assert_eq!(letter.status, StatusCode::OK);
    assert_eq!(letter.headers["content-type"], "application/pdf");
    assert!(letter.body.starts_with("%PDF-"));

    let token = site.staff("auditor", "netadmin");
    let story = dnsdesk
        .audit_story(&token, "ppid.disdik.kalbarprov.go.id")
        .await;
    let approvals = story
        .iter()
        .filter(|e| e["action"] == "request.approved")
        .count();
    let updates = story
        .iter()
        .filter(|e| e["action"] == "dns.update_sent")
        .count();
    assert_eq!((approvals, updates), (1, 1), "{story:?}");

    // The public check, without signing in, sees the record.
    let mut anyone = WebSession::new(&base);
    let check = anyone.get("/check?name=ppid.disdik.kalbarprov.go.id").await;
    assert!(
        check
            .body
            .contains("ppid.disdik.kalbarprov.go.id. 300 IN A 203.0.113.10"),
        "{}",
        check.body
    );
}

async fn forms_without_this_sessions_csrf_token_are_refused() {
    let site = site_with_people();
    let dnsdesk = site.start();
    let base = dnsdesk.url("");
    let mut pd = WebSession::new(&base);
    pd.login("budi", PW).await;
    let page = file(&mut pd, "web.disdik.kalbarprov.go.id", "203.0.113.11").await;

    let mut reviewer = WebSession::new(&base);
    reviewer.login("rina", PW).await;
    let detail = reviewer.get(&page).await;
    let digest = hidden(&detail.body, "digest").unwrap();
    let other_token = pd.get("/requests").await.csrf();
    for csrf in ["", "forged", other_token.as_str()] {
        let answer = reviewer
            .post(
                &format!("{page}/decide"),
                &[("csrf", csrf), ("decision", "approve"), ("digest", &digest)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "csrf {csrf:?}");
    }
    let still = reviewer.get(&page).await;
    assert!(still.body.contains("id=\"decision\""), "still submitted");

    // The login form too: a post without the pre-login cookie's token.
    let mut stranger = WebSession::new(&base);
    let answer = stranger
        .post(
            "/login",
            &[("username", "rina"), ("password", PW), ("csrf", "x")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(!stranger.cookies.contains_key("dnsdesk_session"));
}

async fn a_pd_sees_nothing_of_another_agency() {
    let site = site_with_people();
    let dnsdesk = site.start();
    let base = dnsdesk.url("");
    let mut budi = WebSession::new(&base);
    budi.login("budi", PW).await;
    let page = file(&mut budi, "sekolah.disdik.kalbarprov.go.id", "203.0.113.12").await;

    let mut sari = WebSession::new(&base);
    sari.login("sari", PW).await;
    for path in [
        page.clone(),
        format!("{page}/live"),
        format!("{page}/letter"),
        format!("{page}/confirmation"),
        format!("{page}/revise"),
    ] {
        let answer = sari.get(&path).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!answer.body.contains("sekolah.disdik"), "{path} leaks");
    }
    let list = sari.get("/requests").await;
    assert!(!list.body.contains("sekolah.disdik"));
    // Nor may a PD act as a reviewer.
    let csrf = list.csrf();
    let answer = sari
        .post(
            &format!("{page}/decide"),
            &[("csrf", &csrf), ("decision", "approve")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    // Staff pages send a PD away.
    for path in ["/review", "/jobs", "/audit", "/drift", "/admin/users"] {
        assert_eq!(sari.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
}

async fn sessions_end_at_logout_and_when_a_user_is_disabled() {
    let site = site_with_people();
    let dnsdesk = site.start();
    let base = dnsdesk.url("");
    let mut pd = WebSession::new(&base);
    let signed_in = pd.login("budi", PW).await;
    let set_cookie = signed_in.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    let stolen = pd.cookies.clone();

    let list = pd.get("/requests").await;
    assert_eq!(list.status, StatusCode::OK);
    let out = pd.post("/logout", &[("csrf", &list.csrf())]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    // The old cookie, replayed, no longer opens anything.
    let mut replay = WebSession::new(&base);
    replay.cookies = stolen;
    let answer = replay.get("/requests").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert!(answer.location.unwrap().starts_with("/login"));

    // An admin disables a signed-in PD: their session ends at once.
    let mut pd = WebSession::new(&base);
    pd.login("budi", PW).await;
    assert_eq!(pd.get("/requests").await.status, StatusCode::OK);
    let mut admin = WebSession::new(&base);
    admin.login("boss", PW).await;
    let users = admin.get("/admin/users").await;
    let row = users
        .body
        .split("<tr>")
        .find(|row| row.contains(">budi<"))
        .expect("budi is listed");
    let start = row.find("/admin/users/").unwrap();
    let action = &row[start..start + row[start..].find('"').unwrap()];
    assert!(action.ends_with("/disable"), "{action}");
    let answer = admin.post(action, &[("csrf", &users.csrf())]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let answer = pd.get("/requests").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(pd.login("budi", PW).await.status, StatusCode::UNAUTHORIZED);
}

async fn sign_in_is_throttled_and_failures_are_audited_without_the_password() {
    let site = site_with_people();
    let dnsdesk = site.start();
    let base = dnsdesk.url("");
    let mut guesser = WebSession::new(&base);
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(
            guesser
                .login("rina", &format!("wrong-guess-{i}"))
                .await
                .status,
        );
    }
    assert_eq!(statuses[..5], [StatusCode::UNAUTHORIZED; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
    // Locked: even the right password is not checked now.
    let locked = guesser.login("rina", PW).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers.contains_key("retry-after"));

    let mut admin = WebSession::new(&base);
    assert_eq!(admin.login("boss", PW).await.status, StatusCode::SEE_OTHER);
    let export = admin.get("/audit/export?format=jsonl&action=auth").await;
    assert_eq!(export.status, StatusCode::OK);
    let failed = export
        .body
        .lines()
        .filter(|l| l.contains("auth.login_failed"))
        .count();
    assert!(failed >= 5, "{}", export.body);
    assert!(export.body.contains("auth.login\""), "{}", export.body);
    assert!(
        !export.body.contains("wrong-guess"),
        "a password was logged"
    );
    assert!(!export.body.contains(PW), "a password was logged");
}

async fn the_public_check_is_rate_limited_per_client() {
    let site = Site::new();
    let dnsdesk = site.start();
    let mut anyone = WebSession::new(&dnsdesk.url(""));
    // A bad name names the field (and counts against the limit).
    let bad = anyone.get("/check?name=bad_name.kalbarprov.go.id").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("name: "), "{}", bad.body);
    let mut limited = None;
    for i in 0..20 {
        let page = anyone.get("/check?name=apa.kalbarprov.go.id").await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((i, page));
            break;
        }
        assert_eq!(page.status, StatusCode::OK);
    }
    let (i, page) = limited.expect("never limited");
    assert_eq!(i, 9, "the burst is 10");
    assert!(page.headers.contains_key("retry-after"));
}

/// The public check's rate limit (a burst of 10 per client) behind a
/// reverse proxy: with the proxy trusted, each forwarded-for client has
/// its own allowance; without, the header is ignored and every request
/// counts against the peer (here the test itself), forged or not.
async fn behind_a_trusted_proxy_clients_are_told_apart_by_x_forwarded_for() {
    let site = Site::new();
    let check = |dnsdesk: &common::Instance, client: &'static str| {
        let request = dnsdesk
            .client
            .get(dnsdesk.url("/check?name=apa.kalbarprov.go.id"))
            .header("x-forwarded-for", client)
            .send();
        async move { request.await.unwrap().status() }
    };
    let behind_nginx = site.start_with_env(&[("DNSDESK_TRUSTED_PROXIES", "127.0.0.1".to_owned())]);
    for _ in 0..10 {
        assert_eq!(check(&behind_nginx, "198.51.100.7").await, StatusCode::OK);
    }
    assert_eq!(
        check(&behind_nginx, "198.51.100.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy is not held back.
    assert_eq!(check(&behind_nginx, "198.51.100.8").await, StatusCode::OK);
    // Nor is it by a forged first hop: the proxy appended the real one.
    assert_eq!(
        check(&behind_nginx, "198.51.100.7, 198.51.100.9").await,
        StatusCode::OK
    );
    drop(behind_nginx);

    let direct = site.start();
    for n in 0..10 {
        let forged = ["198.51.100.1", "198.51.100.2"][n % 2];
        assert_eq!(check(&direct, forged).await, StatusCode::OK);
    }
    assert_eq!(
        check(&direct, "198.51.100.3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn over_https_the_session_cookie_is_secure_and_host_prefixed() {
    let site = site_with_people();
    let dnsdesk = site.start_with_env(&[(
        "DNSDESK_PUBLIC_URL",
        "https://dnsdesk.kalbarprov.go.id".to_owned(),
    )]);
    let mut pd = WebSession::new(&dnsdesk.url(""));
    let signed_in = pd.login("budi", PW).await;
    let cookies: Vec<String> = signed_in
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-dnsdesk_session="))
        .unwrap_or_else(|| panic!("{cookies:?}"));
    assert!(session.contains("; Secure") && session.contains("Path=/"));
    assert!(!session.contains("Domain="));
}

async fn a_pd_asks_for_a_change_and_a_removal_from_the_subdomains_page() {
    let site = site_with_people();
    let pd_token = site.pd("DISPAR");
    let reviewer = site.staff("rev2", "reviewer");
    site.web_user("dewi", "pd", Some("DISPAR"), PW);
    let dnsdesk = site.start();
    dnsdesk
        .provision(
            &pd_token,
            &reviewer,
            "wisata.dispar.kalbarprov.go.id",
            serde_json::json!([{"type": "A", "value": "203.0.113.40", "ttl": 300}]),
        )
        .await;
    let mut pd = WebSession::new(&dnsdesk.url(""));
    pd.login("dewi", PW).await;
    let page = pd.get("/subdomains/wisata.dispar.kalbarprov.go.id").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("/requests/new?kind=change&amp;name=wisata.dispar.kalbarprov.go.id")
    );
    assert!(
        page.body
            .contains("/requests/new?kind=remove&amp;name=wisata.dispar.kalbarprov.go.id")
    );

    // The change form starts from what the name holds now.
    let form = pd
        .get("/requests/new?kind=change&name=wisata.dispar.kalbarprov.go.id")
        .await;
    assert!(
        form.body.contains("value=\"203.0.113.40\""),
        "{}",
        form.body
    );
    let csrf = form.csrf();
    let base = [
        ("csrf", csrf.as_str()),
        ("name", "wisata.dispar.kalbarprov.go.id"),
        ("purpose", "Pindah server"),
        ("letter_number", "005/9/DISPAR/2026"),
        ("letter_date", "2026-11-20"),
    ];
    let mut change = base.to_vec();
    change.extend([
        ("kind", "change"),
        ("record_type", "A"),
        ("record_value", "203.0.113.41"),
        ("record_ttl", "300"),
        ("record_glue", ""),
    ]);
    let filed = pd.post_multipart("/requests", &change, Some(PDF)).await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.body);
    let detail = pd
        .get(filed.location.unwrap().split('?').next().unwrap())
        .await;
    assert!(detail.body.contains("Perubahan"), "{}", detail.body);
    assert!(detail.body.contains("A 203.0.113.41 300"));

    // A removal while the change is open is refused, naming the field.
    let mut removal = base.to_vec();
    removal.push(("kind", "remove"));
    let refused = pd.post_multipart("/requests", &removal, Some(PDF)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused.body.contains("<strong>name</strong>"),
        "{}",
        refused.body
    );
}
