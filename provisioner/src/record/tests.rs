//! Record rules, case by case.

#![allow(clippy::unwrap_used)]

use super::*;
use hickory_proto::rr::RData;

fn owner() -> Name {
    Name::from_ascii("disdik.kalbarprov.go.id.").unwrap()
}

fn input(rtype: &str, value: &str) -> RecordInput {
    RecordInput {
        rtype: rtype.into(),
        value: value.into(),
        ttl: None,
        glue: vec![],
    }
}

fn parse(rtype: &str, value: &str) -> Result<RecordSpec, RecordError> {
    RecordPolicy::default().parse_record(0, &owner(), &input(rtype, value))
}

#[test]
fn parses_every_supported_type() {
    let ok = [
        ("A", "203.0.113.10", "203.0.113.10"),
        ("aaaa", "2001:db8::10", "2001:db8::10"),
        ("CNAME", "Web.Example.com", "web.example.com."),
        ("MX", "10 mail.example.com.", "10 mail.example.com."),
        ("TXT", "\"v=spf1 -all\"", "v=spf1 -all"),
        (
            "CAA",
            "0 issue \"letsencrypt.org\"",
            "0 issue \"letsencrypt.org\"",
        ),
        (
            "SRV",
            "10 5 5060 sip.example.com",
            "10 5 5060 sip.example.com.",
        ),
        ("NS", "ns1.example.net", "ns1.example.net."),
    ];
    for (t, v, want) in ok {
        let spec = parse(t, v).unwrap();
        assert_eq!(spec.data.value(), want, "{t} {v}");
        assert_eq!(spec.ttl, 3600);
        assert_eq!(spec.to_records(&owner()).len(), 1);
    }
}

#[test]
fn refuses_bad_addresses_and_values_naming_the_field() {
    for (t, v) in [
        ("A", "127.0.0.1"),
        ("A", "0.0.0.0"),
        ("A", "224.0.0.1"),
        ("A", "169.254.1.1"),
        ("A", "10.1.2.3"),
        ("A", "192.168.1.1"),
        ("A", "172.16.0.1"),
        ("A", "100.64.0.1"),
        ("A", "not-an-ip"),
        ("AAAA", "::1"),
        ("AAAA", "fe80::1"),
        ("AAAA", "fd00::1"),
        ("AAAA", "ff02::1"),
        ("CNAME", "bad_name.example.com"),
        ("MX", "mail.example.com"),
        ("MX", "99999 mail.example.com"),
        ("SRV", "1 2 x host.example.com"),
        ("CAA", "0 foo \"x\""),
        ("CAA", "5 issue \"x\""),
        ("TXT", "bad\u{7}bell"),
    ] {
        let e = parse(t, v).unwrap_err();
        assert_eq!(e.field, "value", "{t} {v}: {e}");
    }
    let e = parse("HINFO", "x").unwrap_err();
    assert_eq!(e.path(), "records[0].type");
    let mut i = input("A", "203.0.113.1");
    i.ttl = Some(30);
    let e = RecordPolicy::default()
        .parse_record(3, &owner(), &i)
        .unwrap_err();
    assert_eq!(e.path(), "records[3].ttl");
}

#[test]
fn private_addresses_only_when_allowed() {
    let policy = RecordPolicy {
        allow_private_addresses: true,
        ..RecordPolicy::default()
    };
    assert!(
        policy
            .parse_record(0, &owner(), &input("A", "10.0.0.1"))
            .is_ok()
    );
    assert!(
        policy
            .parse_record(0, &owner(), &input("A", "127.0.0.1"))
            .is_err()
    );
}

#[test]
fn long_txt_is_split_into_255_byte_strings() {
    let text = "x".repeat(600);
    let spec = parse("TXT", &text).unwrap();
    let records = spec.to_records(&owner());
    let RData::TXT(txt) = &records[0].data else {
        panic!("not TXT")
    };
    let lens: Vec<usize> = txt.txt_data.iter().map(|s| s.len()).collect();
    assert_eq!(lens, [255, 255, 90]);
    assert!(parse("TXT", &"y".repeat(MAX_TXT_LEN + 1)).is_err());
}

#[test]
fn combination_rules() {
    let p = RecordPolicy::default();
    let cname_and_a = [input("CNAME", "x.example.com"), input("A", "203.0.113.1")];
    let e = p.parse_records(&owner(), &cname_and_a).unwrap_err();
    assert_eq!(e.path(), "records[0].type");
    let ns_and_a = [input("NS", "ns1.example.net"), input("A", "203.0.113.1")];
    assert_eq!(
        p.parse_records(&owner(), &ns_and_a).unwrap_err().path(),
        "records[1].type"
    );
    let dup = [input("A", "203.0.113.1"), input("A", "203.0.113.1")];
    assert_eq!(
        p.parse_records(&owner(), &dup).unwrap_err().path(),
        "records[1].value"
    );
    let mut second = input("A", "203.0.113.2");
    second.ttl = Some(600);
    let ttl = [input("A", "203.0.113.1"), second];
    assert_eq!(
        p.parse_records(&owner(), &ttl).unwrap_err().path(),
        "records[1].ttl"
    );
    assert_eq!(
        p.parse_records(&owner(), &[]).unwrap_err().path(),
        "records"
    );
}

#[test]
fn glue_is_required_inside_and_refused_outside() {
    let p = RecordPolicy::default();
    let inside = input("NS", "ns1.disdik.kalbarprov.go.id");
    assert_eq!(
        p.parse_record(0, &owner(), &inside).unwrap_err().field,
        "glue"
    );
    let mut with_glue = inside.clone();
    with_glue.glue = vec!["203.0.113.53".into(), "2001:db8::53".into()];
    let spec = p.parse_record(0, &owner(), &with_glue).unwrap();
    let records = spec.to_records(&owner());
    assert_eq!(records.len(), 3);
    assert_eq!(
        display_name(&records[1].name),
        "ns1.disdik.kalbarprov.go.id"
    );
    let mut outside = input("NS", "ns1.example.net");
    outside.glue = vec!["203.0.113.53".into()];
    assert_eq!(
        p.parse_record(0, &owner(), &outside).unwrap_err().field,
        "glue"
    );
    let mut a_glue = input("A", "203.0.113.1");
    a_glue.glue = vec!["203.0.113.53".into()];
    assert_eq!(
        p.parse_record(0, &owner(), &a_glue).unwrap_err().field,
        "glue"
    );
}

#[test]
fn inputs_round_trip() {
    let mut ns = input("NS", "ns1.disdik.kalbarprov.go.id");
    ns.glue = vec!["203.0.113.53".into()];
    let specs = RecordPolicy::default()
        .parse_records(&owner(), &[ns])
        .unwrap();
    let inputs: Vec<RecordInput> = specs.iter().map(RecordSpec::to_input).collect();
    assert_eq!(specs_from_inputs(&owner(), &inputs).unwrap(), specs);
}
