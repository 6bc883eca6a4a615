//! How TSIG outcomes become typed errors (`provisioner::error`): what the
//! verifier found on an answer (`ResponseTsig::from_check`), each message
//! of a signed transfer (`QueryError::from_transfer_message`) and the
//! answer to a NOTIFY (`NotifyError::from_response`). As for updates, a
//! TSIG error the server reports wins, and no success is taken from an
//! unsigned or badly signed answer to a signed request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::tsig::TsigError;
use provisioner::error::{NotifyError, QueryError, ResponseTsig, TsigFailure};
use provisioner::tsig::{Checked, VerifyError};

fn server() -> SocketAddr {
    "127.0.0.1:53".parse().unwrap()
}

#[test]
fn verifier_results_map_to_response_tsig() {
    for (check, want) in [
        (Ok(Checked::Signed), ResponseTsig::Verified),
        (Ok(Checked::Unsigned), ResponseTsig::Verified),
        (
            Err(VerifyError::Reported(TsigError::BadTime)),
            ResponseTsig::Error(TsigError::BadTime),
        ),
        (Err(VerifyError::Unsigned), ResponseTsig::Absent),
        (Err(VerifyError::BadMac), ResponseTsig::Invalid),
        (Err(VerifyError::OtherKey), ResponseTsig::Invalid),
        (
            Err(VerifyError::MacLength { len: 10, full: 32 }),
            ResponseTsig::Invalid,
        ),
        (
            Err(VerifyError::BadTime {
                time_signed: 0,
                fudge: 300,
                now: 9999,
            }),
            ResponseTsig::Invalid,
        ),
    ] {
        assert_eq!(ResponseTsig::from_check(&check), want, "{check:?}");
    }
}

#[test]
fn transfer_messages_need_a_verified_signature_and_noerror() {
    let judge = |rcode, tsig| QueryError::from_transfer_message(server(), rcode, tsig);
    assert!(judge(ResponseCode::NoError, ResponseTsig::Verified).is_ok());
    assert!(matches!(
        judge(
            ResponseCode::NotAuth,
            ResponseTsig::Error(TsigError::BadSig)
        ),
        Err(QueryError::Tsig {
            failure: TsigFailure::BadSig,
            ..
        })
    ));
    assert!(matches!(
        judge(ResponseCode::Refused, ResponseTsig::Absent),
        Err(QueryError::Unusable {
            rcode: ResponseCode::Refused,
            ..
        })
    ));
    assert!(matches!(
        judge(ResponseCode::NoError, ResponseTsig::Absent),
        Err(QueryError::Tsig {
            failure: TsigFailure::ResponseUnsigned,
            ..
        })
    ));
    assert!(matches!(
        judge(ResponseCode::NoError, ResponseTsig::Invalid),
        Err(QueryError::Tsig {
            failure: TsigFailure::ResponseBadSig,
            ..
        })
    ));
}

#[test]
fn notify_answers_map_to_typed_errors() {
    let judge = |rcode, tsig| NotifyError::from_response(server(), rcode, tsig);
    assert!(judge(ResponseCode::NoError, None).is_ok());
    assert!(judge(ResponseCode::NoError, Some(ResponseTsig::Verified)).is_ok());
    for (tsig, failure) in [
        (ResponseTsig::Absent, TsigFailure::ResponseUnsigned),
        (ResponseTsig::Invalid, TsigFailure::ResponseBadSig),
        (ResponseTsig::Error(TsigError::BadKey), TsigFailure::BadKey),
    ] {
        let e = judge(ResponseCode::NoError, Some(tsig)).unwrap_err();
        assert!(matches!(e, NotifyError::Tsig { failure: f, .. } if f == failure));
        assert!(!e.is_retryable());
    }
    let e = judge(
        ResponseCode::NotAuth,
        Some(ResponseTsig::Error(TsigError::BadTime)),
    )
    .unwrap_err();
    assert_eq!(e.rcode(), Some(ResponseCode::BADTIME));
    let e = judge(ResponseCode::NotAuth, Some(ResponseTsig::Absent)).unwrap_err();
    assert!(matches!(
        e,
        NotifyError::Rcode {
            rcode: ResponseCode::NotAuth,
            ..
        }
    ));
    assert_eq!(e.rcode(), Some(ResponseCode::NotAuth));
    let e = judge(ResponseCode::ServFail, None).unwrap_err();
    assert!(e.is_retryable());
    assert!(NotifyError::Timeout { server: server() }.is_retryable());
}
