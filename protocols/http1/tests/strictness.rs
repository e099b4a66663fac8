//! The strictness rules of the one receive path both roles share, each run through the
//! server (reading requests) and the client (reading responses) where it applies to both: the
//! same bytes get the same error in either role, fed whole or a byte at a time. The rules
//! live in one place (`framing.rs` for the framing verdict and the `Content-Length` parser,
//! `head.rs` for the head, `chunked.rs` for chunked bodies); these tests hold them there.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use sansnet_http1::{
    ClientConfig, ClientConnection, ClientEvent, ClientRequest, Error, ProtocolError, Response,
    ResponseBody, ServerConfig, ServerConnection, ServerEvent, UsageError,
};

/// How the input reaches the machine.
#[derive(Debug, Clone, Copy)]
enum Feed {
    Whole,
    ByteAtATime,
}

const FEEDS: [Feed; 2] = [Feed::Whole, Feed::ByteAtATime];

/// Feeds `input` through `handle_input` as a driver does (one buffer, appended to).
fn feed(input: &[u8], how: Feed, mut handle: impl FnMut(&mut BytesMut)) {
    let mut buf = BytesMut::new();
    match how {
        Feed::Whole => {
            buf.extend_from_slice(input);
            handle(&mut buf);
        }
        Feed::ByteAtATime => {
            for &b in input {
                buf.extend_from_slice(&[b]);
                handle(&mut buf);
            }
        }
    }
}

/// What the server makes of a request with these field lines (after `Host`) and body: the
/// protocol error it reports (with its reply on the wire, status `400`/`413`/`431`), or `None`.
fn server_error(fields: &str, body: &str, how: Feed) -> Option<ProtocolError> {
    let now = Instant::now();
    let config = ServerConfig {
        send_date: false,
        ..ServerConfig::default()
    };
    let mut conn = ServerConnection::new(now, config);
    let input = format!("POST /p HTTP/1.1\r\nHost: h\r\n{fields}\r\n{body}");
    let mut events = Vec::new();
    feed(input.as_bytes(), how, |buf| {
        conn.handle_input(now, buf);
        events.extend(std::iter::from_fn(|| conn.poll_event()));
    });
    let error = events.iter().find_map(|event| match event {
        ServerEvent::ClientError(Error::Protocol(error)) => Some(*error),
        _ => None,
    });
    if let Some(error) = error {
        // Requests before the error are owed answers; here there is at most the one.
        for event in &events {
            if let ServerEvent::Request(request) = event {
                conn.respond(now, request.id, Response::new(200), Bytes::new())
                    .expect("the request is owed a response");
            }
        }
        let mut wire = Vec::new();
        while let Some(chunk) = conn.pop_transmit(now) {
            wire.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&wire);
        let status = format!("HTTP/1.1 {} ", error.status_hint());
        assert!(text.contains(&status), "{error:?}: no {status} in {text:?}");
        assert!(text.contains("Connection: close"), "{text:?}");
    }
    error
}

/// What the client makes of a response with these field lines and body to a GET: the protocol
/// error it reports, or `None`; and the body framing of the response head, if one came.
fn client_outcome(
    fields: &str,
    body: &str,
    how: Feed,
) -> (Option<ProtocolError>, Option<ResponseBody>) {
    let now = Instant::now();
    let mut conn = ClientConnection::new(now, ClientConfig::default());
    let id = conn
        .send_request(now, ClientRequest::new("GET", "/").header("Host", "h"))
        .expect("a fresh connection takes a request");
    conn.end(now, id, None).expect("the request ends");
    let input = format!("HTTP/1.1 200 OK\r\n{fields}\r\n{body}");
    let mut events = Vec::new();
    feed(input.as_bytes(), how, |buf| {
        conn.handle_input(now, buf);
        events.extend(std::iter::from_fn(|| conn.poll_event()));
    });
    let error = events.iter().find_map(|event| match event {
        ClientEvent::Error {
            error: Error::Protocol(error),
            ..
        } => Some(*error),
        _ => None,
    });
    let framing = events.iter().find_map(|event| match event {
        ClientEvent::Response(head) => Some(head.body),
        _ => None,
    });
    if error.is_some() {
        assert!(conn.is_closed(), "an error closes the connection");
        assert!(!conn.is_reusable());
    }
    (error, framing)
}

fn client_error(fields: &str, body: &str, how: Feed) -> Option<ProtocolError> {
    client_outcome(fields, body, how).0
}

/// Runs `fields`/`body` through both roles, whole and byte at a time, and expects `error`.
fn both_roles(fields: &str, body: &str, error: ProtocolError) {
    for how in FEEDS {
        assert_eq!(
            server_error(fields, body, how),
            Some(error),
            "server, {how:?}: {fields:?} {body:?}"
        );
        assert_eq!(
            client_error(fields, body, how),
            Some(error),
            "client, {how:?}: {fields:?} {body:?}"
        );
    }
}

/// docs/node-semantics.md#http-duplicate-content-length: `Content-Length` on two lines is
/// refused even when the values agree, in requests and responses alike.
#[test]
fn duplicate_content_length_is_refused_by_both_roles() {
    for fields in [
        "Content-Length: 2\r\nContent-Length: 2\r\n",
        "Content-Length: 2\r\ncontent-length: 3\r\n",
        "content-length: 0\r\nX: y\r\nCONTENT-LENGTH: 0\r\n",
    ] {
        both_roles(fields, "ok", ProtocolError::DuplicateContentLength);
    }
}

/// docs/node-semantics.md#http-body-invalid-length, #http-strict-content-length, RFC 9110 §8.6: a `Content-Length` value
/// that is not `1*DIGIT` (OWS around it allowed) or does not fit is refused by both roles: a
/// list, a sign, inner whitespace, no digit, hex, an overflow.
#[test]
fn invalid_content_length_is_refused_by_both_roles() {
    for value in [
        "5, 5",
        "+5",
        "-1",
        "1 2",
        "",
        " ",
        "0x10",
        "5;",
        "18446744073709551616",
        "99999999999999999999999",
    ] {
        let fields = format!("Content-Length: {value}\r\n");
        both_roles(&fields, "hello", ProtocolError::InvalidContentLength);
    }
}

/// The same parser accepts what the rule allows: OWS around the digits, leading zeros, u64::MAX
/// (the framing is taken from it in both roles).
#[test]
fn valid_content_length_is_read_by_both_roles() {
    for how in FEEDS {
        for (value, body) in [(" 5\t", "hello"), ("005", "hello"), ("0", "")] {
            let fields = format!("Content-Length: {value}\r\n");
            assert_eq!(server_error(&fields, body, how), None, "{value:?}");
            let expected = match body.len() {
                0 => ResponseBody::None,
                n => ResponseBody::ContentLength(n as u64),
            };
            assert_eq!(
                client_outcome(&fields, body, how),
                (None, Some(expected)),
                "{value:?}"
            );
        }
        let fields = "Content-Length: 18446744073709551615\r\n";
        assert_eq!(
            client_outcome(fields, "", how),
            (None, Some(ResponseBody::ContentLength(u64::MAX)))
        );
    }
}

/// docs/node-semantics.md#http-duplicate-content-length: `Transfer-Encoding` with
/// `Content-Length` is refused in both kinds of message, as llhttp does.
#[test]
fn content_length_with_transfer_encoding_is_refused_by_both_roles() {
    for fields in [
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        "Transfer-Encoding: \r\nContent-Length: 0\r\n",
    ] {
        both_roles(
            fields,
            "5\r\nhello\r\n0\r\n\r\n",
            ProtocolError::ContentLengthWithTransferEncoding,
        );
    }
}

/// RFC 9112 §6.1, §7.1: a coding list that does not parse, or applies `chunked` twice, is
/// refused by both roles.
#[test]
fn malformed_transfer_encoding_is_refused_by_both_roles() {
    for value in [
        "chunked, chunked",
        "chun ked",
        "gzip;, chunked",
        "\"chunked\"",
    ] {
        let fields = format!("Transfer-Encoding: {value}\r\n");
        both_roles(&fields, "0\r\n\r\n", ProtocolError::InvalidTransferEncoding);
    }
}

/// RFC 9112 §6.3 item 4 (docs/node-semantics.md#http-request-te-not-chunked,
/// #http-body-te-until-close): a coding list not ending in `chunked` is refused in a request
/// and read until close in a response: the one rule where the roles differ.
#[test]
fn transfer_encoding_not_ending_in_chunked_differs_by_role() {
    for how in FEEDS {
        for value in ["gzip", "chunked, gzip"] {
            let fields = format!("Transfer-Encoding: {value}\r\n");
            assert_eq!(
                server_error(&fields, "abc", how),
                Some(ProtocolError::InvalidTransferEncoding)
            );
            assert_eq!(
                client_outcome(&fields, "abc", how),
                (None, Some(ResponseBody::UntilClose))
            );
        }
    }
}

/// RFC 9112 §7.1, docs/node-semantics.md#http-chunk-size: a chunk size that is not hex digits is refused by both roles.
#[test]
fn invalid_chunk_size_is_refused_by_both_roles() {
    for body in [
        "zz\r\nhello\r\n0\r\n\r\n",
        "-5\r\nhello\r\n0\r\n\r\n",
        "\r\nhello\r\n0\r\n\r\n",
        "0x5\r\nhello\r\n0\r\n\r\n",
        " 5\r\nhello\r\n0\r\n\r\n",
    ] {
        both_roles(
            "Transfer-Encoding: chunked\r\n",
            body,
            ProtocolError::InvalidChunkSize,
        );
    }
}

/// RFC 9112 §2.2 and §7.1 (a recipient MAY take a bare LF as a line end; llhttp, Node's
/// parser, does not, and neither does this crate): a chunk-size line or the last chunk's line
/// ended by a bare LF is refused by both roles.
#[test]
fn bare_lf_in_a_chunk_line_is_refused_by_both_roles() {
    for how in FEEDS {
        for body in ["5\nhello\r\n0\r\n\r\n", "5\r\nhello\r\n0\n\r\n"] {
            let server = server_error("Transfer-Encoding: chunked\r\n", body, how);
            let client = client_error("Transfer-Encoding: chunked\r\n", body, how);
            assert_eq!(
                server,
                Some(ProtocolError::BareLineFeed),
                "server, {how:?}: {body:?}"
            );
            assert_eq!(
                client,
                Some(ProtocolError::BareLineFeed),
                "client, {how:?}: {body:?}"
            );
        }
    }
}

/// RFC 9112 §7.1: chunk data must be followed by exactly CRLF, in both roles.
#[test]
fn chunk_data_without_crlf_is_refused_by_both_roles() {
    for body in ["5\r\nhelloX\r\n0\r\n\r\n", "5\r\nhello\n0\r\n\r\n"] {
        both_roles(
            "Transfer-Encoding: chunked\r\n",
            body,
            ProtocolError::InvalidChunkData,
        );
    }
}

/// RFC 9112 §2.2, docs/node-semantics.md#http-field-whitespace: a bare LF or a bare CR ending a
/// field line is refused by both roles, whatever the split (llhttp refuses both).
#[test]
fn bare_line_ends_in_a_head_are_refused_by_both_roles() {
    for fields in ["X: y\n", "X: y\rZ: w\r\n"] {
        both_roles(fields, "", ProtocolError::BareLineFeed);
    }
}

/// The application's `Content-Length` goes through the same parser before anything is sent:
/// a value a peer would refuse, or two lines, is a usage error in both roles and nothing is
/// written.
#[test]
fn outgoing_content_length_follows_the_same_rules() {
    let now = Instant::now();
    for (name, value) in [
        ("Content-Length", "abc"),
        ("Content-Length", "5, 5"),
        ("Content-Length", "+5"),
    ] {
        let mut server = ServerConnection::new(now, ServerConfig::default());
        let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"[..]);
        server.handle_input(now, &mut buf);
        let Some(ServerEvent::Request(request)) = server.poll_event() else {
            panic!("a request");
        };
        let response = Response::new(200).header(name, value);
        assert_eq!(
            server.respond(now, request.id, response, Bytes::from_static(b"hello")),
            Err(Error::Usage(UsageError::InvalidHeader)),
            "{value:?}"
        );
        assert_eq!(server.pop_transmit(now), None, "nothing was sent");

        let mut client = ClientConnection::new(now, ClientConfig::default());
        let request = ClientRequest::new("POST", "/")
            .header("Host", "h")
            .header(name, value);
        assert_eq!(
            client.send_request(now, request),
            Err(Error::Usage(UsageError::InvalidHeader)),
            "{value:?}"
        );
        assert_eq!(client.pop_transmit(now), None, "nothing was sent");
    }
    let mut client = ClientConnection::new(now, ClientConfig::default());
    let twice = ClientRequest::new("POST", "/")
        .header("Host", "h")
        .header("Content-Length", "1")
        .header("content-length", "1");
    assert_eq!(
        client.send_request(now, twice),
        Err(Error::Usage(UsageError::InvalidHeader))
    );
    // A valid one is honoured as the framing: no second `Content-Length` is added.
    let id = client
        .send_request(
            now,
            ClientRequest::new("POST", "/")
                .header("Host", "h")
                .header("Content-Length", " 5 "),
        )
        .unwrap();
    client
        .end(now, id, Some(Bytes::from_static(b"hello")))
        .unwrap();
    let mut wire = Vec::new();
    while let Some(chunk) = client.pop_transmit(now) {
        wire.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(wire).unwrap();
    assert_eq!(text.matches("ontent-Length").count(), 1, "{text:?}");
    assert!(text.ends_with("\r\n\r\nhello"), "{text:?}");
}
