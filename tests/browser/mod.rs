//! Headless Chromium for UI tests, driven over WebDriver: finds
//! `chromedriver` and `chromium`, starts chromedriver on a loopback port
//! the kernel picks, opens a session with a fresh profile, and offers the
//! few steps UI tests take (navigate, fill, click, wait, screenshot,
//! upload, download), each panicking with the page's URL and source when
//! it cannot be done.
//!
//! A test that needs the browser calls [`require`] first: when the
//! programs are missing it says why and which Debian packages bring them,
//! and the test skips; `DNSDESK_REQUIRE_BROWSER=1` (set in CI) turns the
//! skip into a failure.
//!
//! Chromium is a child of chromedriver but survives chromedriver's death
//! (SIGTERM or SIGKILL): it is stopped by asking chromedriver to shut
//! down (`GET /shutdown`, which quits every session first), in
//! [`Browser::quit`] or, best effort, when the [`Browser`] is dropped.

#![allow(dead_code)]

mod driver;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use driver::Driver;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long chromedriver may take to start, a page to load, or an element
/// or text to appear, before the test fails. Generous for busy CI
/// machines; only a failing test waits this long.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// How long a submit button's click may leave the page as it was before
/// [`Browser::submit`] takes it as lost and clicks once more.
pub const CLICK_LOST_AFTER: Duration = Duration::from_secs(10);

/// Pause between two checks while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// The phone viewport the layouts are checked at (CSS pixels).
pub const PHONE: (u32, u32) = (375, 812);

/// The desktop viewport; every session starts with it.
pub const DESKTOP: (u32, u32) = (1280, 900);

/// How much of the page source a failure message shows.
const EXCERPT_CHARS: usize = 4_000;

/// The installed programs: chromedriver and the Chromium it drives.
#[derive(Debug, Clone)]
pub struct Chromium {
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
}

/// Whether chromedriver and Chromium are installed; the error says what is
/// missing and which Debian package brings it. `DNSDESK_CHROMEDRIVER` and
/// `DNSDESK_CHROMIUM` name the programs (and then nothing else is tried);
/// otherwise `/usr/bin`, then PATH.
pub fn available() -> Result<Chromium, String> {
    Ok(Chromium {
        chromedriver: find_program("DNSDESK_CHROMEDRIVER", "chromedriver", "chromium-driver")?,
        chromium: find_program("DNSDESK_CHROMIUM", "chromium", "chromium")?,
    })
}

/// The browser when it can run here. Otherwise prints why the calling
/// test skips and returns None, or panics when `DNSDESK_REQUIRE_BROWSER=1`.
pub fn require() -> Option<Chromium> {
    match available() {
        Ok(chromium) => Some(chromium),
        Err(why) if std::env::var("DNSDESK_REQUIRE_BROWSER").as_deref() == Ok("1") => {
            panic!("a headless browser is required (DNSDESK_REQUIRE_BROWSER=1) but {why}")
        }
        Err(why) => {
            eprintln!("skipped: a headless browser is not available: {why}");
            None
        }
    }
}

/// The program `env` names, else `program` in `/usr/bin` or PATH; the
/// error names the Debian `package` that installs it.
fn find_program(env: &str, program: &str, package: &str) -> Result<PathBuf, String> {
    let install = format!(
        "Debian package `{package}` (`apt-get install chromium chromium-driver` brings both)"
    );
    if let Some(path) = std::env::var_os(env) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("{env}={} is not a file; {install}", path.display()))
        };
    }
    let in_path = std::env::var_os("PATH").unwrap_or_default();
    std::iter::once(PathBuf::from("/usr/bin"))
        .chain(std::env::split_paths(&in_path))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| format!("`{program}` is not installed (in /usr/bin or PATH); {install}"))
}

impl Chromium {
    /// Starts chromedriver and opens a headless Chromium session on a
    /// fresh profile, Indonesian locale, [`DESKTOP`] viewport; paths given
    /// to [`Browser::goto`] are relative to `base_url` (e.g.
    /// `http://127.0.0.1:PORT`).
    pub async fn open(&self, base_url: &str) -> Browser {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let driver = Driver::start(&self.chromedriver, &dir.path().join("chromedriver.log")).await;
        let profile = dir.path().join("profile");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": [
                    "--headless=new",
                    // Tests run as root, where Chromium's sandbox cannot start.
                    "--no-sandbox",
                    "--disable-gpu",
                    // Containers give /dev/shm 64 MB; Chromium crashes past it.
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.display()),
                    "--lang=id-ID",
                ],
                // `--lang` sets navigator.language; this the Accept-Language header.
                "prefs": { "intl.accept_languages": "id-ID" },
            },
            "timeouts": { "pageLoad": DEADLINE.as_millis(), "script": DEADLINE.as_millis() },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver did not open a Chromium session ({}): {e}\n--- chromedriver log ---\n{}",
                    self.chromium.display(),
                    driver.log()
                )
            });
        let browser = Browser {
            client,
            base: base_url.trim_end_matches('/').to_owned(),
            // Downloads are checked as the server answers them: a redirect
            // (to the login page, say) is the test's to see, not to follow.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}")),
            driver,
            dir,
        };
        browser.set_viewport(DESKTOP.0, DESKTOP.1).await;
        browser
    }
}

/// One headless Chromium session on its own chromedriver and profile.
/// Every step panics with what went wrong; waits end at [`DEADLINE`].
#[derive(Debug)]
pub struct Browser {
    client: Client,
    /// The service's URL without a trailing slash.
    base: String,
    http: reqwest::Client,
    driver: Driver,
    /// The profile (`--user-data-dir`) and chromedriver's log; removed
    /// after the driver, and so the browser, has stopped.
    dir: tempfile::TempDir,
}

impl Browser {
    /// The WebDriver client, for what the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `path` on the service (an absolute URL is kept as it is).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// Loads `path` (relative to the base URL) and waits for the load event.
    pub async fn goto(&self, path: &str) {
        let url = self.url(path);
        if let Err(e) = self.client.goto(&url).await {
            panic!("cannot load {url}: {e}");
        }
    }

    /// The URL the browser shows now.
    pub async fn current_url(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(e) => panic!("cannot read the current URL: {e}"),
        }
    }

    /// Runs `script` (a function body: `return …`) with `args`; returns its
    /// result.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        match self.client.execute(script, args).await {
            Ok(value) => value,
            Err(e) => panic!(
                "script failed on {}: {e}\n{script}",
                self.current_url().await
            ),
        }
    }

    /// The layout viewport: `window.innerWidth` × `window.innerHeight`.
    pub async fn viewport(&self) -> (u32, u32) {
        let size = self
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await;
        let side = |i: usize| size[i].as_u64().and_then(|v| u32::try_from(v).ok());
        match (side(0), side(1)) {
            (Some(width), Some(height)) => (width, height),
            _ => panic!("unexpected viewport size {size}"),
        }
    }

    /// Makes the viewport exactly `width` × `height` CSS pixels (see
    /// [`PHONE`], [`DESKTOP`]). WebDriver sizes the window, which in
    /// headless Chromium is the viewport plus 143 px of invisible browser
    /// UI in height (and, below 500 px, reports an outer width of 500 while
    /// the viewport is as asked); so the window is sized, the viewport
    /// measured, and the window corrected by the difference.
    pub async fn set_viewport(&self, width: u32, height: u32) {
        let (mut window_w, mut window_h) = (width, height);
        for _ in 0..3 {
            if let Err(e) = self.client.set_window_rect(0, 0, window_w, window_h).await {
                panic!("cannot size the window to {window_w}x{window_h}: {e}");
            }
            let (got_w, got_h) = self.viewport().await;
            if (got_w, got_h) == (width, height) {
                return;
            }
            window_w = (window_w + width).saturating_sub(got_w);
            window_h = (window_h + height).saturating_sub(got_h);
        }
        let got = self.viewport().await;
        panic!(
            "viewport is {got:?} with the window at {window_w}x{window_h}; wanted {width}x{height}"
        );
    }

    /// Saves a PNG of the viewport at `path`, creating its directories.
    pub async fn screenshot(&self, path: impl AsRef<Path>) {
        let path = path.as_ref();
        let png = match self.client.screenshot().await {
            Ok(png) => png,
            Err(e) => panic!(
                "cannot take a screenshot of {}: {e}",
                self.current_url().await
            ),
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        std::fs::write(path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// Waits until an element matches `css`; returns the first.
    pub async fn wait_for(&self, css: &str) -> Element {
        let deadline = Instant::now() + DEADLINE;
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => return element,
                Err(e) if e.is_no_such_element() => {}
                Err(e) => panic!("cannot look for `{css}`: {e}"),
            }
            if Instant::now() >= deadline {
                self.fail(&format!("nothing matches `{css}`")).await;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Waits until the text of the first element matching `css` contains
    /// `needle`; returns that text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        let mut last = None;
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => match element.text().await {
                    Ok(text) if text.contains(needle) => return text,
                    Ok(text) => last = Some(text),
                    // Replaced by a re-render between find and read.
                    Err(e) if e.is_stale_element_reference() => {}
                    Err(e) => panic!("cannot read the text of `{css}`: {e}"),
                },
                Err(e) if e.is_no_such_element() => {}
                Err(e) => panic!("cannot look for `{css}`: {e}"),
            }
            if Instant::now() >= deadline {
                let seen = last.map_or("nothing matches it".to_owned(), |t| {
                    format!("its text is {t:?}")
                });
                self.fail(&format!("`{css}` does not contain {needle:?}: {seen}"))
                    .await;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Panics with `why`, the current URL and the start of the page body.
    async fn fail(&self, why: &str) -> ! {
        let url = self.current_url().await;
        let source = self
            .client
            .source()
            .await
            .unwrap_or_else(|e| format!("<no source: {e}>"));
        let body = source
            .find("<body")
            .map_or(source.as_str(), |at| &source[at..]);
        let excerpt: String = body.chars().take(EXCERPT_CHARS).collect();
        let more = if excerpt.len() < body.len() {
            "\n[…]"
        } else {
            ""
        };
        panic!("after {DEADLINE:?} on {url}: {why}\n--- page ---\n{excerpt}{more}");
    }

    /// Replaces the value of the field matching `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        if let Err(e) = field.clear().await {
            panic!("cannot clear `{css}`: {e}");
        }
        if let Err(e) = field.send_keys(text).await {
            panic!("cannot type into `{css}`: {e}");
        }
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        if let Err(e) = self.wait_for(css).await.click().await {
            panic!("cannot click `{css}` on {}: {e}", self.current_url().await);
        }
    }

    /// Clicks the submit button matching `css` and waits until the browser
    /// has left the page (the form's answer is loaded).
    ///
    /// Chromium can lose a click: WebDriver checks the button is on top
    /// at its centre, then sends the mouse events by coordinates, and a
    /// page still settling (the letter's PDF viewer loads in an iframe
    /// beside the decision form) can take them elsewhere. CI saw it once:
    /// the reviewer's page unchanged 30 s after the click on Approve, the
    /// request never decided. So a click that leaves the page where it was
    /// for [`CLICK_LOST_AFTER`] is made once more, and said so on stderr;
    /// a form that does not submit still fails the test, and a second
    /// submission of one that did is the double click the service refuses
    /// (the tests of concurrent decisions cover that).
    pub async fn submit(&self, css: &str) {
        const MARK: &str = "window.__dnsdeskBeforeSubmit = true; return true;";
        self.execute(MARK, vec![]).await;
        self.click(css).await;
        if self.left_page(CLICK_LOST_AFTER).await {
            return;
        }
        eprintln!(
            "the click on `{css}` left {} as it was for {CLICK_LOST_AFTER:?}; clicking once more",
            self.current_url().await
        );
        self.click(css).await;
        if !self.left_page(DEADLINE).await {
            self.fail(&format!("clicking `{css}` twice did not leave the page"))
                .await;
        }
    }

    /// Whether, within `within`, the document marked by [`Self::submit`]
    /// was replaced by another.
    async fn left_page(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            // A script may fail while the next document loads: not yet.
            let marked = self
                .client
                .execute("return window.__dnsdeskBeforeSubmit === true;", vec![])
                .await;
            if let Ok(Value::Bool(false)) = marked {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// The rendered text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        match self.wait_for(css).await.text().await {
            Ok(text) => text,
            Err(e) => panic!("cannot read the text of `{css}`: {e}"),
        }
    }

    /// The absolute URL a link matching `css` points to.
    pub async fn href(&self, css: &str) -> String {
        match self.wait_for(css).await.prop("href").await {
            Ok(Some(href)) => href,
            Ok(None) => panic!("`{css}` has no href"),
            Err(e) => panic!("cannot read the href of `{css}`: {e}"),
        }
    }

    /// Chooses the file at `path` in the `<input type=file>` matching
    /// `css` (it may be hidden behind a styled label).
    pub async fn upload(&self, css: &str, path: impl AsRef<Path>) {
        let path = path.as_ref();
        let absolute = std::fs::canonicalize(path)
            .unwrap_or_else(|e| panic!("cannot upload {}: {e}", path.display()));
        let input = self.wait_for(css).await;
        if let Err(e) = input.send_keys(&absolute.display().to_string()).await {
            panic!("cannot choose {} in `{css}`: {e}", absolute.display());
        }
    }

    /// The value of the cookie `name` for the current page, if set.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        match self.client.get_named_cookie(name).await {
            Ok(cookie) => Some(cookie.value().to_owned()),
            Err(e) if e.is_no_such_cookie() => None,
            Err(e) => panic!("cannot read the cookie {name}: {e}"),
        }
    }

    /// GETs `path` (relative to the base URL, or an absolute URL such as
    /// an [`href`](Self::href)) outside the browser, carrying the
    /// browser's cookies for the current page: how a test checks a
    /// download. Redirects are returned, not followed. Returns the status,
    /// the Content-Type (empty when absent) and the body.
    pub async fn fetch_with_cookies(&self, path: &str) -> (u16, String, Vec<u8>) {
        let cookies = match self.client.get_all_cookies().await {
            Ok(cookies) => cookies,
            Err(e) => panic!("cannot read the browser's cookies: {e}"),
        };
        let header: Vec<String> = cookies
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect();
        let url = self.url(path);
        let mut request = self.http.get(&url);
        if !header.is_empty() {
            request = request.header("cookie", header.join("; "));
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url} failed: {e}"));
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("reading the body of {url} failed: {e}"));
        (status, content_type, body.to_vec())
    }

    /// Ends the session (Chromium exits) and stops chromedriver. Dropping
    /// a `Browser` does the same, best effort.
    pub async fn quit(self) {
        let Browser {
            client,
            driver,
            dir,
            ..
        } = self;
        if let Err(e) = client.close().await {
            panic!(
                "closing the session failed: {e}\n--- chromedriver log ---\n{}",
                driver.log()
            );
        }
        drop(driver);
        drop(dir);
    }
}
