//! The chromedriver process: started on a port the kernel picks, polled
//! until ready, and on drop asked to shut down, which quits the Chromium
//! it started (Chromium outlives a chromedriver that is merely killed).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{DEADLINE, POLL_INTERVAL};

/// A chromedriver process, asked to shut down (which quits its browsers)
/// and then killed when dropped.
#[derive(Debug)]
pub(super) struct Driver {
    child: Child,
    addr: SocketAddr,
    /// `http://127.0.0.1:PORT/`, where the WebDriver API is served.
    pub(super) url: String,
    log: PathBuf,
}

impl Driver {
    /// Starts chromedriver on a port the kernel picks (`--port=0`; it
    /// prints the port), then polls `/status` until it is ready.
    pub(super) async fn start(program: &Path, log: &Path) -> Driver {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", log.display()));
        let stderr = file
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone a file handle: {e}"));
        let mut child = Command::new(program)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
        let stdout = child
            .stdout
            .take()
            .unwrap_or_else(|| unreachable!("stdout is piped"));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut file = file;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = writeln!(file, "{line}");
                // "ChromeDriver was started successfully on port 34183."
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let _ = tx.send(rest.trim_end_matches('.').parse::<u16>());
                }
            }
        });
        let mut driver = Driver {
            child,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            url: String::new(),
            log: log.to_owned(),
        };
        match rx.recv_timeout(DEADLINE) {
            Ok(Ok(port)) => driver.addr.set_port(port),
            outcome => panic!(
                "chromedriver did not say which port it listens on ({outcome:?}); log:\n{}",
                driver.log()
            ),
        }
        driver.url = format!("http://{}/", driver.addr);
        driver.wait_ready().await;
        driver
    }

    /// Polls `GET /status` until chromedriver reports `ready`.
    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + DEADLINE;
        loop {
            let last = match http.get(format!("{}status", self.url)).send().await {
                Ok(resp) => match resp.json::<Value>().await {
                    Ok(status) if status["value"]["ready"] == json!(true) => return,
                    Ok(status) => status.to_string(),
                    Err(e) => e.to_string(),
                },
                Err(e) => e.to_string(),
            };
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!(
                    "chromedriver exited with {exit} while starting; log:\n{}",
                    self.log()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "chromedriver at {} not ready within {DEADLINE:?} (last: {last}); log:\n{}",
                    self.addr,
                    self.log()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// What chromedriver printed so far.
    pub(super) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET /shutdown`, blocking: chromedriver quits its sessions (so
    /// Chromium exits) and then itself. Works from `Drop`, with or without
    /// a runtime.
    fn shutdown(&self) -> std::io::Result<()> {
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "GET /shutdown HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).map(|_| ())
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if self.shutdown().is_ok() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
