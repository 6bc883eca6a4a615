//! Our TSIG against hickory-proto's, for the three algorithms hickory
//! implements (hmac-sha256, hmac-sha384, hmac-sha512): a request we sign
//! verifies with hickory's `TSigner`, and an answer hickory's server side
//! signs (`TSigResponseContext`, the request MAC prepended) verifies with
//! our `AnswerVerifier`; a tampered one does not. The other two algorithms
//! are checked against BIND in `tsig_interop.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::Ipv4Addr;
use std::time::{SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::tsig::TsigError;
use hickory_proto::rr::{Name, RData, Record, RecordType, TSigResponseContext, TSigner};
use provisioner::tsig::{Checked, FUDGE, TsigAlgorithm, TsigKey, VerifyError, sign_request};

const HICKORY_ALGORITHMS: [TsigAlgorithm; 3] = [
    TsigAlgorithm::HmacSha256,
    TsigAlgorithm::HmacSha384,
    TsigAlgorithm::HmacSha512,
];

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

/// An UPDATE-like request: one question, and an additional record so that
/// the TSIG RR is not the only one.
fn request(id: u16) -> Message {
    let mut m = Message::new(id, MessageType::Query, OpCode::Update);
    m.add_query(Query::query(name("example.test."), RecordType::SOA));
    m.add_additional(Record::from_rdata(
        name("glue.example.test."),
        300,
        RData::A(Ipv4Addr::new(192, 0, 2, 7).into()),
    ));
    m
}

/// An answer to `request`, with a record to cover.
fn answer(id: u16) -> Message {
    let mut m = Message::new(id, MessageType::Response, OpCode::Update);
    m.metadata.authoritative = true;
    m.metadata.response_code = ResponseCode::NoError;
    m.add_query(Query::query(name("example.test."), RecordType::SOA));
    m.add_answer(Record::from_rdata(
        name("www.example.test."),
        300,
        RData::A(Ipv4Addr::new(192, 0, 2, 80).into()),
    ));
    m
}

#[test]
fn hickory_verifies_requests_we_sign() {
    for algorithm in HICKORY_ALGORITHMS {
        let key = TsigKey::generate(name("dnsdesk.example."), algorithm);
        let time = now();
        let bytes = request(0x4242).to_vec().unwrap();
        let signed = sign_request(&key, &bytes, time, FUDGE).unwrap();

        let signer = key.signer(FUDGE).unwrap();
        let (mac, time_signed, window) = signer
            .verify_message_byte(&signed.wire, None, true)
            .unwrap_or_else(|e| panic!("{algorithm}: {e}"));
        assert_eq!(mac.len(), algorithm.output_len());
        assert_eq!(time_signed, time);
        assert_eq!(window, time - u64::from(FUDGE)..time + u64::from(FUDGE));

        // Another secret under the same name does not verify.
        let other = TsigKey::generate(key.name.clone(), algorithm);
        assert!(
            other
                .signer(FUDGE)
                .unwrap()
                .verify_message_byte(&signed.wire, None, true)
                .is_err(),
            "{algorithm}"
        );
    }
}

/// hickory's server side signs the answer to our request; our verifier
/// accepts it, and rejects it once a byte is changed.
#[test]
fn we_verify_answers_hickory_signs() {
    for algorithm in HICKORY_ALGORITHMS {
        let key = TsigKey::generate(name("dnsdesk.example."), algorithm);
        let id = 0x1234;
        let bytes = request(id).to_vec().unwrap();
        let time = now();
        let signed = sign_request(&key, &bytes, time, FUDGE).unwrap();
        let request_mac = Message::from_vec(&signed.wire)
            .unwrap()
            .signature()
            .unwrap()
            .data
            .mac
            .clone();

        let mut response = answer(id);
        let unsigned = response.to_vec().unwrap();
        let context =
            TSigResponseContext::new(id, time + 1, key.signer(FUDGE).unwrap(), request_mac, None);
        response.set_signature(context.sign(&unsigned).unwrap());
        let wire = response.to_vec().unwrap();

        let mut verifier = signed.verifier;
        let decoded = Message::from_vec(&wire).unwrap();
        assert_eq!(
            verifier.check(&wire, &decoded, now()),
            Ok(Checked::Signed),
            "{algorithm}"
        );
        assert_eq!(verifier.finish(), Ok(()));

        // The same answer with the A record's last byte changed.
        let mut tampered = wire.clone();
        let at = unsigned.len() - 1;
        tampered[at] ^= 0x01;
        let mut verifier = sign_request(&key, &bytes, time, FUDGE).unwrap().verifier;
        let decoded = Message::from_vec(&tampered).unwrap();
        assert_eq!(
            verifier.check(&tampered, &decoded, now()),
            Err(VerifyError::BadMac),
            "{algorithm}"
        );
    }
}

/// hickory's BADSIG answer is unsigned by design (RFC 8945 §5.3.2); the
/// verifier reports the server's error rather than a MAC failure.
#[test]
fn hickory_error_answers_are_reported_as_sent() {
    let key = TsigKey::generate(name("dnsdesk.example."), TsigAlgorithm::HmacSha256);
    let id = 7;
    let bytes = request(id).to_vec().unwrap();
    let signed = sign_request(&key, &bytes, now(), FUDGE).unwrap();
    let mut response = answer(id);
    response.metadata.response_code = ResponseCode::NotAuth;
    let unsigned = response.to_vec().unwrap();
    let signer: TSigner = key.signer(FUDGE).unwrap();
    let context = TSigResponseContext::bad_signature(id, now(), signer);
    response.set_signature(context.sign(&unsigned).unwrap());
    let wire = response.to_vec().unwrap();
    let mut verifier = signed.verifier;
    assert_eq!(
        verifier.check(&wire, &Message::from_vec(&wire).unwrap(), now()),
        Err(VerifyError::Reported(TsigError::BadSig))
    );
}
