//! The `http` feature's conversions against hostile heads: values `http` refuses, odd methods
//! and targets, edge statuses, header counts, and a round trip through both machines.
#![cfg(feature = "http")]
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fail the test by panicking"
)]

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use sansnet_http1::interop::ReasonPhrase;
use sansnet_http1::{
    BodyFraming, ClientConfig, ClientConnection, ClientEvent, ClientRequest, Error, Headers,
    InteropError, Request, RequestId, Response, ResponseBody, ResponseHead, ServerConfig,
    ServerConnection, ServerEvent, UsageError, Version,
};

// ---- harness ----------------------------------------------------------------------------

/// The server's default settings without `Date`, CONNECT handed over.
fn server_config() -> ServerConfig {
    ServerConfig {
        send_date: false,
        connect: true,
        ..Default::default()
    }
}

/// Feeds `wire` to a fresh server and returns every event.
fn server_events(config: ServerConfig, wire: &[u8]) -> Vec<ServerEvent> {
    let now = Instant::now();
    let mut conn = ServerConnection::new(now, config);
    let mut input = BytesMut::from(wire);
    conn.handle_input(now, &mut input);
    while conn.pop_transmit(now).is_some() {}
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// The first request head the server parses from `wire` (a CONNECT's too).
fn parse_request(wire: &[u8]) -> Request {
    parse_request_with(server_config(), wire)
}

fn parse_request_with(config: ServerConfig, wire: &[u8]) -> Request {
    match server_events(config, wire).into_iter().next() {
        Some(ServerEvent::Request(request)) => request,
        Some(ServerEvent::Connect { request, .. }) => request,
        other => panic!("expected a request, got {other:?}"),
    }
}

/// The bytes the client machine writes for `request` (ended with no body).
fn client_wire(request: ClientRequest) -> Vec<u8> {
    let now = Instant::now();
    let mut conn = ClientConnection::new(now, ClientConfig::default());
    let id = conn.send_request(now, request).unwrap();
    conn.end(now, id, None).unwrap();
    let mut wire = Vec::new();
    while let Some(chunk) = conn.pop_transmit(now) {
        wire.extend_from_slice(&chunk);
    }
    wire
}

/// The response head the client machine reads from `response` after sending `GET /`.
fn parse_response(response: &[u8]) -> ResponseHead {
    let now = Instant::now();
    let mut conn = ClientConnection::new(now, ClientConfig::default());
    let id = conn
        .send_request(now, ClientRequest::new("GET", "/").header("Host", "a"))
        .unwrap();
    conn.end(now, id, None).unwrap();
    while conn.pop_transmit(now).is_some() {}
    let mut input = BytesMut::from(response);
    conn.handle_input(now, &mut input);
    let events: Vec<ClientEvent> = std::iter::from_fn(|| conn.poll_event()).collect();
    for event in events {
        match event {
            ClientEvent::Response(head) | ClientEvent::Information(head) => return head,
            ClientEvent::Upgrade { response, .. } | ClientEvent::Connect { response, .. } => {
                return response;
            }
            _ => {}
        }
    }
    panic!("no response head in {response:?}")
}

/// A `Request` as the server would hand it over, built by hand (for bytes no parse yields).
fn hand_request(method: &[u8], target: &[u8], headers: Headers) -> Request {
    Request {
        id: RequestId(0),
        method: Bytes::copy_from_slice(method),
        target: Bytes::copy_from_slice(target),
        version: Version::Http11,
        headers: headers.into(),
        framing: BodyFraming::None,
        keep_alive: true,
        expect_continue: false,
        start: 0,
        head_end: 0,
    }
}

fn interop(error: InteropError) -> Result<(), Error> {
    Err(Error::Interop(error))
}

/// The fields of `map` in its iteration order, as text pairs.
fn pairs(map: &HeaderMap) -> Vec<(String, Vec<u8>)> {
    map.iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect()
}

// ---- header values -----------------------------------------------------------------------

/// obs-text (0x80-0xFF) is accepted by the parser and by `http::HeaderValue`: it converts
/// both ways byte for byte.
#[test]
fn obs_text_value_converts_both_ways() {
    let request = parse_request(b"GET / HTTP/1.1\r\nHost: a\r\nX-Latin: caf\xe9 \x80\xff\r\n\r\n");
    let converted = http::Request::try_from(&request).unwrap();
    let value = converted.headers().get("x-latin").unwrap();
    assert_eq!(value.as_bytes(), b"caf\xe9 \x80\xff");
    assert!(value.to_str().is_err(), "http sees it as opaque bytes");
    let back = Headers::from(converted.headers());
    assert_eq!(
        back.get("x-latin").map(|v| &v[..]),
        Some(&b"caf\xe9 \x80\xff"[..])
    );
}

/// Control bytes other than HTAB never come out of the parser (the peer gets 400), but an
/// application can put them in `Headers`; `http` refuses them with a typed error.
#[test]
fn control_bytes_in_built_values_are_refused() {
    let events = server_events(
        server_config(),
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n",
    );
    assert!(matches!(events[0], ServerEvent::ClientError(_)));

    for bad in [&b"a\x01b"[..], b"\x1b[31m", b"del\x7f", b"\x00"] {
        let headers = Headers::new().with("X", Bytes::copy_from_slice(bad));
        assert_eq!(
            HeaderMap::try_from(&headers).map(|_| ()),
            interop(InteropError::InvalidHeaderValue),
            "{bad:?}"
        );
        let request = hand_request(b"GET", b"/", headers);
        assert_eq!(
            http::Request::try_from(&request).map(|_| ()),
            interop(InteropError::InvalidHeaderValue)
        );
    }
    let tab = Headers::new().with("X", "a\tb");
    assert_eq!(HeaderMap::try_from(&tab).unwrap()["x"].as_bytes(), b"a\tb");
}

/// A `ReasonPhrase` extension is the application's bytes: CR LF in it converts, and
/// `send_response` refuses it, an error and not an injected header.
#[test]
fn injected_reason_phrase_is_caught_by_send_response() {
    let mut response = http::Response::new(());
    response
        .extensions_mut()
        .insert(ReasonPhrase(Bytes::from_static(b"OK\r\nInjected: yes")));
    let now = Instant::now();
    let mut conn = ServerConnection::new(now, server_config());
    let mut input = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..]);
    conn.handle_input(now, &mut input);
    let Some(ServerEvent::Request(request)) = conn.poll_event() else {
        panic!("no request")
    };
    assert_eq!(
        conn.send_response(now, request.id, Response::from(response)),
        Err(Error::Usage(UsageError::InvalidHeader))
    );
}

/// Names that are not tokens, or longer than `http` allows, are refused.
#[test]
fn bad_header_names_are_refused() {
    let long = "x".repeat(70_000);
    for name in [
        Bytes::from_static(b"Bad Name"),
        Bytes::from_static(b""),
        Bytes::from_static(b"a:b"),
        Bytes::from_static(b"caf\xe9"),
        Bytes::from(long),
    ] {
        let headers = Headers::new().with(name.clone(), "v");
        assert_eq!(
            HeaderMap::try_from(&headers).map(|_| ()),
            interop(InteropError::InvalidHeaderName),
            "{name:?}"
        );
    }
}

/// Empty values (and values of only whitespace, which the parser trims) stay empty.
#[test]
fn empty_values_convert() {
    let request = parse_request(b"GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Blank:   \t \r\n\r\n");
    let converted = http::Request::try_from(&request).unwrap();
    assert_eq!(converted.headers()["x-empty"], "");
    assert_eq!(converted.headers()["x-blank"], "");
    let back = Headers::from(converted.headers());
    assert_eq!(back.get("x-empty").map(|v| &v[..]), Some(&b""[..]));
}

// ---- header counts and order ---------------------------------------------------------------

/// Up to 24576 distinct names fit a `HeaderMap`; one more is a typed error, not a panic.
#[test]
fn header_count_past_http_limit_is_refused() {
    let fit: Headers = (0..24_576).map(|i| (format!("x-{i}"), "v")).collect();
    assert_eq!(HeaderMap::try_from(&fit).unwrap().len(), 24_576);
    let over: Headers = (0..24_577).map(|i| (format!("x-{i}"), "v")).collect();
    assert_eq!(
        HeaderMap::try_from(&over).map(|_| ()),
        interop(InteropError::TooManyHeaders)
    );
}

/// Repeats of one name are not capped by the map: 100 000 of them keep their order.
#[test]
fn many_repeats_of_one_name_keep_order() {
    let headers: Headers = (0..100_000)
        .map(|i| ("Set-Cookie", i.to_string()))
        .collect();
    let map = HeaderMap::try_from(&headers).unwrap();
    let values: Vec<&[u8]> = map
        .get_all("set-cookie")
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    assert_eq!(values.len(), 100_000);
    assert!(
        values
            .iter()
            .enumerate()
            .all(|(i, v)| *v == i.to_string().as_bytes())
    );
}

/// A server configured for many fields parses 3000 of them, and they all convert.
#[test]
fn server_with_raised_limits_converts_thousands_of_fields() {
    let mut wire = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..3000 {
        wire.extend_from_slice(format!("X-F{}: {i}\r\n", i % 7).as_bytes());
    }
    wire.extend_from_slice(b"\r\n");
    let config = ServerConfig {
        max_headers_count: 4000,
        max_header_size: 1 << 20,
        ..server_config()
    };
    let request = parse_request_with(config, &wire);
    let converted = http::Request::try_from(&request).unwrap();
    assert_eq!(converted.headers().len(), 3001);
    let f3: Vec<String> = converted
        .headers()
        .get_all("x-f3")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let want: Vec<String> = (0..3000)
        .filter(|i| i % 7 == 3)
        .map(|i| i.to_string())
        .collect();
    assert_eq!(f3, want);
}

/// Repeated fields stay separate entries in order; names of different case are one name.
/// `HeaderMap` groups a name's values where the name first appeared.
#[test]
fn duplicate_fields_keep_their_order() {
    let request = parse_request(
        b"GET / HTTP/1.1\r\nSet-Cookie: a\r\nHost: h\r\nset-cookie: b\r\nX: 1\r\nSET-COOKIE: c\r\n\r\n",
    );
    let converted = http::Request::try_from(&request).unwrap();
    let cookies: Vec<_> = converted.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a", "b", "c"]);
    assert_eq!(
        pairs(converted.headers()),
        [
            ("set-cookie".into(), b"a".to_vec()),
            ("set-cookie".into(), b"b".to_vec()),
            ("set-cookie".into(), b"c".to_vec()),
            ("host".into(), b"h".to_vec()),
            ("x".into(), b"1".to_vec()),
        ]
    );
    let back = Headers::from(converted.headers());
    let names: Vec<&[u8]> = back.iter().map(|(n, _)| &n[..]).collect();
    assert_eq!(
        names,
        [
            &b"set-cookie"[..],
            b"set-cookie",
            b"set-cookie",
            b"host",
            b"x"
        ]
    );
}

// ---- methods -----------------------------------------------------------------------------

/// Extension methods and odd tokens convert with their case kept, both ways.
#[test]
fn weird_methods_convert_both_ways() {
    let long = "X".repeat(40);
    for method in [
        "M-SEARCH",
        "PURGE",
        "get",
        "QUERY",
        "!#$%&'*+-.^_`|~",
        long.as_str(),
    ] {
        let wire = format!("{method} / HTTP/1.1\r\nHost: a\r\n\r\n");
        let request = parse_request(wire.as_bytes());
        let converted = http::Request::try_from(&request).unwrap();
        assert_eq!(converted.method().as_str(), method);

        let outgoing = http::Request::builder()
            .method(method)
            .uri("/")
            .header("host", "a")
            .body(())
            .unwrap();
        let client = ClientRequest::try_from(outgoing).unwrap();
        assert_eq!(&client.method[..], method.as_bytes());
        assert!(client_wire(client).starts_with(format!("{method} / HTTP/1.1\r\n").as_bytes()));
    }
}

/// A method no parse yields (a space in it) is a typed error.
#[test]
fn non_token_method_is_refused() {
    let request = hand_request(b"GE T", b"/", Headers::new());
    assert_eq!(
        http::Request::try_from(&request).map(|_| ()),
        interop(InteropError::InvalidMethod)
    );
    let request = hand_request(b"", b"/", Headers::new());
    assert_eq!(
        http::Request::try_from(&request).map(|_| ()),
        interop(InteropError::InvalidMethod)
    );
}

// ---- request targets ---------------------------------------------------------------------

/// origin-form, absolute-form, authority-form (CONNECT) and `*` (OPTIONS) become the
/// matching `http::Uri`.
#[test]
fn every_target_form_converts() {
    let request = parse_request(b"GET /a/b%20c?d=e&f HTTP/1.1\r\nHost: a\r\n\r\n");
    let uri = http::Request::try_from(&request).unwrap().uri().clone();
    assert_eq!(uri.path(), "/a/b%20c");
    assert_eq!(uri.query(), Some("d=e&f"));
    assert!(uri.scheme().is_none() && uri.authority().is_none());

    let request = parse_request(
        b"GET http://Example.com:8080/p?q HTTP/1.1\r\nHost: Example.com:8080\r\n\r\n",
    );
    let uri = http::Request::try_from(&request).unwrap().uri().clone();
    assert_eq!(uri.scheme_str(), Some("http"));
    assert_eq!(uri.authority().unwrap().as_str(), "Example.com:8080");
    assert_eq!(uri.path_and_query().unwrap().as_str(), "/p?q");
    assert_eq!(uri.to_string(), "http://Example.com:8080/p?q");

    let request =
        parse_request(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    let converted = http::Request::try_from(&request).unwrap();
    assert_eq!(converted.method(), http::Method::CONNECT);
    assert_eq!(
        converted.uri().authority().unwrap().as_str(),
        "example.com:443"
    );
    assert_eq!(converted.uri().port_u16(), Some(443));
    assert!(converted.uri().path_and_query().is_none());

    let request = parse_request(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    let uri = http::Request::try_from(&request).unwrap().uri().clone();
    assert_eq!(uri.to_string(), "*");
}

/// The two changes `http` makes, as documented: the scheme's case and an empty path.
#[test]
fn absolute_form_scheme_case_and_empty_path_are_normalised() {
    let request = parse_request(b"GET HTTP://Example.com HTTP/1.1\r\nHost: Example.com\r\n\r\n");
    let uri = http::Request::try_from(&request).unwrap().uri().clone();
    assert_eq!(uri.to_string(), "http://Example.com/");
}

/// A fragment (which `http` would drop silently), userinfo, and targets `http::Uri` refuses
/// are typed errors.
#[test]
fn hostile_targets_are_refused() {
    for target in [
        &b"/a#frag"[..],
        b"/a?b#c",
        b"http://user:pw@example.com/",
        b"user@example.com:443",
        b"?only-query-no-slash",
        b"not a uri",
        b"",
    ] {
        let request = hand_request(b"GET", target, Headers::new());
        assert_eq!(
            http::Request::try_from(&request).map(|_| ()),
            interop(InteropError::InvalidTarget),
            "{:?}",
            String::from_utf8_lossy(target)
        );
    }
    let huge = format!("/{}", "a".repeat(70_000));
    let wire = format!("GET {huge} HTTP/1.1\r\nHost: a\r\n\r\n");
    let config = ServerConfig {
        max_header_size: 1 << 20,
        ..server_config()
    };
    let request = parse_request_with(config, wire.as_bytes());
    assert_eq!(
        http::Request::try_from(&request).map(|_| ()),
        interop(InteropError::InvalidTarget)
    );
}

/// For every visible ASCII byte in a path and in a query, `http` either keeps the target
/// exactly or the conversion fails: it never changes the target silently.
#[test]
fn target_is_kept_exactly_or_refused() {
    let mut refused = Vec::new();
    for b in 0x21u8..=0x7e {
        for target in [vec![b'/', b'a', b, b'z'], vec![b'/', b'?', b, b'z']] {
            let request = hand_request(b"GET", &target, Headers::new());
            match http::Request::try_from(&request) {
                Ok(converted) => assert_eq!(converted.uri().to_string().as_bytes(), &target[..]),
                Err(error) => {
                    assert_eq!(error, Error::Interop(InteropError::InvalidTarget));
                    refused.push(target);
                }
            }
        }
    }
    assert!(refused.contains(&b"/a#z".to_vec()));
}

/// `http::Uri` to a target: each form as it prints; `host` added from the authority when
/// missing, first; refused: empty, userinfo, non-ASCII.
#[test]
fn uri_to_target_forms_and_host() {
    let get = |uri: &str| {
        http::Request::builder()
            .uri(uri)
            .header("x-a", "1")
            .body(())
            .unwrap()
    };
    let client = ClientRequest::try_from(get("/p?q=1")).unwrap();
    assert_eq!(&client.target[..], b"/p?q=1");
    assert!(!client.headers.contains("host"));

    let client = ClientRequest::try_from(get("http://example.com:8080/p")).unwrap();
    assert_eq!(&client.target[..], b"http://example.com:8080/p");
    let fields: Vec<(&[u8], &[u8])> = client
        .headers
        .iter()
        .map(|(n, v)| (&n[..], &v[..]))
        .collect();
    assert_eq!(
        fields,
        [(&b"host"[..], &b"example.com:8080"[..]), (b"x-a", b"1")]
    );

    let connect = http::Request::builder()
        .method("CONNECT")
        .uri("example.com:443")
        .body(())
        .unwrap();
    let client = ClientRequest::try_from(connect).unwrap();
    assert_eq!(&client.target[..], b"example.com:443");
    assert_eq!(
        client.headers.get("host").map(|v| &v[..]),
        Some(&b"example.com:443"[..])
    );
    assert!(
        client_wire(client)
            .starts_with(b"CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n")
    );

    let options = http::Request::builder()
        .method("OPTIONS")
        .uri("*")
        .header("Host", "a")
        .body(())
        .unwrap();
    let client = ClientRequest::try_from(options).unwrap();
    assert_eq!(&client.target[..], b"*");
    assert_eq!(client.headers.len(), 1);

    let explicit = http::Request::builder()
        .uri("http://a.example/")
        .header("host", "b.example")
        .body(())
        .unwrap();
    let client = ClientRequest::try_from(explicit).unwrap();
    let hosts: Vec<&Bytes> = client.headers.get_all("host").collect();
    assert_eq!(hosts, [&Bytes::from_static(b"b.example")]);

    let mut empty = http::Request::new(());
    *empty.uri_mut() = http::Uri::from_parts(http::uri::Parts::default()).unwrap();
    for request in [empty, get("http://user@example.com/"), get("/caf\u{e9}")] {
        assert_eq!(
            ClientRequest::try_from(request).map(|_| ()),
            interop(InteropError::InvalidTarget)
        );
    }
}

// ---- versions ----------------------------------------------------------------------------

/// HTTP/1.0 and 1.1 map to their `http` twins; the client refuses any version but 1.1.
#[test]
fn versions_map_and_client_refuses_others() {
    let request = parse_request(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(
        http::Request::try_from(&request).unwrap().version(),
        http::Version::HTTP_10
    );
    assert_eq!(
        Version::try_from(http::Version::HTTP_10),
        Ok(Version::Http10)
    );
    assert_eq!(
        Version::try_from(http::Version::HTTP_11),
        Ok(Version::Http11)
    );
    assert_eq!(http::Version::from(Version::Http11), http::Version::HTTP_11);
    for version in [
        http::Version::HTTP_09,
        http::Version::HTTP_10,
        http::Version::HTTP_2,
        http::Version::HTTP_3,
    ] {
        let request = http::Request::builder()
            .version(version)
            .uri("/")
            .body(())
            .unwrap();
        assert_eq!(
            ClientRequest::try_from(request).map(|_| ()),
            interop(InteropError::UnsupportedVersion)
        );
    }
    assert_eq!(
        Version::try_from(http::Version::HTTP_2),
        Err(Error::Interop(InteropError::UnsupportedVersion))
    );
}

/// The version of an `http::Response` is ignored: the server's status line says HTTP/1.1.
#[test]
fn response_version_is_ignored() {
    let response = http::Response::builder()
        .version(http::Version::HTTP_2)
        .status(200)
        .body(())
        .unwrap();
    let now = Instant::now();
    let mut conn = ServerConnection::new(now, server_config());
    let mut input = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..]);
    conn.handle_input(now, &mut input);
    let Some(ServerEvent::Request(request)) = conn.poll_event() else {
        panic!("no request")
    };
    conn.respond(now, request.id, Response::from(response), Bytes::new())
        .unwrap();
    let wire = conn.pop_transmit(now).unwrap();
    assert!(wire.starts_with(b"HTTP/1.1 200 OK\r\n"));
}

// ---- statuses and reasons ----------------------------------------------------------------

/// A response on the wire, its status, and the `ReasonPhrase` its conversion carries.
type StatusCase = (&'static [u8], u16, Option<&'static [u8]>);

/// 1xx, 101, 204, 304 and odd statuses convert from parsed heads; a non-standard reason
/// rides in the extensions, a standard one does not.
#[test]
fn edge_statuses_convert_with_reasons() {
    let cases: [StatusCase; 8] = [
        (b"HTTP/1.1 102 Processing\r\n\r\n", 102, None),
        (
            b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n",
            103,
            None,
        ),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n",
            101,
            None,
        ),
        (b"HTTP/1.1 204 No Content\r\n\r\n", 204, None),
        (
            b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
            304,
            None,
        ),
        (
            b"HTTP/1.1 200 Fine By Me\r\nContent-Length: 0\r\n\r\n",
            200,
            Some(b"Fine By Me"),
        ),
        (
            b"HTTP/1.1 599 Caf\xe9\r\nContent-Length: 0\r\n\r\n",
            599,
            Some(b"Caf\xe9"),
        ),
        (
            b"HTTP/1.0 999 \r\nContent-Length: 0\r\n\r\n",
            999,
            Some(b""),
        ),
    ];
    for (wire, status, reason) in cases {
        let head = parse_response(wire);
        let converted = http::Response::try_from(&head).unwrap();
        assert_eq!(converted.status().as_u16(), status);
        assert_eq!(converted.version(), head.version.into());
        assert_eq!(converted.extensions().get::<RequestId>(), Some(&head.id));
        assert_eq!(
            converted
                .extensions()
                .get::<ReasonPhrase>()
                .map(|r| &r.0[..]),
            reason,
            "{status}"
        );
        let back = Response::from(converted);
        assert_eq!(back.status, status);
        assert_eq!(back.reason.as_deref(), reason);
    }
}

/// A status no parse yields is a typed error.
#[test]
fn invalid_status_is_refused() {
    for status in [0, 99, 1000, u16::MAX] {
        let head = ResponseHead {
            id: RequestId(0),
            status,
            reason: Bytes::new(),
            version: Version::Http11,
            headers: Headers::new().into(),
            body: ResponseBody::None,
            keep_alive: true,
            start: 0,
            head_end: 0,
        };
        assert_eq!(
            http::Response::try_from(&head).map(|_| ()),
            interop(InteropError::InvalidStatus)
        );
    }
}

/// `http::Response` to the server: 1xx goes out with `send_informational`, 204 and 304
/// without a body, the standard reason unless a `ReasonPhrase` says otherwise.
#[test]
fn http_responses_go_out_through_the_server() {
    let now = Instant::now();
    let mut conn = ServerConnection::new(now, server_config());
    let mut input = BytesMut::from(
        &b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n"[..],
    );
    conn.handle_input(now, &mut input);
    let ids: Vec<RequestId> = std::iter::from_fn(|| conn.poll_event())
        .filter_map(|e| match e {
            ServerEvent::Request(r) => Some(r.id),
            _ => None,
        })
        .collect();
    let build = |status: u16| {
        http::Response::builder()
            .status(status)
            .header("x-s", status.to_string())
            .body(())
            .unwrap()
    };
    let hints = Response::from(build(103));
    conn.send_informational(now, ids[0], &hints).unwrap();
    conn.respond(now, ids[0], Response::from(build(204)), Bytes::new())
        .unwrap();
    conn.respond(now, ids[1], Response::from(build(304)), Bytes::new())
        .unwrap();
    let mut custom = build(299);
    custom
        .extensions_mut()
        .insert(ReasonPhrase(Bytes::from_static(b"Custom Thing")));
    conn.respond(
        now,
        ids[2],
        Response::from(custom),
        Bytes::from_static(b"ok"),
    )
    .unwrap();
    let mut wire = Vec::new();
    while let Some(chunk) = conn.pop_transmit(now) {
        wire.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(wire).unwrap();
    let heads: Vec<&str> = text
        .split("\r\n")
        .filter(|line| line.starts_with("HTTP/"))
        .collect();
    assert_eq!(
        heads,
        [
            "HTTP/1.1 103 Early Hints",
            "HTTP/1.1 204 No Content",
            "HTTP/1.1 304 Not Modified",
            "HTTP/1.1 299 Custom Thing"
        ]
    );
    assert!(text.contains("x-s: 103\r\n") && text.contains("x-s: 299\r\n"));
    assert!(text.ends_with("\r\n\r\nok"));
}

// ---- round trips -------------------------------------------------------------------------

/// `http::Request` → client machine → wire → server machine → `http::Request`: method,
/// target, version and every header (order of each name's values included) survive.
#[test]
fn request_round_trip_through_both_machines() {
    let original = http::Request::builder()
        .method("PROPFIND")
        .uri("/dav/a%20b?depth=1&x=%C3%A9")
        .header("host", "example.com")
        .header("accept", "*/*")
        .header("x-dup", "1")
        .header("x-obs", HeaderValue::from_bytes(b"\xe9t\xe9").unwrap())
        .header("x-dup", "2")
        .header("x-empty", "")
        .header("x-dup", "3")
        .body(())
        .unwrap();
    let client = ClientRequest::try_from(original.clone()).unwrap();
    let wire = client_wire(client);
    assert!(
        wire.starts_with(b"PROPFIND /dav/a%20b?depth=1&x=%C3%A9 HTTP/1.1\r\nhost: example.com\r\n")
    );

    let parsed = parse_request(&wire);
    let mut back = http::Request::try_from(&parsed).unwrap();
    // The one field the client adds: PROPFIND is not bodiless by default, so `end()` frames
    // it with `Content-Length: 0`, as Node does.
    assert_eq!(
        back.headers_mut().remove("content-length"),
        Some(HeaderValue::from_static("0"))
    );
    assert_eq!(back.method(), original.method());
    assert_eq!(back.uri(), original.uri());
    assert_eq!(back.version(), original.version());
    assert_eq!(back.headers(), original.headers());
    assert_eq!(pairs(back.headers()), pairs(original.headers()));
    assert_eq!(back.extensions().get::<RequestId>(), Some(&parsed.id));
}

/// An absolute-form request (as to a proxy) and a CONNECT survive the same trip.
#[test]
fn proxy_forms_round_trip() {
    for (method, uri) in [
        ("GET", "http://example.com:8080/a?b"),
        ("CONNECT", "example.com:443"),
        ("OPTIONS", "*"),
    ] {
        let original = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "example.com")
            .body(())
            .unwrap();
        let wire = client_wire(ClientRequest::try_from(original.clone()).unwrap());
        let back = http::Request::try_from(&parse_request(&wire)).unwrap();
        assert_eq!(back.method(), original.method());
        assert_eq!(back.uri(), original.uri());
        assert_eq!(back.headers(), original.headers());
    }
}

/// `http::Response` → server machine → wire → client machine → `http::Response`: status,
/// reason and the application's headers survive (the server adds its framing fields).
#[test]
fn response_round_trip_through_both_machines() {
    let mut original = http::Response::builder()
        .status(418)
        .header("set-cookie", "a=1")
        .header("x-obs", HeaderValue::from_bytes(b"\xff").unwrap())
        .header("set-cookie", "b=2")
        .body(())
        .unwrap();
    original
        .extensions_mut()
        .insert(ReasonPhrase(Bytes::from_static(b"I'm a teapot")));
    let now = Instant::now();
    let mut server = ServerConnection::new(now, server_config());
    let mut client = ClientConnection::new(now, ClientConfig::default());
    let id = client
        .send_request(now, ClientRequest::new("GET", "/").header("Host", "a"))
        .unwrap();
    client.end(now, id, None).unwrap();
    let mut to_server = BytesMut::new();
    while let Some(chunk) = client.pop_transmit(now) {
        to_server.extend_from_slice(&chunk);
    }
    server.handle_input(now, &mut to_server);
    let Some(ServerEvent::Request(request)) = server.poll_event() else {
        panic!("no request")
    };
    let expected_headers = original.headers().clone();
    server
        .respond(
            now,
            request.id,
            Response::from(original),
            Bytes::from_static(b"tea"),
        )
        .unwrap();
    let mut to_client = BytesMut::new();
    while let Some(chunk) = server.pop_transmit(now) {
        to_client.extend_from_slice(&chunk);
    }
    client.handle_input(now, &mut to_client);
    let Some(ClientEvent::Response(head)) = client.poll_event() else {
        panic!("no response")
    };
    let back = http::Response::try_from(&head).unwrap();
    assert_eq!(back.status().as_u16(), 418);
    assert_eq!(&head.reason[..], b"I'm a teapot");
    assert_eq!(
        back.extensions().get::<ReasonPhrase>(),
        Some(&ReasonPhrase(Bytes::from_static(b"I'm a teapot"))),
        "418 is not in Node's table, so the phrase is not the standard one"
    );
    for (name, value) in &expected_headers {
        assert!(back.headers().get_all(name).iter().any(|v| v == value));
    }
    let cookies: Vec<_> = back.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
}

/// A header name sent with capitals by a sansnet client (built without `http`) arrives at
/// the server as sent, and only the `http` side lowercases it.
#[test]
fn case_is_kept_by_the_machines_and_lost_in_http() {
    let wire = client_wire(
        ClientRequest::new("GET", "/")
            .header("Host", "a")
            .header("X-Mixed-Case", "v"),
    );
    let parsed = parse_request(&wire);
    let names: Vec<&[u8]> = parsed.headers.iter().map(|(n, _)| n).collect();
    assert_eq!(names, [&b"Host"[..], b"X-Mixed-Case"]);
    let converted = http::Request::try_from(&parsed).unwrap();
    let names: Vec<&str> = converted.headers().keys().map(|n| n.as_str()).collect();
    assert_eq!(names, ["host", "x-mixed-case"]);
}

/// The characters a header value may hold on both sides (RFC 9110 §5.5, obs-text included).
fn value_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![Just(b'\t'), 0x20u8..=0x7e, 0x80u8..=0xff],
        0..12,
    )
    .prop_map(|v| {
        // The parser trims surrounding SP/HTAB (RFC 9110 §5.5); compare trimmed values.
        let start = v
            .iter()
            .position(|&b| b != b' ' && b != b'\t')
            .unwrap_or(v.len());
        let end = v
            .iter()
            .rposition(|&b| b != b' ' && b != b'\t')
            .map_or(start, |i| i + 1);
        v[start..end].to_vec()
    })
}

proptest! {
    /// Arbitrary names (from a few, so they repeat) and values survive `http::Request` →
    /// client → server → `http::Request`, each name's values in order.
    #[test]
    fn arbitrary_headers_round_trip(
        fields in prop::collection::vec(
            (prop::sample::select(vec!["x-a", "X-B", "x-c", "accept", "cookie"]), value_strategy()),
            0..40,
        ),
    ) {
        let mut builder = http::Request::builder().uri("/r").header("host", "h");
        for (name, value) in &fields {
            builder = builder.header(*name, HeaderValue::from_bytes(value).unwrap());
        }
        let original = builder.body(()).unwrap();
        let wire = client_wire(ClientRequest::try_from(original.clone()).unwrap());
        let back = http::Request::try_from(&parse_request(&wire)).unwrap();
        prop_assert_eq!(back.headers(), original.headers());
        prop_assert_eq!(pairs(back.headers()), pairs(original.headers()));
    }
}

/// A refused conversion reads as the others do: Node's code, no status on the wire.
#[test]
fn interop_errors_have_codes_and_no_status() {
    let error = Error::from(InteropError::InvalidHeaderValue);
    assert_eq!(error.code(), "ERR_INVALID_CHAR");
    assert_eq!(error.status_hint(), None);
    assert_eq!(
        error.to_string(),
        "header value not accepted by the http crate (ERR_INVALID_CHAR)"
    );
    assert_eq!(
        Error::from(InteropError::UnsupportedVersion).to_string(),
        "the client machine sends HTTP/1.1 only (ERR_INVALID_ARG_VALUE)"
    );
}
