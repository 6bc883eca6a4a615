//! Errors of the DNS layer, converted from response codes in one place
//! ([`UpdateError::from_response`]); nothing else inspects rcodes.

use std::net::SocketAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::Name;

use crate::name::display_name;

/// The mnemonic of a response code as RFC 1035, RFC 2136 and RFC 8945 name
/// it (`NOERROR`, `YXDOMAIN`, `BADSIG`), which is what admins grep logs for.
pub fn rcode_name(rcode: ResponseCode) -> String {
    let name = match rcode {
        ResponseCode::NoError => "NOERROR",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::NXDomain => "NXDOMAIN",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::Refused => "REFUSED",
        ResponseCode::YXDomain => "YXDOMAIN",
        ResponseCode::YXRRSet => "YXRRSET",
        ResponseCode::NXRRSet => "NXRRSET",
        ResponseCode::NotAuth => "NOTAUTH",
        ResponseCode::NotZone => "NOTZONE",
        ResponseCode::BADVERS => "BADVERS",
        ResponseCode::BADSIG => "BADSIG",
        ResponseCode::BADKEY => "BADKEY",
        ResponseCode::BADTIME => "BADTIME",
        ResponseCode::BADMODE => "BADMODE",
        ResponseCode::BADNAME => "BADNAME",
        ResponseCode::BADALG => "BADALG",
        ResponseCode::BADTRUNC => "BADTRUNC",
        ResponseCode::BADCOOKIE => "BADCOOKIE",
        other => return format!("RCODE{}", u16::from(other)),
    };
    name.to_owned()
}

/// What went wrong with TSIG (RFC 8945 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsigFailure {
    /// §5.3.2 BADSIG: "the MAC ... is invalid": the secrets differ.
    BadSig,
    /// §5.2 BADKEY: "the key name or algorithm is not known to the server".
    BadKey,
    /// §5.2.3 BADTIME: "the time is not within the fudge window": clocks.
    BadTime,
    /// §5.2.2.1 BADTRUNC: a truncated MAC the server will not accept.
    BadTrunc,
    /// The server answered without signing its response.
    ResponseUnsigned,
    /// The server's signature on its response did not verify.
    ResponseBadSig,
}

impl std::fmt::Display for TsigFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::BadSig => "BADSIG",
            Self::BadKey => "BADKEY",
            Self::BadTime => "BADTIME",
            Self::BadTrunc => "BADTRUNC",
            Self::ResponseUnsigned => "unsigned response",
            Self::ResponseBadSig => "response signature invalid",
        })
    }
}

/// Why an UPDATE did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// A prerequisite did not hold (RFC 2136 §3.2): YXDOMAIN ("name is in
    /// use"), YXRRSET ("RRset exists"), NXDOMAIN ("name is not in use"),
    /// NXRRSET ("RRset does not exist" or differs). The zone is not what we
    /// expected; nothing was applied.
    #[error("prerequisite failed at {server}: {}", rcode_name(*rcode))]
    PrerequisiteFailed {
        server: SocketAddr,
        rcode: ResponseCode,
    },
    /// REFUSED (RFC 2136 §3.3): "the requestor ... does not have
    /// permission" under the server's update policy.
    #[error("{server} refused the update")]
    Refused { server: SocketAddr },
    /// NOTAUTH without a TSIG error (RFC 2136 §3.1.2): the server is not
    /// authoritative (or not the primary) for the zone.
    #[error("{server} is not authoritative for the zone")]
    NotAuth { server: SocketAddr },
    /// NOTZONE (RFC 2136 §3.4.1.3): a name is outside the zone section.
    #[error("{server} answered NOTZONE")]
    NotZone { server: SocketAddr },
    /// FORMERR: the server could not parse the message.
    #[error("{server} answered FORMERR")]
    FormErr { server: SocketAddr },
    /// NOTIMP: the server does not implement UPDATE.
    #[error("{server} does not implement dynamic update (NOTIMP)")]
    NotImp { server: SocketAddr },
    /// SERVFAIL (RFC 2136 §3.1.1): an internal error; worth retrying.
    #[error("{server} answered SERVFAIL")]
    ServFail { server: SocketAddr },
    /// A TSIG failure, either reported by the server or found on its reply.
    #[error("TSIG failure with {server}: {failure}")]
    Tsig {
        server: SocketAddr,
        failure: TsigFailure,
    },
    /// No answer in time: the update may or may not have been applied.
    #[error("no answer from {server} in time")]
    Timeout { server: SocketAddr },
    /// The connection failed. `sent` tells whether the request had been
    /// written: if so, the update may have been applied.
    #[error("connection to {server} failed: {source}")]
    Io {
        server: SocketAddr,
        sent: bool,
        source: std::io::Error,
    },
    /// A reply that is not a well-formed answer to our request.
    #[error("malformed reply from {server}: {detail}")]
    Malformed { server: SocketAddr, detail: String },
    /// Any other response code.
    #[error("{server} answered {}", rcode_name(*rcode))]
    UnexpectedRcode {
        server: SocketAddr,
        rcode: ResponseCode,
    },
    /// The message could not be built or signed here.
    #[error("cannot build the update: {0}")]
    Build(String),
}

impl UpdateError {
    /// Maps a response to our typed outcome: the only place rcodes and TSIG
    /// errors become errors.
    pub fn from_response(
        server: SocketAddr,
        rcode: ResponseCode,
        tsig_error: Option<TsigFailure>,
    ) -> Result<(), Self> {
        if let Some(failure) = tsig_error {
            return Err(Self::Tsig { server, failure });
        }
        match rcode {
            ResponseCode::NoError => Ok(()),
            ResponseCode::YXDomain
            | ResponseCode::YXRRSet
            | ResponseCode::NXDomain
            | ResponseCode::NXRRSet => Err(Self::PrerequisiteFailed { server, rcode }),
            ResponseCode::Refused => Err(Self::Refused { server }),
            ResponseCode::NotAuth => Err(Self::NotAuth { server }),
            ResponseCode::NotZone => Err(Self::NotZone { server }),
            ResponseCode::FormErr => Err(Self::FormErr { server }),
            ResponseCode::NotImp => Err(Self::NotImp { server }),
            ResponseCode::ServFail => Err(Self::ServFail { server }),
            ResponseCode::BADSIG => Err(Self::Tsig {
                server,
                failure: TsigFailure::BadSig,
            }),
            ResponseCode::BADKEY => Err(Self::Tsig {
                server,
                failure: TsigFailure::BadKey,
            }),
            ResponseCode::BADTIME => Err(Self::Tsig {
                server,
                failure: TsigFailure::BadTime,
            }),
            other => Err(Self::UnexpectedRcode {
                server,
                rcode: other,
            }),
        }
    }

    /// True when sending again later may succeed (timeouts, SERVFAIL, I/O).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. } | Self::ServFail { .. } | Self::Io { .. }
        )
    }

    /// True when the server may have applied the update without our
    /// learning it: the zone must be read before sending again.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Io { sent: true, .. })
    }

    /// True for a failed prerequisite: the zone is not as recorded.
    pub fn is_prerequisite_failure(&self) -> bool {
        matches!(self, Self::PrerequisiteFailed { .. })
    }

    /// The response code the server answered, if it answered.
    pub fn rcode(&self) -> Option<ResponseCode> {
        match self {
            Self::PrerequisiteFailed { rcode, .. } | Self::UnexpectedRcode { rcode, .. } => {
                Some(*rcode)
            }
            Self::Refused { .. } => Some(ResponseCode::Refused),
            Self::NotAuth { .. } => Some(ResponseCode::NotAuth),
            Self::NotZone { .. } => Some(ResponseCode::NotZone),
            Self::FormErr { .. } => Some(ResponseCode::FormErr),
            Self::NotImp { .. } => Some(ResponseCode::NotImp),
            Self::ServFail { .. } => Some(ResponseCode::ServFail),
            Self::Tsig { failure, .. } => match failure {
                TsigFailure::BadSig => Some(ResponseCode::BADSIG),
                TsigFailure::BadKey => Some(ResponseCode::BADKEY),
                TsigFailure::BadTime => Some(ResponseCode::BADTIME),
                TsigFailure::BadTrunc
                | TsigFailure::ResponseUnsigned
                | TsigFailure::ResponseBadSig => Some(ResponseCode::NotAuth),
            },
            Self::Timeout { .. } | Self::Io { .. } | Self::Malformed { .. } | Self::Build(_) => {
                None
            }
        }
    }

    /// A message an admin can act on: which server, key and name, and the
    /// likely cause in plain words.
    pub fn explain(&self, key: &Name, zone: &Name, name: &Name) -> String {
        let (k, z, n) = (display_name(key), display_name(zone), display_name(name));
        match self {
            Self::PrerequisiteFailed { server, rcode } => format!(
                "{server} answered {} for {n}: the zone does not hold what dnsdesk recorded, so nothing was changed",
                rcode_name(*rcode)
            ),
            Self::Refused { server } => format!(
                "{server} refused the update of {n} signed with key {k}: its update policy does not grant this key this name"
            ),
            Self::NotAuth { server } => format!(
                "{server} is not authoritative (or not the primary) for zone {z}: point zone.primary at the primary server"
            ),
            Self::NotZone { server } => {
                format!("{server} says {n} is not within zone {z}: check zone.name")
            }
            Self::FormErr { server } => format!(
                "{server} could not parse the update of {n} (FORMERR): report this with the server's logs"
            ),
            Self::NotImp { server } => format!(
                "{server} does not accept dynamic updates for {z} (NOTIMP): enable RFC 2136 updates there"
            ),
            Self::ServFail { server } => format!(
                "{server} failed internally while updating {n} (SERVFAIL): check its logs; dnsdesk retries"
            ),
            Self::Tsig { server, failure } => match failure {
                TsigFailure::BadSig => format!(
                    "{server} rejected the signature of key {k} (BADSIG): the secret configured there differs from dnsdesk's"
                ),
                TsigFailure::BadKey => format!(
                    "{server} does not know key {k} (BADKEY): is it configured there with the same name and algorithm?"
                ),
                TsigFailure::BadTime => format!(
                    "{server} rejected key {k} for its time (BADTIME): the clocks of dnsdesk and {server} differ by more than 5 minutes; check NTP"
                ),
                TsigFailure::BadTrunc => {
                    format!("{server} rejected the truncated MAC of key {k} (BADTRUNC)")
                }
                TsigFailure::ResponseUnsigned => format!(
                    "{server} answered the update of {n} without signing with key {k}: the answer cannot be trusted; check the key there"
                ),
                TsigFailure::ResponseBadSig => format!(
                    "{server} signed its answer with a different secret for key {k}: check the key there"
                ),
            },
            Self::Timeout { server } => format!(
                "{server} did not answer in time for {n}: is it running and reachable over TCP?"
            ),
            Self::Io { server, source, .. } => format!(
                "cannot talk to {server} about {n}: {source}; is it running and reachable over TCP?"
            ),
            Self::Malformed { server, detail } => {
                format!("{server} sent an unreadable answer for {n}: {detail}")
            }
            Self::UnexpectedRcode { server, rcode } => {
                format!(
                    "{server} answered {} to the update of {n}",
                    rcode_name(*rcode)
                )
            }
            Self::Build(detail) => format!("the update of {n} could not be built: {detail}"),
        }
    }
}

/// Why a query got no usable answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    #[error("no answer from {server} in time")]
    Timeout { server: SocketAddr },
    #[error("cannot reach {server}: {source}")]
    Io {
        server: SocketAddr,
        source: std::io::Error,
    },
    #[error("malformed answer from {server}: {detail}")]
    Malformed { server: SocketAddr, detail: String },
    /// The answer is not usable for what was asked (e.g. no SOA).
    #[error("{server} answered {} without the data asked for", rcode_name(*rcode))]
    Unusable {
        server: SocketAddr,
        rcode: ResponseCode,
    },
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn server() -> SocketAddr {
        "127.0.0.1:53".parse().unwrap()
    }

    #[test]
    fn every_rcode_maps_to_one_outcome() {
        let s = server();
        assert!(UpdateError::from_response(s, ResponseCode::NoError, None).is_ok());
        for rcode in [
            ResponseCode::YXDomain,
            ResponseCode::YXRRSet,
            ResponseCode::NXDomain,
            ResponseCode::NXRRSet,
        ] {
            let e = UpdateError::from_response(s, rcode, None).unwrap_err();
            assert!(e.is_prerequisite_failure() && !e.is_retryable());
            assert_eq!(e.rcode(), Some(rcode));
        }
        let e = UpdateError::from_response(s, ResponseCode::ServFail, None).unwrap_err();
        assert!(e.is_retryable() && !e.outcome_unknown());
        let e = UpdateError::from_response(s, ResponseCode::Refused, None).unwrap_err();
        assert!(matches!(e, UpdateError::Refused { .. }) && !e.is_retryable());
        let e = UpdateError::from_response(s, ResponseCode::NotAuth, Some(TsigFailure::BadSig))
            .unwrap_err();
        assert!(matches!(
            e,
            UpdateError::Tsig {
                failure: TsigFailure::BadSig,
                ..
            }
        ));
        let e = UpdateError::from_response(s, ResponseCode::NotAuth, None).unwrap_err();
        assert!(matches!(e, UpdateError::NotAuth { .. }));
        for (rcode, want) in [
            (ResponseCode::NotZone, "NotZone"),
            (ResponseCode::FormErr, "FormErr"),
            (ResponseCode::NotImp, "NotImp"),
        ] {
            let e = UpdateError::from_response(s, rcode, None).unwrap_err();
            assert!(format!("{e:?}").starts_with(want), "{e:?}");
        }
        assert!(UpdateError::Timeout { server: s }.outcome_unknown());
    }

    #[test]
    fn rcodes_have_their_mnemonics() {
        assert_eq!(rcode_name(ResponseCode::YXDomain), "YXDOMAIN");
        assert_eq!(rcode_name(ResponseCode::NoError), "NOERROR");
        assert_eq!(rcode_name(ResponseCode::BADTIME), "BADTIME");
    }

    #[test]
    fn explanations_name_server_key_and_cause() {
        let key = Name::from_ascii("dnsdesk.").unwrap();
        let zone = Name::from_ascii("kalbarprov.go.id.").unwrap();
        let name = Name::from_ascii("a.kalbarprov.go.id.").unwrap();
        let text = UpdateError::Tsig {
            server: server(),
            failure: TsigFailure::BadTime,
        }
        .explain(&key, &zone, &name);
        assert!(
            text.contains("127.0.0.1:53") && text.contains("dnsdesk") && text.contains("clocks")
        );
        let text = UpdateError::Refused { server: server() }.explain(&key, &zone, &name);
        assert!(text.contains("a.kalbarprov.go.id") && text.contains("policy"));
    }
}
