//! Bench inputs, shared by every bench file so that ours and the floor see the same bytes.

/// Read sizes for the stream benches: a small request, a typical read, a full 64 KiB read.
pub const READ_SIZES: [usize; 3] = [128, 4 * 1024, 64 * 1024];

/// Datagram sizes for the dgram benches.
pub const DATAGRAM_SIZES: [usize; 2] = [64, 1200];

/// `n` bytes of a fixed pattern.
pub fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| u8::try_from(i % 251).unwrap_or(0)).collect()
}

/// A typical browser navigation: a ~500-byte GET with 12 headers, as Chrome sends it.
pub const BROWSER_GET: &[u8] = b"GET /articles/2024/sans-io-network-stacks?ref=home HTTP/1.1\r\n\
Host: www.example.com\r\n\
Connection: keep-alive\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-Dest: document\r\n\
Referer: https://www.example.com/\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: session=4f2a9c1be07d43a1; theme=dark\r\n\
\r\n";

/// The smallest valid HTTP/1.1 request.
pub const MINIMAL_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";

/// Requests per pipelined batch.
pub const PIPELINE_DEPTH: usize = 16;

/// The response body the HTTP benches answer with.
pub const RESPONSE_BODY: &[u8] = b"hello, world\n";

/// Body size of the chunked upload bench.
pub const UPLOAD_SIZE: usize = 1024 * 1024;

/// Chunk size of the chunked upload bench (a typical client write).
pub const UPLOAD_CHUNK: usize = 16 * 1024;

/// `count` copies of `request`, back to back, as a pipelining client sends them.
pub fn pipelined(request: &[u8], count: usize) -> Vec<u8> {
    request.repeat(count)
}

/// A chunked POST of `total` body bytes in chunks of `chunk` bytes, terminator included.
pub fn chunked_upload(total: usize, chunk: usize) -> Vec<u8> {
    let mut out =
        b"POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    let body = payload(total);
    for piece in body.chunks(chunk.max(1)) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// Small WebSocket payloads: a chat line, a typical JSON update, a larger JSON message.
pub const WS_SMALL_SIZES: [usize; 3] = [40, 128, 512];

/// Large WebSocket payloads: a 64 KiB and a 1 MiB binary message.
pub const WS_LARGE_SIZES: [usize; 2] = [64 * 1024, 1024 * 1024];

/// The client masking key of the WebSocket frames.
pub const WS_MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// One final, masked binary frame carrying `data`, as a client sends it (RFC 6455 §5.2).
pub fn masked_frame(data: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 14);
    out.push(0x82);
    if let Ok(len) = u8::try_from(data.len())
        && len < 126
    {
        out.push(0x80 | len);
    } else if let Ok(len) = u16::try_from(data.len()) {
        out.push(0x80 | 126);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&u64::try_from(data.len()).unwrap_or(u64::MAX).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(data.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    out
}

/// The sample `Sec-WebSocket-Key` of RFC 6455 §1.3.
pub const WS_KEY: &[u8] = b"dGhlIHNhbXBsZSBub25jZQ==";

/// Its `Sec-WebSocket-Accept`.
pub const WS_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
