//! dnsdesk's TSIG against BIND 9, for all five algorithms: one `named` on
//! 127.0.0.1 with a key per algorithm (made by `tsig-keygen` and read with
//! `TsigKey::read_file`), a primary zone `example.test` that grants each
//! key updates and transfers, and a secondary zone `notify.test`. For each
//! key: a signed UPDATE is accepted and its record served, a signed AXFR
//! of many messages (`transfer-message-size` kept small) verifies, a wrong
//! secret is BADSIG, a Time Signed an hour off is BADTIME, and a signed
//! NOTIFY is acknowledged. hmac-sha224 and hmac-sha1 are the algorithms
//! hickory cannot check, so BIND is their reference.
//!
//! Without `/usr/sbin/named` the test says why and passes, unless
//! DNSDESK_REQUIRE_SERVERS=1, which makes it fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Message, ResponseCode, update_message};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordSet, RecordType};
use provisioner::client::{query, send_notify, send_update, send_update_at, soa_serial, transfer};
use provisioner::error::{NotifyError, QueryError, TsigFailure, UpdateError};
use provisioner::tsig::{TsigAlgorithm, TsigKey, TsigSecret};

const NAMED: &str = "/usr/sbin/named";
const TSIG_KEYGEN: &str = "/usr/sbin/tsig-keygen";
const TIMEOUT: Duration = Duration::from_secs(5);
/// Records padding the zone so that its transfer spans many messages.
const PADDING: usize = 150;

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn zone() -> Name {
    name("example.test.")
}

/// A running `named`, killed when dropped (also when a test panics).
struct Named {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Named {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("named.log")).unwrap_or_default()
    }
}

/// A port free on 127.0.0.1 for both UDP and TCP, as far as can be known
/// before `named` binds it.
fn free_port() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = tcp.local_addr().unwrap().port();
        if std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
}

/// A key per algorithm as `tsig-keygen -a ALGORITHM k-ALGORITHM` writes
/// it, read back with our reader; our own generator if the tool is absent.
fn keys(dir: &Path) -> Vec<TsigKey> {
    TsigAlgorithm::ALL
        .into_iter()
        .map(|algorithm| {
            let key_name = format!("k-{algorithm}");
            let path = dir.join(format!("{key_name}.key"));
            if Path::new(TSIG_KEYGEN).exists() {
                let out = Command::new(TSIG_KEYGEN)
                    .args(["-a", algorithm.as_str(), &key_name])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "tsig-keygen -a {algorithm} failed");
                std::fs::write(&path, out.stdout).unwrap();
            } else {
                TsigKey::generate(name(&key_name), algorithm)
                    .write_file_new(&path)
                    .unwrap();
            }
            let key = TsigKey::read_file(&path).unwrap();
            assert_eq!(key.algorithm, algorithm);
            assert_eq!(key.secret.expose().len(), algorithm.output_len());
            key
        })
        .collect()
}

/// Starts `named -g` in a fresh directory serving `example.test` (updates
/// and transfers granted to each of `keys`) and the secondary zone
/// `notify.test`, and waits until it answers.
async fn start_named(named: &Path) -> (Named, Vec<TsigKey>) {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys(dir.path());
    let port = free_port();
    let d = dir.path().display();

    let mut zone_file = String::from(
        "$TTL 300\n\
         @   IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 300\n\
         @   IN NS  ns1.example.test.\n\
         ns1 IN A   127.0.0.1\n",
    );
    for i in 0..PADDING {
        writeln!(
            zone_file,
            "pad{i} IN TXT \"padding so that a transfer takes many messages\""
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("example.test.db"), zone_file).unwrap();

    let mut conf = format!(
        "options {{\n\
         \tdirectory \"{d}\";\n\
         \tpid-file \"{d}/named.pid\";\n\
         \tsession-keyfile \"{d}/session.key\";\n\
         \tmanaged-keys-directory \"{d}\";\n\
         \tlisten-on port {port} {{ 127.0.0.1; }};\n\
         \tlisten-on-v6 {{ none; }};\n\
         \trecursion no;\n\
         \tdnssec-validation no;\n\
         \tnotify no;\n\
         \ttransfer-message-size 1024;\n\
         }};\n\
         controls {{ }};\n"
    );
    let mut grants = String::new();
    let mut transfers = String::new();
    for key in &keys {
        conf.push_str(&key.to_bind_key_file());
        let k = key.name.to_ascii();
        writeln!(grants, "\t\tgrant \"{k}\" subdomain example.test. ANY;").unwrap();
        write!(transfers, " key \"{k}\";").unwrap();
    }
    write!(
        conf,
        "zone \"example.test\" {{\n\
         \ttype primary;\n\
         \tfile \"example.test.db\";\n\
         \tupdate-policy {{\n{grants}\t}};\n\
         \tallow-transfer {{{transfers} }};\n\
         }};\n\
         zone \"notify.test\" {{\n\
         \ttype secondary;\n\
         \tprimaries {{ 127.0.0.1 port {port}; }};\n\
         \tfile \"notify.test.db\";\n\
         }};\n"
    )
    .unwrap();
    let conf_path = dir.path().join("named.conf");
    std::fs::write(&conf_path, conf).unwrap();

    let log = std::fs::File::create(dir.path().join("named.log")).unwrap();
    let child = Command::new(named)
        .arg("-g")
        .arg("-c")
        .arg(&conf_path)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut server = Named {
        child,
        addr: (Ipv4Addr::LOCALHOST, port).into(),
        dir,
    };

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!(
                "named exited ({status}) before answering:\n{}",
                server.log()
            );
        }
        if soa_serial(server.addr, &zone(), Duration::from_millis(500))
            .await
            .is_ok()
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "named did not answer for example.test in time:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (server, keys)
}

/// An update creating `owner` A `ip` if no A RRset is there (hickory's
/// `create`: RFC 2136 §2.4.3 "RRset does not exist").
fn create_a(owner: &Name, ip: Ipv4Addr) -> Message {
    let record = Record::from_rdata(owner.clone(), 300, RData::A(A::from(ip)));
    update_message::create(RecordSet::from(record), zone(), false)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `named`'s path, or why the test cannot run.
fn named_binary() -> Result<PathBuf, String> {
    let path = PathBuf::from(NAMED);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{NAMED} is not installed (Debian: apt-get install bind9)"
        ))
    }
}

#[tokio::test]
async fn every_algorithm_interoperates_with_bind() {
    let named = match named_binary() {
        Ok(path) => path,
        Err(why) if std::env::var("DNSDESK_REQUIRE_SERVERS").as_deref() == Ok("1") => {
            panic!("DNSDESK_REQUIRE_SERVERS=1 but BIND cannot be run: {why}")
        }
        Err(why) => {
            eprintln!("skipping the BIND TSIG interop test: {why}");
            return;
        }
    };
    let (server, keys) = start_named(&named).await;
    let addr = server.addr;

    for (i, key) in keys.iter().enumerate() {
        let algorithm = key.algorithm;
        let context = || format!("{algorithm}; named's log:\n{}", server.log());
        let owner = name(&format!("{algorithm}.example.test."));
        let ip = Ipv4Addr::new(192, 0, 2, 10 + i as u8);

        // A signed update is accepted (its answer verified) and served.
        send_update(addr, key, create_a(&owner, ip), TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("update: {e}; {}", context()));
        let answer = query(addr, &owner, RecordType::A, TIMEOUT).await.unwrap();
        assert_eq!(answer.rcode, ResponseCode::NoError, "{algorithm}");
        let served: Vec<&RData> = answer.answers.iter().map(|r| &r.data).collect();
        assert_eq!(served, [&RData::A(A::from(ip))], "{algorithm}");

        // A signed transfer over many messages verifies, message by message.
        let records = transfer(addr, &zone(), key, TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("transfer: {e}; {}", context()));
        assert!(
            records
                .iter()
                .any(|r| r.name == owner && r.data == RData::A(A::from(ip))),
            "{algorithm}: the transfer lacks the new record"
        );
        let txt = records
            .iter()
            .filter(|r| r.record_type() == RecordType::TXT)
            .count();
        assert_eq!(txt, PADDING, "{algorithm}");

        // The same key name and algorithm with another secret: BADSIG.
        let forged = TsigKey {
            secret: TsigSecret::new(vec![0x5a; algorithm.output_len()]),
            ..key.clone()
        };
        let other = name(&format!("forged-{algorithm}.example.test."));
        let error = send_update(addr, &forged, create_a(&other, ip), TIMEOUT)
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                UpdateError::Tsig {
                    failure: TsigFailure::BadSig,
                    ..
                }
            ),
            "{algorithm}: {error:?}"
        );
        assert_eq!(error.rcode(), Some(ResponseCode::BADSIG));
        let error = transfer(addr, &zone(), &forged, TIMEOUT).await.unwrap_err();
        assert!(
            matches!(
                error,
                QueryError::Tsig {
                    failure: TsigFailure::BadSig,
                    ..
                }
            ),
            "{algorithm}: {error:?}"
        );

        // Signed an hour ago: BADTIME, and nothing is applied.
        let late = name(&format!("late-{algorithm}.example.test."));
        let error = send_update_at(addr, key, create_a(&late, ip), TIMEOUT, unix_now() - 3600)
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                UpdateError::Tsig {
                    failure: TsigFailure::BadTime,
                    ..
                }
            ),
            "{algorithm}: {error:?}"
        );
        let answer = query(addr, &late, RecordType::A, TIMEOUT).await.unwrap();
        assert_eq!(answer.rcode, ResponseCode::NXDomain, "{algorithm}");

        // A signed NOTIFY to the secondary zone is acknowledged, signed.
        send_notify(addr, &name("notify.test."), Some(2), Some(key), TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("notify: {e}; {}", context()));
    }

    // An unknown key name: BADKEY.
    let stranger = TsigKey {
        name: name("stranger."),
        ..keys[0].clone()
    };
    let error = send_update(
        addr,
        &stranger,
        create_a(&name("s.example.test."), Ipv4Addr::LOCALHOST),
        TIMEOUT,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            error,
            UpdateError::Tsig {
                failure: TsigFailure::BadKey,
                ..
            }
        ),
        "{error:?}"
    );

    // NOTIFY unsigned, and for a zone the server does not serve.
    send_notify(addr, &name("notify.test."), None, None, TIMEOUT)
        .await
        .unwrap();
    let error = send_notify(addr, &name("elsewhere.test."), None, None, TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        matches!(error, NotifyError::Rcode { .. }),
        "{error:?}; named's log:\n{}",
        server.log()
    );
    assert!(!error.is_retryable());
}
