//! TSIG chains, checked through the public API: a request signed with each
//! algorithm carries the TSIG RR and MAC RFC 8945 §4.3 lays out, and the
//! answers to it, signed the way a server does (layout spelled out here,
//! independently of the code under test), verify: a single answer, and a
//! transfer whose later messages are signed with the timers only and may
//! leave up to 99 in a row unsigned (§5.3.1). Changed bytes, another
//! secret, another key, a truncated MAC, a time outside the fudge, and an
//! unsigned first or last message all fail, each with its own error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::tsig::{TSIG, TsigError};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use provisioner::tsig::mac::mac;
use provisioner::tsig::{
    AnswerVerifier, Checked, SignError, TsigAlgorithm, TsigKey, VerifyError, sign_request,
};

const T: u64 = 1_700_000_000;

fn key(algorithm: TsigAlgorithm) -> TsigKey {
    TsigKey::from_parts("Key.Example.", algorithm.as_str(), "c2VjcmV0LXNlY3JldA==").unwrap()
}

fn query() -> Vec<u8> {
    let mut m = Message::new(0x1234, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(
        Name::from_ascii("example.").unwrap(),
        RecordType::AXFR,
    ));
    m.to_vec().unwrap()
}

/// An answer to `query()` with `n` A records, as hickory encodes it.
fn answer(n: u8) -> Vec<u8> {
    let mut m = Message::new(0x1234, MessageType::Response, OpCode::Query);
    m.add_query(Query::query(
        Name::from_ascii("example.").unwrap(),
        RecordType::AXFR,
    ));
    for i in 0..n {
        m.add_answer(Record::from_rdata(
            Name::from_ascii("a.example.").unwrap(),
            60,
            RData::A(std::net::Ipv4Addr::new(192, 0, 2, i).into()),
        ));
    }
    m.to_vec().unwrap()
}

/// Signs an answer as a server does, with the layout spelled out here
/// independently of the code under test: the prior MAC, the unsigned
/// messages, the message, then all variables or the timers only. The key
/// is `key.example.`; `[1, 44]` is the fudge, 300 s; error and other
/// length are zero. Returns the signed message and its MAC.
fn server_sign(
    key: &TsigKey,
    prior: &[u8],
    unsigned: &[Vec<u8>],
    message: &[u8],
    first: bool,
    time: u64,
) -> (Vec<u8>, Vec<u8>) {
    let mut tbs = (prior.len() as u16).to_be_bytes().to_vec();
    tbs.extend_from_slice(prior);
    for m in unsigned {
        tbs.extend_from_slice(m);
    }
    tbs.extend_from_slice(message);
    let name = b"\x03key\x07example\x00".to_vec();
    let alg = [
        &[key.algorithm.as_str().len() as u8][..],
        key.algorithm.as_str().as_bytes(),
        &[0],
    ]
    .concat();
    let time48 = &time.to_be_bytes()[2..];
    if first {
        tbs.extend_from_slice(&name);
        tbs.extend_from_slice(&[0, 255, 0, 0, 0, 0]);
        tbs.extend_from_slice(&alg);
        tbs.extend_from_slice(time48);
        tbs.extend_from_slice(&[1, 44, 0, 0, 0, 0]);
    } else {
        tbs.extend_from_slice(time48);
        tbs.extend_from_slice(&[1, 44]);
    }
    let mac = mac(key.algorithm, key.secret.expose(), &tbs);
    let mut signed = message.to_vec();
    signed[11] += 1;
    let mut rdata = alg.clone();
    rdata.extend_from_slice(time48);
    rdata.extend_from_slice(&[1, 44]);
    rdata.extend_from_slice(&(mac.len() as u16).to_be_bytes());
    rdata.extend_from_slice(&mac);
    rdata.extend_from_slice(&[message[0], message[1], 0, 0, 0, 0]);
    signed.extend_from_slice(&name);
    signed.extend_from_slice(&[0, 250, 0, 255, 0, 0, 0, 0]);
    signed.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    signed.extend_from_slice(&rdata);
    (signed, mac)
}

fn check(v: &mut AnswerVerifier, wire: &[u8], now: u64) -> Result<Checked, VerifyError> {
    v.check(wire, &Message::from_vec(wire).unwrap(), now)
}

/// The MAC of a signed request, which the answers' MACs cover.
fn request_mac(wire: &[u8]) -> Vec<u8> {
    Message::from_vec(wire)
        .unwrap()
        .signature()
        .unwrap()
        .data
        .mac
        .clone()
}

#[test]
fn the_request_carries_a_tsig_rr_hickory_decodes() {
    for algorithm in TsigAlgorithm::ALL {
        let key = key(algorithm);
        let signed = sign_request(&key, &query(), T, 300).unwrap();
        let message = Message::from_vec(&signed.wire).unwrap();
        let tsig = message.signature().unwrap();
        assert_eq!(tsig.name, key.name);
        assert_eq!(tsig.data.algorithm.to_name().to_ascii(), algorithm.as_str());
        assert_eq!(
            (tsig.data.time, tsig.data.fudge, tsig.data.oid),
            (T, 300, 0x1234)
        );
        assert_eq!(tsig.data.mac.len(), algorithm.output_len());
        assert_eq!(tsig.data.error, None);
        // The MAC is the one over the message and the TSIG variables.
        let mut tbs = query();
        tbs.extend_from_slice(b"\x03key\x07example\x00\x00\xff\x00\x00\x00\x00");
        tbs.push(algorithm.as_str().len() as u8);
        tbs.extend_from_slice(algorithm.as_str().as_bytes());
        tbs.push(0);
        tbs.extend_from_slice(&T.to_be_bytes()[2..]);
        tbs.extend_from_slice(&[1, 44, 0, 0, 0, 0]);
        assert_eq!(tsig.data.mac, mac(algorithm, key.secret.expose(), &tbs));
    }
    assert_eq!(
        sign_request(&key(TsigAlgorithm::HmacSha256), &[0; 11], T, 300).unwrap_err(),
        SignError::NotAMessage { len: 11 }
    );
}

#[test]
fn verifies_a_chain_with_unsigned_messages_between() {
    for algorithm in TsigAlgorithm::ALL {
        let key = key(algorithm);
        let mut request = sign_request(&key, &query(), T, 300).unwrap();
        let request_mac = request_mac(&request.wire);
        let v = &mut request.verifier;
        let (first, mac1) = server_sign(&key, &request_mac, &[], &answer(1), true, T + 1);
        assert_eq!(check(v, &first, T), Ok(Checked::Signed));
        let gap = vec![answer(2), answer(3)];
        for m in &gap {
            assert_eq!(check(v, m, T), Ok(Checked::Unsigned));
        }
        assert_eq!(v.finish(), Err(VerifyError::LastUnsigned));
        let (last, _) = server_sign(&key, &mac1, &gap, &answer(4), false, T + 2);
        assert_eq!(check(v, &last, T), Ok(Checked::Signed));
        assert_eq!(v.finish(), Ok(()));
    }
}

#[test]
fn a_chain_breaks_where_bytes_change() {
    let key = key(TsigAlgorithm::HmacSha1);
    let mut request = sign_request(&key, &query(), T, 300).unwrap();
    let request_mac = request_mac(&request.wire);
    let v = &mut request.verifier;
    let (first, mac1) = server_sign(&key, &request_mac, &[], &answer(1), true, T);
    assert_eq!(check(v, &first, T), Ok(Checked::Signed));
    // The server signed over answer(2) unsigned, but we got answer(3).
    assert_eq!(check(v, &answer(3), T), Ok(Checked::Unsigned));
    let (last, _) = server_sign(&key, &mac1, &[answer(2)], &answer(4), false, T);
    assert_eq!(check(v, &last, T), Err(VerifyError::BadMac));
    // A first message signed with timers only does not verify either.
    let mut request = sign_request(&key, &query(), T, 300).unwrap();
    let (timers_only, _) = server_sign(&key, &request_mac, &[], &answer(1), false, T);
    assert_eq!(
        check(&mut request.verifier, &timers_only, T),
        Err(VerifyError::BadMac)
    );
}

#[test]
fn the_first_message_must_be_signed_and_99_unsigned_at_most() {
    let key = key(TsigAlgorithm::HmacSha256);
    let mut request = sign_request(&key, &query(), T, 300).unwrap();
    assert_eq!(
        check(&mut request.verifier, &answer(1), T),
        Err(VerifyError::Unsigned)
    );
    assert_eq!(request.verifier.finish(), Err(VerifyError::Unsigned));

    let mut request = sign_request(&key, &query(), T, 300).unwrap();
    let request_mac = request_mac(&request.wire);
    let v = &mut request.verifier;
    let (first, _) = server_sign(&key, &request_mac, &[], &answer(1), true, T);
    assert_eq!(check(v, &first, T), Ok(Checked::Signed));
    for _ in 0..99 {
        assert_eq!(check(v, &answer(1), T), Ok(Checked::Unsigned));
    }
    assert_eq!(check(v, &answer(1), T), Err(VerifyError::TooManyUnsigned));
}

#[test]
fn time_is_checked_after_the_mac_within_the_fudge() {
    let key = key(TsigAlgorithm::HmacSha224);
    for (now, ok) in [
        (T, true),
        (T + 300, true),
        (T - 300, true),
        (T + 301, false),
        (T - 301, false),
    ] {
        let mut request = sign_request(&key, &query(), T, 300).unwrap();
        let request_mac = request_mac(&request.wire);
        let (first, _) = server_sign(&key, &request_mac, &[], &answer(1), true, T);
        let result = check(&mut request.verifier, &first, now);
        if ok {
            assert_eq!(result, Ok(Checked::Signed));
        } else {
            assert_eq!(
                result,
                Err(VerifyError::BadTime {
                    time_signed: T,
                    fudge: 300,
                    now
                })
            );
        }
    }
    // With another secret the MAC fails first, whatever the time.
    let other = TsigKey::from_parts("key.example", "hmac-sha224", "b3RoZXI=").unwrap();
    let mut request = sign_request(&key, &query(), T, 300).unwrap();
    let request_mac = request_mac(&request.wire);
    let (forged, _) = server_sign(&other, &request_mac, &[], &answer(1), true, T);
    assert_eq!(
        check(&mut request.verifier, &forged, T + 9999),
        Err(VerifyError::BadMac)
    );
}

/// Sets fields of the TSIG RR of a signed answer and re-encodes it.
fn altered(wire: &[u8], change: impl FnOnce(&mut Record<TSIG>)) -> Vec<u8> {
    let mut m = Message::from_vec(wire).unwrap();
    let mut tsig = m.take_signature().unwrap();
    change(&mut tsig);
    m.set_signature(tsig);
    m.to_vec().unwrap()
}

#[test]
fn key_errors_and_truncation_are_refused() {
    let key = key(TsigAlgorithm::HmacSha512);
    let request = sign_request(&key, &query(), T, 300).unwrap();
    let request_mac = request_mac(&request.wire);
    let (first, _) = server_sign(&key, &request_mac, &[], &answer(1), true, T);
    // Signing is deterministic: each fresh verifier expects the same MAC.
    let run = |wire: &[u8]| {
        let mut v = sign_request(&key, &query(), T, 300).unwrap().verifier;
        check(&mut v, wire, T)
    };
    assert_eq!(run(&first), Ok(Checked::Signed));
    let truncated = altered(&first, |t| t.data.mac.truncate(32));
    assert_eq!(
        run(&truncated),
        Err(VerifyError::MacLength { len: 32, full: 64 })
    );
    let renamed = altered(&first, |t| t.name = Name::from_ascii("other.").unwrap());
    assert_eq!(run(&renamed), Err(VerifyError::OtherKey));
    let realg = altered(&first, |t| {
        t.data.algorithm = hickory_proto::rr::rdata::tsig::TsigAlgorithm::HmacSha384;
    });
    assert_eq!(run(&realg), Err(VerifyError::OtherKey));
    let badsig = altered(&first, |t| {
        t.data.error = Some(TsigError::BadSig);
        t.data.mac.clear();
    });
    assert_eq!(run(&badsig), Err(VerifyError::Reported(TsigError::BadSig)));
    // Case does not matter in the key's name.
    let upper = altered(&first, |t| {
        t.name = Name::from_ascii("KEY.EXAMPLE.").unwrap()
    });
    assert_eq!(run(&upper), Ok(Checked::Signed));
}

#[test]
fn debug_shows_no_secret() {
    let key = key(TsigAlgorithm::HmacSha256);
    let signed = sign_request(&key, &query(), T, 300).unwrap();
    let debug = format!("{signed:?}").to_lowercase();
    assert!(
        debug.contains("key.example") && !debug.contains("secret-secret"),
        "{debug}"
    );
}
