//! The web UI in a real headless Chromium: a PD files a request with its
//! PDF letter on a phone, a reviewer approves it on a desktop and watches
//! it go active, the PD downloads the confirmation letter; a form without
//! its CSRF token is refused; a PD cannot open another agency's request.
//! Every page is checked for horizontal overflow at 375 px, and
//! screenshots of the main pages are saved (to `target/screenshots`, or
//! to `$DNSDESK_SCREENSHOTS`: `docs/screenshots` refreshes the README's).
//!
//! Skips without Chromium; `DNSDESK_REQUIRE_BROWSER=1` fails instead.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod common;

use std::path::PathBuf;

use browser::{Browser, DESKTOP, PHONE};
use common::Site;
use serde_json::json;

common::on_both_databases!(
    a_pd_files_a_reviewer_approves_and_the_pd_downloads_the_letter,
    a_reviewers_form_without_its_csrf_token_is_refused,
);

const PW: &str = "sungai-kapuas-2026";

fn screenshot_dir() -> PathBuf {
    match std::env::var_os("DNSDESK_SCREENSHOTS") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir)
            }
        }
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots"),
    }
}

/// Saves a screenshot named `name` and checks that nothing is wider than
/// the viewport (no sideways scrolling on a phone).
async fn shot(browser: &Browser, name: &str) {
    let overflow = browser
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await;
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "{name}: the page is {overflow} px wider than the viewport"
    );
    browser
        .screenshot(screenshot_dir().join(format!("{name}.png")))
        .await;
}

async fn sign_in(browser: &Browser, username: &str) {
    browser.goto("/login").await;
    browser.fill("#username", username).await;
    browser.fill("#password", PW).await;
    browser.submit("#login-submit").await;
    browser.wait_for("form.logout").await;
}

/// The request id in the current URL (`/requests/7?msg=filed`).
async fn request_path(browser: &Browser) -> String {
    let url = browser.current_url().await;
    let path = url.split("/requests/").nth(1).unwrap();
    format!("/requests/{}", path.split(['?', '#']).next().unwrap())
}

async fn file_request(browser: &Browser, name: &str, ip: &str, letter: &std::path::Path) {
    browser.goto("/requests/new").await;
    browser.fill("#name", name).await;
    // The availability hint answers while typing.
    browser.wait_for_text("#name-status", "tersedia").await;
    browser.fill("#record-value-0", ip).await;
    browser.fill("#record-ttl-0", "300").await;
    browser
        .fill(
            "#purpose",
            "Portal Pejabat Pengelola Informasi dan Dokumentasi",
        )
        .await;
    browser.fill("#letter_number", "005/123/DISDIK/2026").await;
    // Typing into a date field depends on the locale's format; set it.
    browser
        .execute(
            "document.getElementById('letter_date').value = arguments[0]; return true;",
            vec![json!("2026-11-20")],
        )
        .await;
    browser.upload("#letter", letter).await;
}

async fn a_pd_files_a_reviewer_approves_and_the_pd_downloads_the_letter() {
    let Some(chromium) = browser::require() else {
        return;
    };
    let site = Site::new();
    site.web_user("budi", "pd", Some("DISDIK"), PW);
    site.web_user("sari", "pd", Some("DINKES"), PW);
    site.web_user("rina", "reviewer", None, PW);
    site.web_user("net", "netadmin", None, PW);
    site.web_user("boss", "admin", None, PW);
    let dnsdesk = site.start();
    let letter = site.dir.path().join("surat-permintaan.pdf");
    std::fs::write(&letter, common::PDF).unwrap();

    // The PD, on a phone.
    let pd = chromium.open(&dnsdesk.url("")).await;
    pd.set_viewport(PHONE.0, PHONE.1).await;
    pd.goto("/login").await;
    shot(&pd, "login-phone").await;
    sign_in(&pd, "budi").await;
    file_request(&pd, "ppid.disdik.kalbarprov.go.id", "203.0.113.10", &letter).await;
    shot(&pd, "new-request-phone").await;
    pd.submit("#submit-request").await;
    pd.wait_for_text("p.notice", "Permohonan telah diajukan")
        .await;
    shot(&pd, "request-submitted-phone").await;
    let page = request_path(&pd).await;

    // The reviewer, on a desktop: the queue, the checks, the UPDATE.
    let reviewer = chromium.open(&dnsdesk.url("")).await;
    reviewer.set_viewport(DESKTOP.0, DESKTOP.1).await;
    sign_in(&reviewer, "rina").await;
    reviewer.goto("/review").await;
    reviewer
        .wait_for_text("main", "ppid.disdik.kalbarprov.go.id")
        .await;
    shot(&reviewer, "review-queue-desktop").await;
    reviewer.goto(&page).await;
    reviewer
        .wait_for_text("#review", "prereq nxdomain ppid.disdik.kalbarprov.go.id.")
        .await;
    let checks = reviewer.text("ul.checks").await;
    assert_eq!(checks.matches("lulus").count(), 4, "{checks}");
    reviewer
        .execute(
            "document.getElementById('checks').scrollIntoView(); return true;",
            vec![],
        )
        .await;
    shot(&reviewer, "review-desktop").await;
    reviewer.fill("#note", "Surat lengkap dan sah.").await;
    reviewer.submit("#approve").await;
    // The page follows provisioning live until every server agrees.
    reviewer
        .wait_for_text(
            "#live-state",
            "Subdomain aktif di seluruh server otoritatif",
        )
        .await;
    let servers = reviewer.text("#live table").await;
    assert!(servers.contains("203.0.113.10"), "{servers}");
    reviewer
        .execute("window.scrollTo(0, 0); return true;", vec![])
        .await;
    shot(&reviewer, "approved-active-desktop").await;

    // The PD sees it active and downloads the confirmation letter.
    pd.goto(&page).await;
    pd.wait_for("#confirmation-link").await;
    pd.execute(
        "document.getElementById('live').scrollIntoView(); return true;",
        vec![],
    )
    .await;
    shot(&pd, "request-active-phone").await;
    let href = pd.href("#confirmation-link").await;
    let (status, content_type, bytes) = pd.fetch_with_cookies(&href).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/pdf");
    let pdf = lopdf::Document::load_mem(&bytes).unwrap();
    let pages: Vec<u32> = pdf.get_pages().keys().copied().collect();
    let text = pdf.extract_text(&pages).unwrap();
    assert!(text.contains("ppid.disdik.kalbarprov.go.id"), "{text}");
    assert!(text.contains("203.0.113.10"), "{text}");

    // Anyone, signed in or not, can check the name.
    pd.goto("/check?name=ppid.disdik.kalbarprov.go.id").await;
    pd.wait_for_text("main table", "203.0.113.10").await;
    shot(&pd, "check-phone").await;

    // A citizen files a complaint (pengaduan) on a phone, without signing
    // in, and follows it by its tracking code.
    let citizen = chromium.open(&dnsdesk.url("")).await;
    citizen.set_viewport(PHONE.0, PHONE.1).await;
    citizen.goto("/complaints/new").await;
    citizen.fill("#name", "Siti Rahma").await;
    citizen.fill("#contact", "0812-5555-0101").await;
    citizen
        .fill(
            "#description",
            "Situs sekolah tidak bisa dibuka sejak kemarin.",
        )
        .await;
    shot(&citizen, "complaint-phone").await;
    citizen.submit("#submit-complaint").await;
    let code = citizen.text("#tracking-code").await;
    assert!(code.starts_with("ADU-"), "{code}");
    citizen
        .goto(&format!("/complaints/status?code={code}"))
        .await;
    citizen.wait_for_text("#complaint-state", "Diterima").await;
    shot(&citizen, "complaint-status-phone").await;
    citizen.quit().await;

    // Another agency's PD gets "not found" for the same URL.
    let other = chromium.open(&dnsdesk.url("")).await;
    sign_in(&other, "sari").await;
    other.goto(&page).await;
    other.wait_for_text("main", "tidak ditemukan").await;
    assert!(!other.text("main").await.contains("ppid.disdik"));
    other.quit().await;

    // A network admin's view of provisioning and the audit log.
    let net = chromium.open(&dnsdesk.url("")).await;
    sign_in(&net, "net").await;
    net.goto("/audit?name=ppid.disdik.kalbarprov.go.id").await;
    net.wait_for_text("main table", "request.active").await;
    shot(&net, "audit-desktop").await;
    net.goto("/subdomains").await;
    net.wait_for_text("main table", "DISDIK").await;
    shot(&net, "subdomains-desktop").await;
    net.quit().await;

    // The admin's SLA dashboard counts the request as done on time.
    let admin = chromium.open(&dnsdesk.url("")).await;
    sign_in(&admin, "boss").await;
    admin.goto("/reports").await;
    let totals = admin.wait_for_text("#sla-totals", "100 %").await;
    assert!(totals.contains("(1/1)"), "{totals}");
    admin.wait_for("#sla-chart").await;
    shot(&admin, "reports-desktop").await;
    admin.quit().await;

    pd.quit().await;
    reviewer.quit().await;
}

async fn a_reviewers_form_without_its_csrf_token_is_refused() {
    let Some(chromium) = browser::require() else {
        return;
    };
    let site = Site::new();
    site.web_user("budi", "pd", Some("DISDIK"), PW);
    site.web_user("rina", "reviewer", None, PW);
    let dnsdesk = site.start();
    let letter = site.dir.path().join("surat.pdf");
    std::fs::write(&letter, common::PDF).unwrap();

    let pd = chromium.open(&dnsdesk.url("")).await;
    sign_in(&pd, "budi").await;
    file_request(&pd, "web.disdik.kalbarprov.go.id", "203.0.113.11", &letter).await;
    pd.submit("#submit-request").await;
    pd.wait_for("p.notice").await;
    let page = request_path(&pd).await;
    pd.quit().await;

    let reviewer = chromium.open(&dnsdesk.url("")).await;
    sign_in(&reviewer, "rina").await;
    reviewer.goto(&page).await;
    reviewer.wait_for("#decision").await;
    // What a forged cross-site form would lack.
    reviewer
        .execute(
            "document.querySelector('#decision input[name=csrf]').remove(); return true;",
            vec![],
        )
        .await;
    reviewer.fill("#note", "Surat tidak distempel.").await;
    reviewer.submit("#reject").await;
    reviewer.wait_for_text("main", "Formulir kedaluwarsa").await;
    // Nothing happened to the request.
    reviewer.goto(&page).await;
    reviewer.wait_for("#decision").await;
    assert!(reviewer.text("#request-state").await.contains("Diajukan"));
    reviewer.quit().await;
}
