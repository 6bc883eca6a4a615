//! Smoke tests of the real-server harness in `tests/servers/`: every
//! snippet it reads is in the deploy guides; each primary (BIND, Knot,
//! PowerDNS) answers for the zone, takes a signed update and raises the
//! serial; its BIND secondary follows and takes dnsdesk's NOTIFY; the
//! update policy and the transfer ACL answer as the guides' tables say; a
//! restart keeps the data. A server that is not installed skips its test
//! (DNSDESK_REQUIRE_SERVERS=1 makes that a failure).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod servers;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode, UpdateMessage};
use hickory_proto::rr::rdata::NS;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use provisioner::client::{query, send_notify, send_update, send_update_at, soa_serial, transfer};
use provisioner::error::{QueryError, TsigFailure, UpdateError, rcode_name};
use provisioner::plan::{UpdatePlan, ZoneSlice};
use provisioner::tsig::{TsigAlgorithm, TsigKey};
use servers::snippets::{Doc, snippet};
use servers::{Kind, ZoneSetup};

const TIMEOUT: Duration = Duration::from_secs(2);

/// The serial in zones/kalbarprov.go.id.zone.
const FILE_SERIAL: u32 = 2026112801;

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn a(owner: &str, ip: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::A(ip.parse().unwrap()))
}

/// An UPDATE adding `records`, without prerequisites, so that what
/// answers is the server's policy and nothing else.
fn update(zone: &Name, records: Vec<Record>) -> Message {
    let mut message =
        UpdatePlan::between(zone, &ZoneSlice::default(), &ZoneSlice::default()).to_message();
    for record in records {
        message.add_update(record);
    }
    message
}

/// The rcode (or TSIG error) an update's outcome stands for, as dnsdesk
/// records it.
fn outcome(result: &Result<(), UpdateError>) -> String {
    match result {
        Ok(()) => "NOERROR".to_owned(),
        Err(e) => e.rcode().map_or_else(|| format!("{e:?}"), rcode_name),
    }
}

/// The rcode (or TSIG error) a refused transfer stands for.
fn refusal(result: &Result<Vec<Record>, QueryError>) -> String {
    match result {
        Ok(records) => format!("{} records", records.len()),
        Err(QueryError::Unusable { rcode, .. }) => rcode_name(*rcode),
        Err(QueryError::Tsig {
            failure: TsigFailure::BadKey,
            ..
        }) => "BADKEY".to_owned(),
        Err(other) => format!("{other:?}"),
    }
}

/// The A records `server` serves at `owner`, sorted.
async fn served_a(server: SocketAddr, owner: &str) -> Vec<String> {
    let answer = query(server, &name(owner), RecordType::A, TIMEOUT)
        .await
        .unwrap();
    let mut out: Vec<String> = answer.answers.iter().map(|r| r.data.to_string()).collect();
    out.sort();
    out
}

/// One unsigned request and the first message of its answer, over TCP.
fn unsigned_tcp(server: SocketAddr, message: &Message) -> Message {
    let bytes = message.to_vec().unwrap();
    let mut stream = TcpStream::connect(server).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream
        .write_all(&u16::try_from(bytes.len()).unwrap().to_be_bytes())
        .unwrap();
    stream.write_all(&bytes).unwrap();
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).unwrap();
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut reply).unwrap();
    Message::from_vec(&reply).unwrap()
}

fn axfr_query(zone: &Name) -> Message {
    let mut message = Message::new(7, MessageType::Query, OpCode::Query);
    message.add_query(Query::query(zone.clone(), RecordType::AXFR));
    message
}

/// The rcode a NOTIFY for `zone` sent from `source` gets.
fn notify_from(source: &str, server: SocketAddr, zone: &Name) -> ResponseCode {
    let mut message = Message::new(8, MessageType::Query, OpCode::Notify);
    message.metadata.authoritative = true;
    message.add_query(Query::query(zone.clone(), RecordType::SOA));
    let socket = UdpSocket::bind((source, 0)).unwrap();
    socket.set_read_timeout(Some(TIMEOUT)).unwrap();
    socket.send_to(&message.to_vec().unwrap(), server).unwrap();
    let mut buf = [0u8; 512];
    let n = socket.recv(&mut buf).unwrap();
    Message::from_vec(&buf[..n]).unwrap().metadata.response_code
}

/// What each primary answers, as the guides' tables say.
struct Expected {
    /// Signed with the right key name and another secret, with a key the
    /// server does not know, and an hour late.
    bad_signatures: [&'static str; 3],
    /// A name in a denied subtree, and the apex NS: `servers::denied_rcode`.
    denied: &'static str,
    /// An allowed and a denied name in one UPDATE.
    mixed: &'static str,
    unsigned_update: ResponseCode,
    unsigned_axfr: ResponseCode,
    /// An AXFR signed with the update key.
    update_key_axfr: &'static str,
}

fn expected(kind: Kind) -> Expected {
    match kind {
        Kind::Bind => Expected {
            bad_signatures: ["BADSIG", "BADKEY", "BADTIME"],
            denied: servers::denied_rcode(kind),
            mixed: "REFUSED",
            unsigned_update: ResponseCode::Refused,
            unsigned_axfr: ResponseCode::Refused,
            update_key_axfr: "REFUSED",
        },
        // Every ACL refusal is NOTAUTH with BADKEY; a rule matches an
        // update only when all its records do, so a deny rule misses a
        // mixed update (docs/deploy-knot.md, "How the ACL decides").
        Kind::Knot => Expected {
            bad_signatures: ["BADSIG", "BADKEY", "BADTIME"],
            denied: servers::denied_rcode(kind),
            mixed: "NOERROR",
            unsigned_update: ResponseCode::NotAuth,
            unsigned_axfr: ResponseCode::NotAuth,
            update_key_axfr: "BADKEY",
        },
        // The policy script raises an error: the whole update is rolled
        // back with SERVFAIL (docs/deploy-powerdns.md, section 3). A TSIG
        // that does not verify gets a plain REFUSED, without saying why.
        Kind::PowerDns => Expected {
            bad_signatures: ["REFUSED", "REFUSED", "REFUSED"],
            denied: servers::denied_rcode(kind),
            mixed: "SERVFAIL",
            unsigned_update: ResponseCode::ServFail,
            unsigned_axfr: ResponseCode::NotAuth,
            update_key_axfr: "NOTAUTH",
        },
    }
}

async fn primary_and_secondary(kind: Kind) {
    if !servers::require_deployment(kind, 1) {
        return;
    }
    let mut setup = ZoneSetup::kalbarprov(&["legacy"]);
    // Another algorithm for transfers, so both keys' settings are filled in.
    setup.transfer_key = TsigKey::generate(name("dnsdesk-xfr."), TsigAlgorithm::HmacSha384);
    let mut deployment = servers::deploy(kind, &setup, 1);
    let primary = deployment.primary.addr();
    let secondary = deployment.secondaries[0].addr();
    let zone = &setup.zone;
    let key = &setup.update_key;
    let want = expected(kind);

    // The zone as loaded, on both servers.
    for server in [primary, secondary] {
        let soa = query(server, zone, RecordType::SOA, TIMEOUT).await.unwrap();
        assert!(soa.authoritative, "{kind} {server}: {soa:?}");
        assert_eq!(
            soa_serial(server, zone, TIMEOUT).await.unwrap(),
            FILE_SERIAL
        );
    }

    // Transfers with the transfer key from both (dnsdesk checks glue on
    // every server); an unsigned one is refused.
    for server in [primary, secondary] {
        let records = transfer(server, zone, &setup.transfer_key, TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("{kind} {server}: {e}"));
        assert!(
            records
                .iter()
                .any(|r| r.name == name("disdik.kalbarprov.go.id.")),
            "{kind} {server}: {records:?}"
        );
    }
    let refused = unsigned_tcp(primary, &axfr_query(zone));
    assert_eq!(
        refused.metadata.response_code, want.unsigned_axfr,
        "{kind}: {refused:?}"
    );
    assert!(refused.answers.is_empty(), "{kind}: {refused:?}");
    let with_update_key = transfer(primary, zone, key, TIMEOUT).await;
    assert_eq!(refusal(&with_update_key), want.update_key_axfr, "{kind}");

    // A signed update is served at once by the primary, with a higher
    // serial, and then by the secondary.
    send_update(
        primary,
        key,
        update(zone, vec![a("baru.kalbarprov.go.id.", "203.0.113.50")]),
        TIMEOUT,
    )
    .await
    .unwrap_or_else(|e| panic!("{kind}: {e}\n{}", deployment.primary.log()));
    assert_eq!(
        served_a(primary, "baru.kalbarprov.go.id.").await,
        ["203.0.113.50"]
    );
    let serial = soa_serial(primary, zone, TIMEOUT).await.unwrap();
    assert!(serial > FILE_SERIAL, "{kind}: serial {serial}");
    deployment.secondaries[0].wait_for_serial(serial).await;
    assert_eq!(
        served_a(secondary, "baru.kalbarprov.go.id.").await,
        ["203.0.113.50"]
    );

    // dnsdesk's own NOTIFY (unsigned, from 127.0.0.1, any port) is taken;
    // one from an address that is neither a primary nor allowed is not.
    send_notify(secondary, zone, Some(serial), None, TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{kind}: {e}\n{}", deployment.secondaries[0].log()));
    assert_eq!(
        notify_from("127.0.0.2", secondary, zone),
        ResponseCode::Refused
    );

    // The policy: a denied subtree, the apex NS, a mix, no signature.
    let denied = send_update(
        primary,
        key,
        update(zone, vec![a("x.legacy.kalbarprov.go.id.", "203.0.113.51")]),
        TIMEOUT,
    )
    .await;
    assert_eq!(outcome(&denied), want.denied, "{kind}: {denied:?}");
    let apex_ns = Record::from_rdata(zone.clone(), 300, RData::NS(NS(name("ns3.example.org."))));
    let apex = send_update(primary, key, update(zone, vec![apex_ns]), TIMEOUT).await;
    assert_eq!(outcome(&apex), want.denied, "{kind}: {apex:?}");
    let unsigned = unsigned_tcp(
        primary,
        &update(
            zone,
            vec![a("tanpa-kunci.kalbarprov.go.id.", "203.0.113.52")],
        ),
    );
    assert_eq!(
        unsigned.metadata.response_code, want.unsigned_update,
        "{kind}: {unsigned:?}"
    );
    let mixed = send_update(
        primary,
        key,
        update(
            zone,
            vec![
                a("campur.kalbarprov.go.id.", "203.0.113.53"),
                a("y.legacy.kalbarprov.go.id.", "203.0.113.54"),
            ],
        ),
        TIMEOUT,
    )
    .await;
    assert_eq!(outcome(&mixed), want.mixed, "{kind}: {mixed:?}");

    // Signatures that do not verify.
    let impostor = TsigKey::generate(key.name.clone(), key.algorithm);
    let stranger = TsigKey::generate(name("stranger."), key.algorithm);
    let hour_ago = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 3600;
    let message = || update(zone, vec![a("palsu.kalbarprov.go.id.", "203.0.113.55")]);
    let bad_signatures = [
        send_update(primary, &impostor, message(), TIMEOUT).await,
        send_update(primary, &stranger, message(), TIMEOUT).await,
        send_update_at(primary, key, message(), TIMEOUT, hour_ago).await,
    ];
    assert_eq!(
        bad_signatures.each_ref().map(outcome),
        want.bad_signatures,
        "{kind}: {bad_signatures:?}"
    );

    // What was refused left no trace; only Knot applied the mix.
    for owner in ["x.legacy", "tanpa-kunci", "palsu"] {
        let owner = format!("{owner}.kalbarprov.go.id.");
        assert!(served_a(primary, &owner).await.is_empty(), "{kind} {owner}");
    }
    let ns = query(primary, zone, RecordType::NS, TIMEOUT).await.unwrap();
    assert_eq!(ns.answers.len(), 2, "{kind}: {ns:?}");
    let mix_applied = want.mixed == "NOERROR";
    for owner in ["campur", "y.legacy"] {
        let owner = format!("{owner}.kalbarprov.go.id.");
        let served = served_a(primary, &owner).await;
        assert_eq!(
            !served.is_empty(),
            mix_applied,
            "{kind} {owner}: {served:?}"
        );
    }

    // A restart serves the same data with the same serial.
    let serial = soa_serial(primary, zone, TIMEOUT).await.unwrap();
    deployment.primary.stop();
    assert!(!deployment.primary.is_running());
    deployment.primary.start();
    assert_eq!(soa_serial(primary, zone, TIMEOUT).await.unwrap(), serial);
    assert_eq!(
        served_a(primary, "baru.kalbarprov.go.id.").await,
        ["203.0.113.50"]
    );
}

#[tokio::test]
async fn bind_primary_with_a_bind_secondary() {
    primary_and_secondary(Kind::Bind).await;
}

#[tokio::test]
async fn knot_primary_with_a_bind_secondary() {
    primary_and_secondary(Kind::Knot).await;
}

#[tokio::test]
async fn powerdns_primary_with_a_bind_secondary() {
    primary_and_secondary(Kind::PowerDns).await;
}

/// The other shape of setup: one key for updates and transfers, nothing
/// denied beyond the apex, no secondaries.
async fn primary_alone_with_one_key(kind: Kind) {
    if !servers::require(kind) {
        return;
    }
    let mut setup = ZoneSetup::kalbarprov(&[]);
    setup.transfer_key = setup.update_key.clone();
    let deployment = servers::deploy(kind, &setup, 0);
    let primary = deployment.primary.addr();
    let zone = &setup.zone;
    send_update(
        primary,
        &setup.update_key,
        update(zone, vec![a("legacy.kalbarprov.go.id.", "203.0.113.60")]),
        TIMEOUT,
    )
    .await
    .unwrap_or_else(|e| panic!("{kind}: {e}\n{}", deployment.primary.log()));
    let records = transfer(primary, zone, &setup.update_key, TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    assert!(
        records
            .iter()
            .any(|r| r.name == name("legacy.kalbarprov.go.id.")),
        "{kind}: {records:?}"
    );
}

#[tokio::test]
async fn bind_primary_alone_with_one_key() {
    primary_alone_with_one_key(Kind::Bind).await;
}

#[tokio::test]
async fn knot_primary_alone_with_one_key() {
    primary_alone_with_one_key(Kind::Knot).await;
}

#[tokio::test]
async fn powerdns_primary_alone_with_one_key() {
    primary_alone_with_one_key(Kind::PowerDns).await;
}

#[test]
fn every_snippet_the_harness_reads_is_marked_in_its_guide() {
    for doc in Doc::ALL {
        for name in doc.snippets() {
            assert!(
                !snippet(doc, name).trim().is_empty(),
                "{} {name}",
                doc.path()
            );
        }
        for marked in doc.marked() {
            assert!(
                doc.snippets().contains(&marked),
                "{} marks snippet `{marked}`, which no test reads: a snippet is a promise that it is tested",
                doc.path()
            );
        }
    }
}

#[test]
fn the_guides_give_one_dnsdesk_config_and_dnsdesk_reads_it() {
    let config = snippet(Doc::Bind, "dnsdesk-config");
    let env = snippet(Doc::Bind, "dnsdesk-env");
    for doc in Doc::ALL {
        assert_eq!(snippet(doc, "dnsdesk-config"), config, "{}", doc.path());
        assert_eq!(snippet(doc, "dnsdesk-env"), env, "{}", doc.path());
    }
    let primary: SocketAddr = "192.0.2.53:53".parse().unwrap();
    let secondary: SocketAddr = "192.0.2.54:53".parse().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dnsdesk.toml");
    std::fs::write(&file, config).unwrap();
    let from_file = api::config::Config::load(Some(&file), |_| None).unwrap();
    assert_eq!(from_file.primary(), primary);
    assert_eq!(from_file.authoritative(), [primary, secondary]);
    assert_eq!(
        from_file.notify_targets(primary, &[primary, secondary]),
        [secondary]
    );

    let vars: HashMap<String, String> = env
        .split_whitespace()
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let from_env = api::config::Config::load(None, |k| vars.get(k).cloned()).unwrap();
    assert_eq!(from_env.primary(), primary);
    assert_eq!(from_env.authoritative(), [primary, secondary]);
    assert_eq!(from_env.zone_name().unwrap(), name("kalbarprov.go.id."));
}

#[test]
fn dnsdesk_reads_the_key_files_the_guides_show() {
    use servers::snippets::example;
    let files = [
        snippet(Doc::Bind, "bind-key").to_owned(),
        snippet(Doc::Knot, "knot-key").to_owned(),
        // What docs/deploy-powerdns.md's awk line makes of `pdnsutil
        // list-tsig-keys`.
        format!("hmac-sha256:dnsdesk.:{}\n", example::UPDATE_SECRET),
    ];
    let want = TsigKey::parse(&files[0]).unwrap();
    assert_eq!(want.name, name(example::UPDATE_KEY));
    assert_eq!(want.algorithm.as_str(), example::ALGORITHM);
    assert_eq!(
        servers::snippets::secret_base64(&want),
        example::UPDATE_SECRET
    );
    for file in &files[1..] {
        let read = TsigKey::parse(file).map_err(|e| format!("{e}"));
        assert_eq!(read, Ok(want.clone()), "dnsdesk cannot read\n{file}");
    }
}
