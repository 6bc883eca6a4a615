//! Every answer the real servers give to an UPDATE, mapped to its typed
//! error: NOERROR, the four prerequisite failures (RFC 2136 §3.2.5),
//! REFUSED, NOTAUTH with BADSIG, BADKEY and BADTIME (RFC 8945 §5.2),
//! NOTZONE, FORMERR, and no answer at all. Each message is sent by
//! dnsdesk's own client to BIND, Knot and PowerDNS started by the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod servers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Message, ResponseCode, UpdateMessage};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use provisioner::client::{send_update, send_update_at};
use provisioner::error::{TsigFailure, UpdateError};
use provisioner::tsig::{TsigAlgorithm, TsigKey};
use servers::{Kind, ZoneSetup};

const TIMEOUT: Duration = Duration::from_secs(2);

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

/// An empty UPDATE for the zone (zone section only).
fn update(zone: &Name) -> Message {
    provisioner::plan::UpdatePlan::between(
        zone,
        &provisioner::plan::ZoneSlice::default(),
        &provisioner::plan::ZoneSlice::default(),
    )
    .to_message()
}

fn a(owner: &str, ip: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::A(ip.parse().unwrap()))
}

/// A prerequisite or deletion RR without data (RFC 2136 §2.4, §2.5).
fn empty(owner: &str, rtype: RecordType, class: DNSClass) -> Record {
    let mut record = Record::update0(name(owner), 0, rtype);
    record.dns_class = class;
    record.into_record_of_rdata()
}

fn with_prerequisite(zone: &Name, prerequisite: Record, add: Record) -> Message {
    let mut message = update(zone);
    message.add_pre_requisite(prerequisite);
    message.add_update(add);
    message
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The rcode name a typed error stands for, to compare across servers.
fn outcome(result: &Result<(), UpdateError>) -> String {
    match result {
        Ok(()) => "NOERROR".to_owned(),
        Err(UpdateError::PrerequisiteFailed { rcode, .. }) => {
            provisioner::error::rcode_name(*rcode).to_string()
        }
        Err(UpdateError::Refused { .. }) => "REFUSED".to_owned(),
        Err(UpdateError::NotAuth { .. }) => "NOTAUTH".to_owned(),
        Err(UpdateError::NotZone { .. }) => "NOTZONE".to_owned(),
        Err(UpdateError::FormErr { .. }) => "FORMERR".to_owned(),
        Err(UpdateError::ServFail { .. }) => "SERVFAIL".to_owned(),
        Err(UpdateError::Tsig { failure, .. }) => match failure {
            TsigFailure::BadSig => "BADSIG".to_owned(),
            TsigFailure::BadKey => "BADKEY".to_owned(),
            TsigFailure::BadTime => "BADTIME".to_owned(),
            other => format!("TSIG {other:?}"),
        },
        Err(UpdateError::Timeout { .. }) => "timeout".to_owned(),
        Err(UpdateError::Io { .. }) => "io".to_owned(),
        Err(other) => format!("other: {other}"),
    }
}

/// What each server answers where they differ from RFC 2136 / RFC 8945's
/// letter (found by running them; see the deploy guides' tables).
struct Answers {
    /// A record outside the zone named in the zone section.
    outside_zone: &'static str,
    /// Two zone entries.
    two_zones: &'static str,
    /// A wrong secret, an unknown key, a clock an hour off.
    bad_tsig: [&'static str; 3],
}

fn answers(kind: Kind) -> Answers {
    match kind {
        Kind::Bind => Answers {
            outside_zone: "NOTZONE",
            two_zones: "FORMERR",
            bad_tsig: ["BADSIG", "BADKEY", "BADTIME"],
        },
        // Knot checks its ACL before the zone: a name outside it is
        // denied like any other, NOTAUTH with BADKEY. Like PowerDNS, it
        // closes the connection on a malformed update.
        Kind::Knot => Answers {
            outside_zone: "BADKEY",
            two_zones: "io",
            bad_tsig: ["BADSIG", "BADKEY", "BADTIME"],
        },
        // PowerDNS closes the connection on a malformed update (after the
        // request was written: the outcome is unknown to dnsdesk, which
        // reads the zone before resending), and answers every TSIG failure
        // with a plain REFUSED.
        Kind::PowerDns => Answers {
            outside_zone: "NOTZONE",
            two_zones: "io",
            bad_tsig: ["REFUSED", "REFUSED", "REFUSED"],
        },
    }
}

async fn every_rcode(kind: Kind) {
    if !servers::require(kind) {
        return;
    }
    let zone = name("kalbarprov.go.id.");
    let key = TsigKey::generate(name("dnsdesk."), TsigAlgorithm::HmacSha256);
    let setup = ZoneSetup {
        zone: zone.clone(),
        zone_file: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("zones/kalbarprov.go.id.zone"),
        update_key: key.clone(),
        transfer_key: key.clone(),
        denied: vec!["legacy".to_owned()],
    };
    let servers = servers::deploy(kind, &setup, 0);
    let primary: SocketAddr = servers.primary.addr();
    let send = |message: Message| send_update(primary, &key, message, TIMEOUT);

    let mut seen = Vec::new();
    let mut check = |case: &str, result: Result<(), UpdateError>, want: &str| {
        let got = outcome(&result);
        seen.push(format!("{case}: {got}"));
        assert_eq!(got, want, "{kind:?} {case}: {result:?}");
        if let Err(e) = &result {
            // Every error explains itself in words that name the key.
            let why = e.explain(&key.name, &zone, &name("x.kalbarprov.go.id."));
            assert!(!why.is_empty());
        }
    };

    // NOERROR: a new name, its absence required first.
    let mut ok = update(&zone);
    ok.add_pre_requisite(empty(
        "baru.kalbarprov.go.id.",
        RecordType::ANY,
        DNSClass::NONE,
    ));
    ok.add_update(a("baru.kalbarprov.go.id.", "203.0.113.50"));
    check("create", send(ok).await, "NOERROR");

    // The four prerequisite failures of RFC 2136 §3.2.5, each with the
    // prerequisite RR that provokes it (§2.4.1-§2.4.5).
    let mut wrong_value = a("disdik.kalbarprov.go.id.", "198.51.100.1");
    wrong_value.ttl = 0;
    let prerequisites = [
        // "Name is not in use" (class NONE, type ANY) on a used name.
        (
            "nxdomain prerequisite on a used name",
            empty("disdik.kalbarprov.go.id.", RecordType::ANY, DNSClass::NONE),
            "YXDOMAIN",
        ),
        // "Name is in use" (class ANY, type ANY) on an unused name.
        (
            "yxdomain prerequisite on an unused name",
            empty("kosong.kalbarprov.go.id.", RecordType::ANY, DNSClass::ANY),
            "NXDOMAIN",
        ),
        // "RRset does not exist" (class NONE) on an existing RRset.
        (
            "nxrrset prerequisite on an existing RRset",
            empty("disdik.kalbarprov.go.id.", RecordType::AAAA, DNSClass::NONE),
            "YXRRSET",
        ),
        // "RRset exists (value dependent)" with other values.
        (
            "yxrrset prerequisite with other values",
            wrong_value,
            "NXRRSET",
        ),
    ];
    for (case, prerequisite, want) in prerequisites {
        let owner = prerequisite.name.to_ascii();
        let msg = with_prerequisite(&zone, prerequisite, a(&owner, "203.0.113.51"));
        check(case, send(msg).await, want);
    }

    // The key's policy does not cover the name: REFUSED, except from Knot,
    // which answers NOTAUTH with the TSIG error BADKEY when an ACL denies.
    let mut denied = update(&zone);
    denied.add_update(a("legacy.kalbarprov.go.id.", "203.0.113.55"));
    check(
        "name outside the key's policy",
        send(denied).await,
        servers::denied_rcode(kind),
    );

    // NOTZONE: a record outside the zone named in the zone section.
    let mut outside = update(&zone);
    outside.add_update(a("www.example.org.", "203.0.113.56"));
    let expected = answers(kind);
    check(
        "record outside the zone",
        send(outside).await,
        expected.outside_zone,
    );

    // FORMERR: RFC 2136 §3.1.1, "ZOCOUNT must be 1".
    let mut two_zones = update(&zone);
    let second = two_zones.queries[0].clone();
    two_zones.add_zone(second);
    two_zones.add_update(a("dua.kalbarprov.go.id.", "203.0.113.57"));
    check(
        "two zone entries",
        send(two_zones).await,
        expected.two_zones,
    );

    // NOTAUTH + BADSIG: the right name, another secret.
    let impostor = TsigKey::generate(key.name.clone(), key.algorithm);
    let mut msg = update(&zone);
    msg.add_update(a("palsu.kalbarprov.go.id.", "203.0.113.58"));
    check(
        "wrong secret",
        send_update(primary, &impostor, msg, TIMEOUT).await,
        expected.bad_tsig[0],
    );

    // NOTAUTH + BADKEY: a key the server does not know.
    let stranger = TsigKey::generate(name("stranger."), key.algorithm);
    let mut msg = update(&zone);
    msg.add_update(a("asing.kalbarprov.go.id.", "203.0.113.59"));
    check(
        "unknown key",
        send_update(primary, &stranger, msg, TIMEOUT).await,
        expected.bad_tsig[1],
    );

    // NOTAUTH + BADTIME: signed an hour ago, beyond the 300 s fudge.
    let mut msg = update(&zone);
    msg.add_update(a("lama.kalbarprov.go.id.", "203.0.113.60"));
    check(
        "clock an hour behind",
        send_update_at(primary, &key, msg, TIMEOUT, now() - 3600).await,
        expected.bad_tsig[2],
    );

    // Nothing was applied by any refused message.
    for owner in ["palsu", "asing", "lama", "legacy", "dua", "kosong"] {
        let got = common::dig(primary, &format!("{owner}.kalbarprov.go.id"), RecordType::A).await;
        assert!(got.answers.is_empty(), "{kind:?} {owner}: {got:?}");
    }
    let disdik = common::dig(primary, "disdik.kalbarprov.go.id", RecordType::A).await;
    assert_eq!(common::rdata(&disdik), ["203.0.113.13"], "{kind:?}");
    assert_eq!(disdik.rcode, ResponseCode::NoError);

    // No answer: the server stopped.
    let mut servers = servers;
    servers.primary.stop();
    let mut msg = update(&zone);
    msg.add_update(a("mati.kalbarprov.go.id.", "203.0.113.61"));
    let result = send(msg).await;
    assert!(
        matches!(result, Err(UpdateError::Io { sent: false, .. })),
        "{kind:?}: {result:?}"
    );
    assert!(result.as_ref().unwrap_err().is_retryable());
    eprintln!("{kind:?}: {}", seen.join("; "));
}

#[tokio::test]
async fn bind_answers_map_to_typed_errors() {
    every_rcode(Kind::Bind).await;
}

#[tokio::test]
async fn knot_answers_map_to_typed_errors() {
    every_rcode(Kind::Knot).await;
}

#[tokio::test]
async fn powerdns_answers_map_to_typed_errors() {
    every_rcode(Kind::PowerDns).await;
}

/// A server that takes the connection and never answers: a timeout whose
/// outcome is unknown (the update may have been applied), so dnsdesk reads
/// the zone before it resends.
#[tokio::test]
async fn a_silent_server_is_a_timeout_with_unknown_outcome() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let zone = name("kalbarprov.go.id.");
    let key = TsigKey::generate(name("dnsdesk."), TsigAlgorithm::HmacSha256);
    let mut msg = update(&zone);
    msg.add_update(a("diam.kalbarprov.go.id.", "203.0.113.62"));
    let result = send_update(addr, &key, msg, Duration::from_millis(300)).await;
    let error = result.unwrap_err();
    assert!(matches!(error, UpdateError::Timeout { .. }), "{error:?}");
    assert!(error.outcome_unknown() && error.is_retryable());
    drop(listener);
}
