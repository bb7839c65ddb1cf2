//! Just enough HTTP/1.1 for a proxy in front of the emulator: one request per client
//! connection, forwarded on a fresh upstream connection that the emulator closes after its
//! answer, which goes back to the client with `Connection: close`.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest request or response head read.
const MAX_HEAD: usize = 64 * 1024;
/// The longest body read.
const MAX_BODY: usize = 32 * 1024 * 1024;

/// A request as the client sent it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `POST`, `GET`…
    pub method: String,
    /// The path and query.
    pub target: String,
    /// The header fields, in order.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The request as sent upstream: the same, with `Connection: close` and the body's length.
    fn upstream_bytes(&self) -> Vec<u8> {
        let mut out = format!("{} {} HTTP/1.1\r\n", self.method, self.target).into_bytes();
        for (name, value) in &self.headers {
            if [
                "connection",
                "content-length",
                "transfer-encoding",
                "keep-alive",
            ]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
            {
                continue;
            }
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                self.body.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&self.body);
        out
    }
}

/// A response, ready for the client.
#[derive(Debug, Clone)]
pub struct Response {
    /// Its status code.
    pub status: u16,
    /// Its bytes, head and body, with `Connection: close`.
    pub bytes: Vec<u8>,
}

impl Response {
    /// A response of our own: `status`, the header fields given, a body, `Connection: close`.
    pub fn new(status: u16, reason: &str, headers: &[(&str, &str)], body: &[u8]) -> Self {
        let mut bytes = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
        for (name, value) in headers {
            bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        bytes.extend_from_slice(
            format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        bytes.extend_from_slice(body);
        Self { status, bytes }
    }
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Reads a head (up to the blank line) and whatever body bytes came with it.
async fn read_head(stream: &mut TcpStream) -> io::Result<Option<(String, Vec<u8>)>> {
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(buffer[..end].to_vec())
                .map_err(|_| invalid("a head that is not UTF-8"))?;
            return Ok(Some((head, buffer[end + 4..].to_vec())));
        }
        if buffer.len() > MAX_HEAD {
            return Err(invalid("a head longer than 64 KiB"));
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return if buffer.is_empty() {
                Ok(None)
            } else {
                Err(invalid("the connection closed in the middle of a head"))
            };
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

fn parse_headers<'a>(lines: impl Iterator<Item = &'a str>) -> io::Result<Vec<(String, String)>> {
    lines
        .map(|line| {
            line.split_once(':')
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| invalid(format!("a header line without a colon: {line:?}")))
        })
        .collect()
}

/// Reads one request from a client. `None` when the client closed the connection first.
pub async fn read_request(stream: &mut TcpStream) -> io::Result<Option<Request>> {
    let Some((head, mut body)) = read_head(stream).await? else {
        return Ok(None);
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(invalid(format!("a request line {request_line:?}")));
    };
    let headers = parse_headers(lines)?;
    let mut request = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        body: Vec::new(),
    };
    if request
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        request.body = read_chunked(stream, body).await?;
    } else {
        let length: usize = match request.header("content-length") {
            Some(value) => value
                .parse()
                .map_err(|_| invalid("a Content-Length that is not a number"))?,
            None => 0,
        };
        if length > MAX_BODY {
            return Err(invalid("a body over 32 MiB"));
        }
        let mut chunk = [0u8; 16 * 1024];
        while body.len() < length {
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Err(invalid("the connection closed in the middle of a body"));
            }
            body.extend_from_slice(&chunk[..read]);
        }
        body.truncate(length);
        request.body = body;
    }
    Ok(Some(request))
}

/// Reads a chunked body to its end (the last chunk and the trailer section after it),
/// starting with the bytes already read, and returns it de-chunked.
async fn read_chunked(stream: &mut TcpStream, mut pending: Vec<u8>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let mut last_chunk_seen = false;
    loop {
        if last_chunk_seen {
            // Trailer fields, if any, then an empty line.
            if pending.starts_with(b"\r\n") || pending.windows(4).any(|w| w == b"\r\n\r\n") {
                return Ok(body);
            }
        } else if let Some(line_end) = pending.windows(2).position(|w| w == b"\r\n") {
            let size_line = String::from_utf8_lossy(&pending[..line_end]).into_owned();
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                .ok()
                .filter(|size| *size <= MAX_BODY)
                .ok_or_else(|| invalid(format!("a chunk size {size_line:?}")))?;
            if size == 0 {
                pending.drain(..line_end + 2);
                last_chunk_seen = true;
                continue;
            }
            // The size line, the data, and the CRLF after it.
            let needed = line_end + 2 + size + 2;
            if pending.len() >= needed {
                body.extend_from_slice(&pending[line_end + 2..line_end + 2 + size]);
                pending.drain(..needed);
                if body.len() > MAX_BODY {
                    return Err(invalid("a body over 32 MiB"));
                }
                continue;
            }
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(invalid(
                "the connection closed in the middle of a chunked body",
            ));
        }
        pending.extend_from_slice(&chunk[..read]);
        if pending.len() > MAX_BODY + MAX_HEAD {
            return Err(invalid("a chunked body over 32 MiB"));
        }
    }
}

/// Sends `request` to `upstream` on a connection of its own and reads the whole answer.
pub async fn forward(upstream: SocketAddr, request: &Request) -> io::Result<Response> {
    let mut connection = TcpStream::connect(upstream).await?;
    connection.write_all(&request.upstream_bytes()).await?;
    let Some((head, mut body)) = read_head(&mut connection).await? else {
        return Err(invalid(
            "the emulator closed the connection without answering",
        ));
    };
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("a status line {status_line:?}")))?;
    let headers = parse_headers(lines)?;
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok());
    // Read exactly the body: waiting for the emulator to close its end costs milliseconds.
    let mut chunk = [0u8; 16 * 1024];
    if chunked {
        body = read_chunked(&mut connection, body).await?;
    } else if let Some(length) = length {
        while body.len() < length {
            let read = connection.read(&mut chunk).await?;
            if read == 0 {
                return Err(invalid(
                    "the emulator closed the connection in the middle of a body",
                ));
            }
            body.extend_from_slice(&chunk[..read]);
        }
        body.truncate(length);
    } else {
        connection.read_to_end(&mut body).await?;
    }
    let mut bytes = format!("{status_line}\r\n").into_bytes();
    for (name, value) in &headers {
        if [
            "connection",
            "content-length",
            "keep-alive",
            "transfer-encoding",
        ]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
        {
            continue;
        }
        bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    // Passed on de-chunked, with its length: the client reads exactly one answer.
    bytes.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    bytes.extend_from_slice(b"Connection: close\r\n\r\n");
    bytes.extend_from_slice(&body);
    Ok(Response { status, bytes })
}
