//! The browser harness proves itself against the real binary: headless
//! Chromium opens the service, reads a page, takes exact phone and desktop
//! viewports and saves screenshots of them. Skips without Chromium (fails
//! with DNSDESK_REQUIRE_BROWSER=1).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod common;

use std::path::Path;

use browser::{DESKTOP, PHONE};
use common::Site;
use serde_json::json;

/// The width in an image's PNG header: the 8-byte signature, then the
/// IHDR chunk (length, type, then width and height, big-endian).
fn png_width(path: &Path) -> u32 {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    assert_eq!(
        &bytes[12..16],
        b"IHDR",
        "{} has no IHDR first",
        path.display()
    );
    u32::from_be_bytes(bytes[16..20].try_into().unwrap())
}

#[tokio::test]
async fn chromium_reads_the_service_at_phone_and_desktop_widths() {
    let Some(chromium) = browser::require() else {
        return;
    };
    let site = Site::new();
    let dnsdesk = site.start();
    let browser = chromium.open(&dnsdesk.url("")).await;
    let shots = tempfile::tempdir().unwrap();

    browser.goto("/healthz").await;
    assert_eq!(browser.text("body").await, "ok");
    assert_eq!(browser.current_url().await, dnsdesk.url("/healthz"));

    for (name, (width, height)) in [("phone", PHONE), ("desktop", DESKTOP)] {
        browser.set_viewport(width, height).await;
        let inner = browser
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await;
        assert_eq!(inner, json!([width, height]), "{name} viewport");
        let shot = shots.path().join(name).join("healthz.png");
        browser.screenshot(&shot).await;
        assert_eq!(png_width(&shot), width, "{name} screenshot");
    }

    browser.quit().await;
}
