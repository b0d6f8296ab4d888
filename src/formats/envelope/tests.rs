use super::*;

fn unwrap_all(input: &[u8]) -> (Option<Envelope>, String, Origins) {
    let (mut reader, env) = sniff(Box::new(io::Cursor::new(input.to_vec())));
    if let Some(e) = &env {
        e.origins.keep_times();
    }
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    let out = String::from_utf8_lossy(&out).into_owned();
    let origins = env.as_ref().map(|e| e.origins.clone()).unwrap_or_default();
    (env.map(|e| e.envelope), out, origins)
}

#[test]
fn rfc3164_lines_as_rsyslog_writes_them_lose_their_prefix_and_keep_host_and_program() {
    let log = b"Dec  7 12:14:14 web1 nginx: 2026/12/07 12:14:14 [error] 7#7: *1 boom\n\
                Dec  7 12:14:15 web2 nginx[12]: 127.0.0.1 - - [07/Dec/2026:12:14:15 +0000] \"GET / HTTP/1.1\" 502 1 \"-\" \"x\"\n";
    let (env, out, origins) = unwrap_all(log);
    assert_eq!(env, Some(Envelope::Rfc3164));
    assert!(out.starts_with("2026/12/07 12:14:14 [error] 7#7: *1 boom\n127.0.0.1 - -"));
    assert_eq!(origins.at(1).unwrap().host.as_deref(), Some("web1"));
    let second = origins.at(2).unwrap();
    assert_eq!(
        (second.host.as_deref(), second.source.as_deref()),
        (Some("web2"), Some("nginx"))
    );
}

#[test]
fn an_aws_elb_log_is_no_syslog() {
    // Time, then a name, where RFC 3164 with an RFC 3339 time has them: then a client address
    // where it has the tag (AWS's documented example).
    let elb = b"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 \"GET http://www.example.com:80/ HTTP/1.1\" \"curl/7.38.0\" - -\n";
    assert_eq!(unwrap_all(&elb.repeat(4)).0, None);
}

#[test]
fn rfc3164_with_a_priority_or_an_rfc3339_time_is_read_too() {
    let u = Envelope::Rfc3164
        .unwrap_line(b"<190>Dec 17 12:14:14 h nginx: msg: x")
        .unwrap();
    assert_eq!(&*u.message, b"msg: x");
    let u = Envelope::Rfc3164
        .unwrap_line(b"2026-12-07T12:14:14.123456+00:00 h app[1]: hello")
        .unwrap();
    assert_eq!(
        (&*u.message, u.source.as_deref()),
        (&b"hello"[..], Some(&b"app"[..]))
    );
    // rsyslog writes the tag of a message that came in RFC 5424 without a colon.
    let u = Envelope::Rfc3164
        .unwrap_line(b"Dec  7 12:14:14 vm app five")
        .unwrap();
    assert_eq!(
        (&*u.message, u.source.as_deref()),
        (&b"five"[..], Some(&b"app"[..]))
    );
    assert!(Envelope::Rfc3164.unwrap_line(b"Dec  7 12:14:14").is_none());
    let nginx_error = b"2026/12/07 12:14:14 [error] 1#1: x";
    assert!(Envelope::Rfc3164.unwrap_line(nginx_error).is_none());
}

#[test]
fn rfc5424_skips_structured_data_with_escapes_and_a_bom() {
    let line = "<165>1 2026-11-25T14:00:03.003Z web1 nginx 42 ID47 [x@1 a=\"b\\]c\"][y@2 z=\"w\"] \u{feff}the message";
    let u = Envelope::Rfc5424.unwrap_line(line.as_bytes()).unwrap();
    assert_eq!(&*u.message, b"the message");
    assert_eq!(u.host.as_deref(), Some(&b"web1"[..]));
    let u = Envelope::Rfc5424
        .unwrap_line(b"<13>1 - - - - - - bare")
        .unwrap();
    assert_eq!((&*u.message, u.host), (&b"bare"[..], None));
    assert!(
        Envelope::Rfc5424
            .unwrap_line(b"<13>1 2026-11-25T14:00:03Z h a p m [open")
            .is_none()
    );
}

#[test]
fn cri_partial_lines_are_joined_and_docker_pieces_too() {
    let cri = b"2026-11-25T14:00:03.123456789Z stdout P hello \n\
                2026-11-25T14:00:03.123456790Z stdout F world\n\
                2026-11-25T14:00:04.000000000Z stderr F second\n";
    let (env, out, _) = unwrap_all(cri);
    assert_eq!(
        (env, out.as_str()),
        (Some(Envelope::Cri), "hello world\nsecond\n")
    );
    let docker = br#"{"log":"first \"part","stream":"stdout","time":"2026-11-25T14:00:03Z"}
{"log":" rest\n","stream":"stdout","time":"2026-11-25T14:00:03Z"}
{"log":"two\n","stream":"stderr","attrs":{"tag":"web"},"time":"2026-11-25T14:00:04Z"}
"#;
    let (env, out, origins) = unwrap_all(docker);
    assert_eq!(
        (env, out.as_str()),
        (Some(Envelope::Docker), "first \"part rest\ntwo\n")
    );
    assert_eq!(origins.at(2).unwrap().source.as_deref(), Some("web"));
}

#[test]
fn journal_export_records_with_binary_fields_are_read() {
    let mut export = b"__CURSOR=s=1\n__REALTIME_TIMESTAMP=1\n_HOSTNAME=box\nSYSLOG_IDENTIFIER=nginx\nMESSAGE=one\n\n".to_vec();
    export.extend_from_slice(b"__CURSOR=s=2\nMESSAGE\n");
    let message = b"two\nlines";
    export.extend_from_slice(&(message.len() as u64).to_le_bytes());
    export.extend_from_slice(message);
    export.extend_from_slice(b"\n_HOSTNAME=other\n\n");
    let (env, out, origins) = unwrap_all(&export);
    assert_eq!(
        (env, out.as_str()),
        (Some(Envelope::JournalExport), "one\ntwo\nlines\n")
    );
    assert_eq!(origins.at(1).unwrap().source.as_deref(), Some("nginx"));
    assert_eq!(origins.at(3).unwrap().host.as_deref(), Some("other"));
}

#[test]
fn journal_json_takes_the_message_as_text_or_bytes() {
    let json =
        br#"{"__CURSOR":"s=1","_HOSTNAME":"box","_SYSTEMD_UNIT":"nginx.service","MESSAGE":"hi"}
{"__CURSOR":"s=2","_HOSTNAME":"box","MESSAGE":[104,105,255]}
"#;
    let (env, out, origins) = unwrap_all(json);
    assert_eq!(env, Some(Envelope::JournalJson));
    assert_eq!(out, "hi\nhi\u{fffd}\n");
    assert_eq!(
        origins.at(1).unwrap().source.as_deref(),
        Some("nginx.service")
    );
}

#[test]
fn plain_logs_are_in_no_envelope_and_pass_through() {
    for plain in [
        &b"1.2.3.4 - - [25/Nov/2026:14:00:03 +0000] \"GET / HTTP/1.1\" 200 1\n"[..],
        b"2026/11/25 14:00:03 [error] 1#1: *1 boom\n",
        b"{\"status\":500,\"time\":\"2026-11-25T14:00:03Z\",\"request\":\"GET / HTTP/1.1\"}\n",
        b"",
        // A custom format whose first field is an RFC 3339 time.
        b"2026-11-25T10:00:00+01:00|502|GET /a HTTP/1.1\n1764064800.250|200|GET /b HTTP/1.1\n",
    ] {
        let (env, out, _) = unwrap_all(plain);
        assert_eq!((env, out.as_bytes()), (None, plain));
    }
}

proptest::proptest! {
    #[test]
    fn any_bytes_unwrap_without_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        for e in Envelope::LINES {
            let _ = e.unwrap_line(&bytes);
        }
        let _ = Unwrap::new(io::Cursor::new(bytes.clone()), Envelope::JournalExport, Origins::default())
            .read_to_end(&mut Vec::new());
    }
}

/// A Node stack sent through `logger` to rsyslogd, as its default file format and RFC 5424
/// template wrote it (`tests/lab_node.rs`): each line keeps its indentation and its time.
#[test]
fn syslog_lines_keep_their_indentation_and_their_time() {
    let default = b"2026-12-07T18:17:50.547653+00:00 vm node: TypeError: x\n\
                    2026-12-07T18:17:51.547771+00:00 vm node:     at /srv/a.js:5:55\n";
    let (env, out, origins) = unwrap_all(default);
    assert_eq!(env, Some(Envelope::Rfc3164));
    assert_eq!(out, "TypeError: x\n    at /srv/a.js:5:55\n");
    assert_eq!(origins.time_at(1).unwrap().ms % 1000, 547);
    assert_eq!(
        origins.time_at(2).unwrap().rfc3339(),
        "2026-12-07T18:17:51+00:00"
    );
    let p23 = b"<13>1 2026-12-07T18:17:50.547653+00:00 vm node - - -  TypeError: x\n\
                <13>1 2026-12-07T18:17:50.547771+00:00 vm node - - -      at /srv/a.js:5:55\n";
    let (env, out, origins) = unwrap_all(p23);
    assert_eq!(env, Some(Envelope::Rfc5424));
    assert_eq!(out, "TypeError: x\n    at /srv/a.js:5:55\n");
    // One run for the millisecond both lines were written in; the runs before a line read are
    // forgotten.
    assert_eq!(origins.time_at(2), origins.time_at(1));
    origins.forget_times_before(2);
    assert!(origins.time_at(2).is_some());
    // RFC 3164's own time has no year: no time.
    let (_, _, origins) = unwrap_all(b"Dec  7 12:14:14 web1 nginx: x\n");
    assert_eq!(origins.time_at(1), None);
}

#[test]
fn journal_docker_and_cri_lines_carry_their_time() {
    let journal =
        br#"{"__CURSOR":"s=1","__REALTIME_TIMESTAMP":"1765121870547653","MESSAGE":"panic: x"}"#;
    let u = Envelope::JournalJson.unwrap_line(journal).unwrap();
    assert_eq!(u.time.unwrap().ms, 1_765_121_870_547);
    let docker =
        br#"{"log":"panic: x\n","stream":"stderr","time":"2026-12-07T18:17:50.547653123Z"}"#;
    let u = Envelope::Docker.unwrap_line(docker).unwrap();
    assert_eq!(u.time.unwrap().rfc3339(), "2026-12-07T18:17:50+00:00");
    let cri = b"2026-12-07T18:17:50.547653123+00:00 stderr F panic: x";
    let u = Envelope::Cri.unwrap_line(cri).unwrap();
    assert_eq!(u.time.unwrap().ms % 1000, 547);
}
