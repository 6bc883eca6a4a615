//! Errors of the DNS layer. Response codes and TSIG errors become errors in
//! one place, [`UpdateError::from_response`]; nothing else inspects rcodes.
//!
//! The rcode meanings quoted below are RFC 2136 §2.2 ("Message Header"); the
//! TSIG errors are RFC 8945 §5.2 and §5.4.

use std::net::SocketAddr;

use hickory_proto::ProtoError;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::Name;
use hickory_proto::rr::rdata::tsig::TsigError;
use hickory_proto::serialize::binary::DecodeError;

use crate::name::display_name;
use crate::tsig::{Checked, FUDGE, SignError, VerifyError};

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

/// What went wrong with TSIG (RFC 8945): either the server rejected our
/// request's signature, or its answer did not prove it came from a holder
/// of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsigFailure {
    /// TSIG error 16, BADSIG (RFC 8945 §5.2.2): "If the MAC fails to verify,
    /// the server MUST generate an error response as specified in Section
    /// 5.3.2 with RCODE 9 (NOTAUTH) and TSIG ERROR 16 (BADSIG)." The secrets
    /// differ.
    BadSig,
    /// TSIG error 17, BADKEY (RFC 8945 §5.2.1): "If a non-forwarding server
    /// does not recognize the key or algorithm used by the client (or
    /// recognizes the algorithm but does not implement it), the server MUST
    /// generate an error response with RCODE 9 (NOTAUTH) and TSIG ERROR 17
    /// (BADKEY)."
    BadKey,
    /// TSIG error 18, BADTIME (RFC 8945 §5.2.3): "If the server time is
    /// outside the time interval specified by the request (which is the Time
    /// Signed value plus/minus the Fudge value), the server MUST generate an
    /// error response with RCODE 9 (NOTAUTH) and TSIG ERROR 18 (BADTIME)."
    /// The clocks differ.
    BadTime,
    /// TSIG error 22, BADTRUNC (RFC 8945 §5.2.4): the server does not accept
    /// the MAC's length. dnsdesk never truncates, so the server's policy is
    /// unusual.
    BadTrunc,
    /// The answer carried no TSIG record. RFC 8945 §5.4: "When a client
    /// receives a response from a server and expects to see a TSIG, it first
    /// checks if the TSIG RR is present in the response. If not, the
    /// response is treated as having a format error and is discarded."
    ResponseUnsigned,
    /// The answer's TSIG MAC (or its time) did not verify with our key.
    /// RFC 8945 §5.4: "A message containing an unsigned TSIG record or a
    /// TSIG record that fails verification SHOULD NOT be considered an
    /// acceptable response, as it may have been spoofed or manipulated."
    ResponseBadSig,
}

impl TsigFailure {
    /// The failure a TSIG error code in an answer reports; `None` for codes
    /// RFC 8945 does not define for TSIG (e.g. TKEY's BADMODE).
    pub fn from_tsig_error(error: TsigError) -> Option<Self> {
        match error {
            TsigError::BadSig => Some(Self::BadSig),
            TsigError::BadKey => Some(Self::BadKey),
            TsigError::BadTime => Some(Self::BadTime),
            TsigError::BadTrunc => Some(Self::BadTrunc),
            TsigError::Unknown(_) => None,
        }
    }
}

impl TsigFailure {
    /// The extended rcode a server reported, if this is one (BADSIG,
    /// BADKEY, BADTIME, BADTRUNC); `None` for failures found on the answer.
    pub fn rcode(self) -> Option<ResponseCode> {
        match self {
            Self::BadSig => Some(ResponseCode::BADSIG),
            Self::BadKey => Some(ResponseCode::BADKEY),
            Self::BadTime => Some(ResponseCode::BADTIME),
            Self::BadTrunc => Some(ResponseCode::BADTRUNC),
            Self::ResponseUnsigned | Self::ResponseBadSig => None,
        }
    }
}

impl std::fmt::Display for TsigFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::BadSig => "BADSIG",
            Self::BadKey => "BADKEY",
            Self::BadTime => "BADTIME",
            Self::BadTrunc => "BADTRUNC",
            Self::ResponseUnsigned => "the answer is not signed",
            Self::ResponseBadSig => "the answer's signature does not verify",
        })
    }
}

/// What the TSIG record of an answer to a signed request showed, as found
/// by the client before the answer is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseTsig {
    /// A TSIG record whose MAC and time verified with our key.
    Verified,
    /// A TSIG record carrying an error. BADSIG and BADKEY answers are
    /// unsigned by design (RFC 8945 §5.3.2), so the error is taken as sent.
    Error(TsigError),
    /// No TSIG record.
    Absent,
    /// A TSIG record without an error whose MAC or time did not verify.
    Invalid,
}

impl ResponseTsig {
    /// What the verifier found on one message of an answer. An unsigned
    /// message inside a transfer counts as verified: the next signed
    /// message proves it, and the transfer fails if none does.
    pub fn from_check(check: &Result<Checked, VerifyError>) -> Self {
        match check {
            Ok(Checked::Signed | Checked::Unsigned) => Self::Verified,
            Err(VerifyError::Reported(error)) => Self::Error(*error),
            Err(VerifyError::Unsigned) => Self::Absent,
            Err(_) => Self::Invalid,
        }
    }
}

/// Why an UPDATE did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// A prerequisite did not hold (RFC 2136 §3.2.5); nothing was applied.
    /// RFC 2136 §2.2:
    /// - YXDOMAIN 6: "Some name that ought not to exist, does exist."
    /// - YXRRSET 7: "Some RRset that ought not to exist, does exist."
    /// - NXDOMAIN 3: "Some name that ought to exist, does not exist."
    /// - NXRRSET 8: "Some RRset that ought to exist, does not exist."
    #[error("prerequisite failed at {server}: {}", rcode_name(*rcode))]
    PrerequisiteFailed {
        server: SocketAddr,
        rcode: ResponseCode,
    },
    /// REFUSED 5: "The name server refuses to perform the specified
    /// operation for policy or security reasons." (RFC 2136 §2.2); for
    /// updates, the key is not granted the name (§3.3).
    #[error("{server} refused the update")]
    Refused { server: SocketAddr },
    /// NOTAUTH 9 without a TSIG error: "The server is not authoritative for
    /// the zone named in the Zone Section." (RFC 2136 §2.2): the server is
    /// not the primary for the zone or does not accept updates for it.
    #[error("{server} is not authoritative for the zone")]
    NotAuth { server: SocketAddr },
    /// NOTZONE 10: "A name used in the Prerequisite or Update Section is
    /// not within the zone denoted by the Zone Section." (RFC 2136 §2.2)
    #[error("{server} answered NOTZONE")]
    NotZone { server: SocketAddr },
    /// FORMERR 1: "The name server was unable to interpret the request due
    /// to a format error." (RFC 2136 §2.2)
    #[error("{server} answered FORMERR")]
    FormErr { server: SocketAddr },
    /// NOTIMP 4: "The name server does not support the specified Opcode."
    /// (RFC 2136 §2.2)
    #[error("{server} does not implement dynamic update (NOTIMP)")]
    NotImp { server: SocketAddr },
    /// SERVFAIL 2: "The name server encountered an internal failure while
    /// processing this request" (RFC 2136 §2.2); worth retrying.
    #[error("{server} answered SERVFAIL")]
    ServFail { server: SocketAddr },
    /// A TSIG failure, reported by the server or found on its answer.
    #[error("TSIG failure with {server}: {failure}")]
    Tsig {
        server: SocketAddr,
        failure: TsigFailure,
    },
    /// No answer in time. The request may have been written, so the update
    /// may or may not have been applied.
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
    /// The answer could not be decoded.
    #[error("malformed answer from {server}: {source}")]
    Malformed {
        server: SocketAddr,
        source: DecodeError,
    },
    /// A well-formed message that does not answer our request (another id,
    /// not a response, another opcode).
    #[error("{server} sent a message that does not answer the update")]
    Mismatched { server: SocketAddr },
    /// Any other response code.
    #[error("{server} answered {}", rcode_name(*rcode))]
    UnexpectedRcode {
        server: SocketAddr,
        rcode: ResponseCode,
    },
    /// The request could not be signed; nothing was sent.
    #[error("cannot sign the update: {source}")]
    Sign { source: SignError },
    /// The request could not be encoded; nothing was sent.
    #[error("cannot encode the update: {source}")]
    Encode { source: ProtoError },
    /// The encoded request exceeds the 65535 bytes a TCP message may hold
    /// (RFC 1035 §4.2.2); nothing was sent.
    #[error("the update is {len} bytes, more than one DNS message holds")]
    TooLarge { len: usize },
}

impl UpdateError {
    /// Maps an answer to our typed outcome: the only place response codes
    /// and TSIG errors become errors.
    ///
    /// A TSIG error wins over the rcode. Success and failed prerequisites
    /// are claims about the zone, so they count only when the answer's TSIG
    /// verified (RFC 8945 §5.4); a server that accepted our signature signs
    /// them. Refusals (REFUSED, NOTAUTH, NOTIMP, ...) are reported even when
    /// unsigned: servers send them unsigned when they do not take updates at
    /// all, and believing a forged one can only make us retry or stop, never
    /// record a change that did not happen.
    pub fn from_response(
        server: SocketAddr,
        rcode: ResponseCode,
        tsig: ResponseTsig,
    ) -> Result<(), Self> {
        let failure = match tsig {
            ResponseTsig::Error(error) => match TsigFailure::from_tsig_error(error) {
                Some(failure) => Some(failure),
                None => {
                    return Err(Self::UnexpectedRcode {
                        server,
                        rcode: <ResponseCode as From<u16>>::from(u16::from(error)),
                    });
                }
            },
            ResponseTsig::Verified => None,
            ResponseTsig::Absent | ResponseTsig::Invalid => match rcode {
                ResponseCode::NoError
                | ResponseCode::YXDomain
                | ResponseCode::YXRRSet
                | ResponseCode::NXDomain
                | ResponseCode::NXRRSet => Some(if tsig == ResponseTsig::Absent {
                    TsigFailure::ResponseUnsigned
                } else {
                    TsigFailure::ResponseBadSig
                }),
                _ => None,
            },
        };
        if let Some(failure) = failure {
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
            other => Err(Self::UnexpectedRcode {
                server,
                rcode: other,
            }),
        }
    }

    /// True when sending again later may succeed: timeouts, SERVFAIL and
    /// I/O errors.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. } | Self::ServFail { .. } | Self::Io { .. }
        )
    }

    /// True when the server may have applied the update without our
    /// learning it (a timeout, or a connection lost after the request was
    /// written): the zone must be read before sending again.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Io { sent: true, .. })
    }

    /// True when the answer may concern only some of the changes one
    /// message carries: a failed prerequisite, a name the key is refused
    /// (REFUSED, or SERVFAIL from a policy script), a name outside the zone,
    /// a record the server cannot take, a message too large. A sender that
    /// put several changes in the message can split it to find which.
    /// False for what concerns the server or the connection (no answer,
    /// TSIG, NOTAUTH, NOTIMP): every change would meet it alone too.
    pub fn concerns_message(&self) -> bool {
        matches!(
            self,
            Self::PrerequisiteFailed { .. }
                | Self::Refused { .. }
                | Self::NotZone { .. }
                | Self::FormErr { .. }
                | Self::ServFail { .. }
                | Self::UnexpectedRcode { .. }
                | Self::TooLarge { .. }
        )
    }

    /// True for a failed prerequisite: the zone is not as recorded.
    pub fn is_prerequisite_failure(&self) -> bool {
        matches!(self, Self::PrerequisiteFailed { .. })
    }

    /// The response code the server answered, if it answered one we can
    /// name. TSIG errors the server reported are given as their extended
    /// codes (BADSIG, BADKEY, BADTIME, BADTRUNC), which is what admins look
    /// for; an answer that failed our own TSIG check has none, since it
    /// cannot be trusted.
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
            Self::Tsig { failure, .. } => failure.rcode(),
            Self::Timeout { .. }
            | Self::Io { .. }
            | Self::Malformed { .. }
            | Self::Mismatched { .. }
            | Self::Sign { .. }
            | Self::Encode { .. }
            | Self::TooLarge { .. } => None,
        }
    }

    /// A message an admin can act on: which server, key and name, and the
    /// likely cause in plain words.
    pub fn explain(&self, key: &Name, zone: &Name, name: &Name) -> String {
        let (k, z, n) = (display_name(key), display_name(zone), display_name(name));
        match self {
            Self::PrerequisiteFailed { server, rcode } => format!(
                "server {server} answered {} for {n}: zone {z} does not hold what dnsdesk recorded, so nothing was changed",
                rcode_name(*rcode)
            ),
            Self::Refused { server } => format!(
                "server {server} refused the update of {n} with key {k} (REFUSED): its update policy does not grant this key this name; the rule is BIND's `update-policy` of zone {z}, Knot's zone `acl` with `action: update`, or PowerDNS's TSIG-ALLOW-DNSUPDATE metadata or `lua-dnsupdate-policy-script`. PowerDNS also answers REFUSED when the signature does not verify: check that it holds key {k} with the same algorithm and secret"
            ),
            Self::NotAuth { server } => format!(
                "server {server} is not authoritative/primary for zone {z}: point dnsdesk at the zone's primary, and check that it accepts updates for {z}"
            ),
            Self::NotZone { server } => {
                format!("{n} is not within zone {z} on {server}: check the configured zone name")
            }
            Self::FormErr { server } => format!(
                "server {server} could not parse the update of {n} (FORMERR): report this with the server's logs"
            ),
            Self::NotImp { server } => format!(
                "server {server} does not implement dynamic updates (NOTIMP): enable RFC 2136 updates for zone {z} there"
            ),
            Self::ServFail { server } => format!(
                "server {server} could not apply the update of {n} with key {k} (SERVFAIL): check its logs. PowerDNS also answers SERVFAIL when its `lua-dnsupdate-policy-script` rejects the name, i.e. when its update policy does not grant this key this name"
            ),
            Self::Tsig { server, failure } => match failure {
                TsigFailure::BadSig => format!(
                    "the secret of key {k} differs from the one configured on {server} (BADSIG): copy dnsdesk's key file there"
                ),
                TsigFailure::BadKey => format!(
                    "server {server} does not accept key {k} for {n} (BADKEY): either the key is not configured there with the same name and algorithm, or the server's update policy does not grant this key this name (Knot DNS answers BADKEY when its zone `acl` with `action: update` denies the name)"
                ),
                TsigFailure::BadTime => format!(
                    "the clocks of dnsdesk and {server} differ by more than the allowed fudge ({FUDGE} s) (BADTIME with key {k}): check NTP on both"
                ),
                TsigFailure::BadTrunc => format!(
                    "server {server} rejected the MAC length of key {k} (BADTRUNC): check its TSIG truncation policy"
                ),
                TsigFailure::ResponseUnsigned => format!(
                    "server {server} answered the update of {n} without a signature by key {k}: the answer cannot be trusted; is {server} the server that holds the key?"
                ),
                TsigFailure::ResponseBadSig => format!(
                    "server {server} answered the update of {n} with a signature that does not verify with key {k}: the secret there differs, the clocks differ, or the answer was tampered with"
                ),
            },
            Self::Timeout { server } => format!(
                "server {server} did not answer in time about {n}: is it running and reachable over TCP? The update may have been applied"
            ),
            Self::Io { server, source, .. } => format!(
                "cannot talk to server {server} about {n}: {source}; is it running and reachable over TCP?"
            ),
            Self::Malformed { server, source } => {
                format!("server {server} sent an unreadable answer about {n}: {source}")
            }
            Self::Mismatched { server } => format!(
                "server {server} sent a message that does not answer the update of {n}: check for middleboxes rewriting DNS"
            ),
            Self::UnexpectedRcode { server, rcode } => format!(
                "server {server} answered {} to the update of {n} with key {k}",
                rcode_name(*rcode)
            ),
            Self::Sign { source } => {
                format!("the update of {n} could not be signed with key {k}: {source}")
            }
            Self::Encode { source } => {
                format!("the update of {n} could not be encoded: {source}")
            }
            Self::TooLarge { len } => {
                format!("the update of {n} is {len} bytes, more than a DNS message holds: split it")
            }
        }
    }
}

/// Why a query (or transfer) got no usable answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// No answer before the deadline.
    #[error("no answer from {server} in time")]
    Timeout { server: SocketAddr },
    /// The socket failed (ICMP port unreachable shows as connection refused).
    #[error("cannot reach {server}: {source}")]
    Io {
        server: SocketAddr,
        source: std::io::Error,
    },
    /// The answer could not be decoded.
    #[error("malformed answer from {server}: {source}")]
    Malformed {
        server: SocketAddr,
        source: DecodeError,
    },
    /// A well-formed message that does not answer our question (another id,
    /// not a response, another question).
    #[error("{server} sent a message that does not answer the query")]
    Mismatched { server: SocketAddr },
    /// The answer is not usable for what was asked (e.g. no SOA, or a
    /// transfer refused).
    #[error("{server} answered {} without the data asked for", rcode_name(*rcode))]
    Unusable {
        server: SocketAddr,
        rcode: ResponseCode,
    },
    /// A signed exchange (zone transfer) that the server rejected or whose
    /// answer did not verify.
    #[error("TSIG failure with {server}: {failure}")]
    Tsig {
        server: SocketAddr,
        failure: TsigFailure,
    },
    /// The question could not be signed; nothing was sent.
    #[error("cannot sign the query: {source}")]
    Sign { source: SignError },
    /// The question could not be encoded; nothing was sent.
    #[error("cannot encode the query: {source}")]
    Encode { source: ProtoError },
}

impl QueryError {
    /// Judges one message of a signed zone transfer, given its rcode and
    /// what its TSIG showed. A TSIG error the server reports comes first;
    /// then a refusal or other error rcode, reported even when unsigned
    /// (believing a forged one can only make the transfer fail); records
    /// count only from a message whose TSIG verified (or an unsigned one
    /// inside the stream, proven by the next signed one, RFC 8945 §5.3.1).
    pub fn from_transfer_message(
        server: SocketAddr,
        rcode: ResponseCode,
        tsig: ResponseTsig,
    ) -> Result<(), Self> {
        if let ResponseTsig::Error(error) = tsig {
            return Err(match TsigFailure::from_tsig_error(error) {
                Some(failure) => Self::Tsig { server, failure },
                None => Self::Unusable {
                    server,
                    rcode: <ResponseCode as From<u16>>::from(u16::from(error)),
                },
            });
        }
        if rcode != ResponseCode::NoError {
            return Err(Self::Unusable { server, rcode });
        }
        match tsig {
            ResponseTsig::Verified => Ok(()),
            ResponseTsig::Absent => Err(Self::Tsig {
                server,
                failure: TsigFailure::ResponseUnsigned,
            }),
            ResponseTsig::Invalid | ResponseTsig::Error(_) => Err(Self::Tsig {
                server,
                failure: TsigFailure::ResponseBadSig,
            }),
        }
    }
}

/// Why a NOTIFY (RFC 1996) was not acknowledged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The secondary answered with an error: RFC 1996 §4.7 has it answer
    /// NOERROR once it has the NOTIFY; NOTAUTH or REFUSED usually mean it
    /// is not a secondary for the zone or does not take NOTIFY from us.
    #[error("{server} answered {} to the NOTIFY", rcode_name(*rcode))]
    Rcode {
        server: SocketAddr,
        rcode: ResponseCode,
    },
    /// No answer before the deadline, retransmissions included.
    #[error("no answer from {server} to the NOTIFY in time")]
    Timeout { server: SocketAddr },
    /// The socket failed (ICMP port unreachable shows as connection refused).
    #[error("cannot send the NOTIFY to {server}: {source}")]
    Io {
        server: SocketAddr,
        source: std::io::Error,
    },
    /// The answer carrying our id and opcode could not be decoded.
    #[error("malformed answer to the NOTIFY from {server}: {source}")]
    Malformed {
        server: SocketAddr,
        source: DecodeError,
    },
    /// A signed NOTIFY that the secondary rejected, or whose answer did not
    /// verify.
    #[error("TSIG failure with {server}: {failure}")]
    Tsig {
        server: SocketAddr,
        failure: TsigFailure,
    },
    /// The NOTIFY could not be encoded; nothing was sent.
    #[error("cannot encode the NOTIFY: {source}")]
    Encode { source: ProtoError },
    /// The NOTIFY could not be signed; nothing was sent.
    #[error("cannot sign the NOTIFY: {source}")]
    Sign { source: SignError },
}

impl NotifyError {
    /// Maps the answer to a NOTIFY: NOERROR is success, except that the
    /// answer to a signed NOTIFY must verify (`tsig` is `None` for an
    /// unsigned NOTIFY); a TSIG error wins over the rcode, as for updates.
    pub fn from_response(
        server: SocketAddr,
        rcode: ResponseCode,
        tsig: Option<ResponseTsig>,
    ) -> Result<(), Self> {
        match tsig {
            Some(ResponseTsig::Error(error)) => {
                return Err(match TsigFailure::from_tsig_error(error) {
                    Some(failure) => Self::Tsig { server, failure },
                    None => Self::Rcode {
                        server,
                        rcode: <ResponseCode as From<u16>>::from(u16::from(error)),
                    },
                });
            }
            Some(ResponseTsig::Absent) if rcode == ResponseCode::NoError => {
                return Err(Self::Tsig {
                    server,
                    failure: TsigFailure::ResponseUnsigned,
                });
            }
            Some(ResponseTsig::Invalid) if rcode == ResponseCode::NoError => {
                return Err(Self::Tsig {
                    server,
                    failure: TsigFailure::ResponseBadSig,
                });
            }
            _ => {}
        }
        match rcode {
            ResponseCode::NoError => Ok(()),
            rcode => Err(Self::Rcode { server, rcode }),
        }
    }

    /// True when sending again later may succeed: timeouts, I/O errors and
    /// SERVFAIL.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Io { .. })
            || matches!(
                self,
                Self::Rcode {
                    rcode: ResponseCode::ServFail,
                    ..
                }
            )
    }

    /// The response code the secondary answered, TSIG errors as their
    /// extended codes.
    pub fn rcode(&self) -> Option<ResponseCode> {
        match self {
            Self::Rcode { rcode, .. } => Some(*rcode),
            Self::Tsig { failure, .. } => failure.rcode(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn server() -> SocketAddr {
        "127.0.0.1:53".parse().unwrap()
    }

    fn outcome(rcode: ResponseCode, tsig: ResponseTsig) -> Result<(), UpdateError> {
        UpdateError::from_response(server(), rcode, tsig)
    }

    #[test]
    fn every_rcode_maps_to_one_outcome() {
        assert!(outcome(ResponseCode::NoError, ResponseTsig::Verified).is_ok());
        for rcode in [
            ResponseCode::YXDomain,
            ResponseCode::YXRRSet,
            ResponseCode::NXDomain,
            ResponseCode::NXRRSet,
        ] {
            let e = outcome(rcode, ResponseTsig::Verified).unwrap_err();
            assert!(e.is_prerequisite_failure() && !e.is_retryable());
            assert_eq!(e.rcode(), Some(rcode));
        }
        let e = outcome(ResponseCode::ServFail, ResponseTsig::Verified).unwrap_err();
        assert!(e.is_retryable() && !e.outcome_unknown());
        for (rcode, want) in [
            (ResponseCode::Refused, "Refused"),
            (ResponseCode::NotAuth, "NotAuth"),
            (ResponseCode::NotZone, "NotZone"),
            (ResponseCode::FormErr, "FormErr"),
            (ResponseCode::NotImp, "NotImp"),
            (ResponseCode::BADVERS, "UnexpectedRcode"),
        ] {
            for tsig in [ResponseTsig::Verified, ResponseTsig::Absent] {
                let e = outcome(rcode, tsig).unwrap_err();
                assert!(format!("{e:?}").starts_with(want), "{e:?}");
                assert!(!e.is_retryable() && !e.outcome_unknown());
            }
        }
    }

    #[test]
    fn tsig_errors_win_over_the_rcode() {
        for (error, failure, rcode) in [
            (TsigError::BadSig, TsigFailure::BadSig, ResponseCode::BADSIG),
            (TsigError::BadKey, TsigFailure::BadKey, ResponseCode::BADKEY),
            (
                TsigError::BadTime,
                TsigFailure::BadTime,
                ResponseCode::BADTIME,
            ),
            (
                TsigError::BadTrunc,
                TsigFailure::BadTrunc,
                ResponseCode::BADTRUNC,
            ),
        ] {
            let e = outcome(ResponseCode::NotAuth, ResponseTsig::Error(error)).unwrap_err();
            assert!(matches!(e, UpdateError::Tsig { failure: f, .. } if f == failure));
            assert_eq!(e.rcode(), Some(rcode));
        }
        let e = outcome(
            ResponseCode::NotAuth,
            ResponseTsig::Error(TsigError::Unknown(21)),
        )
        .unwrap_err();
        assert_eq!(e.rcode(), Some(ResponseCode::BADALG));
    }

    #[test]
    fn claims_about_the_zone_need_a_verified_answer() {
        for rcode in [ResponseCode::NoError, ResponseCode::YXDomain] {
            let e = outcome(rcode, ResponseTsig::Absent).unwrap_err();
            assert!(matches!(
                e,
                UpdateError::Tsig {
                    failure: TsigFailure::ResponseUnsigned,
                    ..
                }
            ));
            assert_eq!(e.rcode(), None);
            let e = outcome(rcode, ResponseTsig::Invalid).unwrap_err();
            assert!(matches!(
                e,
                UpdateError::Tsig {
                    failure: TsigFailure::ResponseBadSig,
                    ..
                }
            ));
        }
    }

    #[test]
    fn only_lost_answers_leave_the_outcome_unknown() {
        let s = server();
        assert!(UpdateError::Timeout { server: s }.outcome_unknown());
        let io = |sent| UpdateError::Io {
            server: s,
            sent,
            source: std::io::ErrorKind::ConnectionReset.into(),
        };
        assert!(io(true).outcome_unknown() && io(true).is_retryable());
        assert!(!io(false).outcome_unknown() && io(false).is_retryable());
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
        let explain = |e: UpdateError| e.explain(&key, &zone, &name);
        let tsig = |failure| UpdateError::Tsig {
            server: server(),
            failure,
        };
        let text = explain(tsig(TsigFailure::BadTime));
        assert!(text.contains("127.0.0.1:53") && text.contains("clocks") && text.contains("300 s"));
        let text = explain(tsig(TsigFailure::BadKey));
        assert!(text.contains("does not accept key dnsdesk") && text.contains("algorithm"));
        assert!(text.contains("update policy") && text.contains("acl"));
        let text = explain(tsig(TsigFailure::BadSig));
        assert!(text.contains("secret of key dnsdesk differs"));
        let text = explain(UpdateError::Refused { server: server() });
        assert!(text.contains("a.kalbarprov.go.id") && text.contains("key dnsdesk"));
        assert!(text.contains("policy"));
        let text = explain(UpdateError::NotAuth { server: server() });
        assert!(text.contains("not authoritative/primary for zone kalbarprov.go.id"));
        let text = explain(UpdateError::NotZone { server: server() });
        assert!(text.starts_with("a.kalbarprov.go.id is not within zone kalbarprov.go.id"));
    }
}
