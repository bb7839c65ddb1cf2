//! HTTP API events made safe for lambda_http's conversion into an `http::Request`.
//!
//! lambda_http builds the request's URI from the event's `rawPath`, `rawQueryString`, `Host`
//! header, `X-Forwarded-Proto` header and stage, and panics when they do not make a valid URI
//! (a literal space in the query string is enough); it also panics on a body flagged as base64
//! that does not decode. The invocation then fails as a whole, the caller sees a bare 500 and
//! the alarm fires, for a request that deserved a 400 page. Every event is mended first: what a
//! URI cannot hold is percent-encoded, a host, scheme or stage that cannot be part of one is
//! dropped, and a body that is not the base64 it claims to be is dropped, so the function
//! always gets to answer with a page.

use std::task::{Context, Poll};

use lambda_http::request::LambdaRequest;
use lambda_http::{LambdaEvent, Service};

/// Mends the parts of an HTTP API event lambda_http builds the URI from (see the module).
/// Events of other kinds are left as they are.
pub fn make_convertible(event: &mut LambdaRequest) {
    #[allow(unreachable_patterns)]
    let LambdaRequest::ApiGatewayV2(request) = event
    else {
        return;
    };
    let path = request.raw_path.as_deref().unwrap_or("/");
    let mut path = percent_encode_unsafe(path, false);
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    request.raw_path = Some(path);
    if request.is_base64_encoded {
        let decodes = request.body.as_deref().is_none_or(|body| {
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).is_ok()
        });
        if !decodes {
            request.body = None;
            request.is_base64_encoded = false;
        }
    }
    request.raw_query_string = request
        .raw_query_string
        .as_deref()
        .map(|query| percent_encode_unsafe(query, true));
    let host_ok = |host: &str| is_host(host);
    if request
        .headers
        .get(lambda_http::http::header::HOST)
        .is_some_and(|h| !h.to_str().is_ok_and(host_ok))
    {
        request.headers.remove(lambda_http::http::header::HOST);
    }
    if request
        .request_context
        .domain_name
        .as_deref()
        .is_some_and(|d| !host_ok(d))
    {
        request.request_context.domain_name = None;
    }
    if request
        .headers
        .get("x-forwarded-proto")
        .is_some_and(|p| !matches!(p.to_str(), Ok("http" | "https")))
    {
        request.headers.remove("x-forwarded-proto");
    }
    if request
        .request_context
        .stage
        .as_deref()
        .is_some_and(|stage| {
            stage.is_empty()
                || !stage
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"$-_".contains(&b))
        })
    {
        request.request_context.stage = None;
    }
}

/// Turns an HTTP API event into the request the function handles, mended first.
pub fn http_request(mut event: LambdaRequest) -> lambda_http::Request {
    make_convertible(&mut event);
    event.into()
}

/// A host (and port) a URI can hold: letters, digits, `-`, `.`, and `:` before a port.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b))
        && url::Url::parse(&format!("https://{host}/")).is_ok()
}

/// `text` with every byte a URI path (or, with `query`, a query) cannot hold percent-encoded;
/// a `%` that does not start an escape is encoded too.
fn percent_encode_unsafe(text: &str, query: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    for (i, &byte) in bytes.iter().enumerate() {
        let allowed = byte.is_ascii_alphanumeric()
            || b"-._~!$&'()*+,;=:@/".contains(&byte)
            || (query && byte == b'?');
        let escape = byte == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if allowed || escape {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A service over Lambda's HTTP API events that mends each event ([`make_convertible`])
/// before handing it to `inner` (lambda_http's adapter, which converts it).
#[derive(Clone)]
pub struct ConvertibleEvents<S>(pub S);

impl<S> Service<LambdaEvent<LambdaRequest>> for ConvertibleEvents<S>
where
    S: Service<LambdaEvent<LambdaRequest>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut event: LambdaEvent<LambdaRequest>) -> Self::Future {
        make_convertible(&mut event.payload);
        self.0.call(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(raw_path: &str, raw_query: &str, host: &str, proto: Option<&str>) -> LambdaRequest {
        let mut headers = serde_json::json!({ "host": host });
        if let Some(proto) = proto {
            headers["x-forwarded-proto"] = serde_json::json!(proto);
        }
        let json = serde_json::json!({
            "version": "2.0", "routeKey": "GET /rate", "rawPath": raw_path,
            "rawQueryString": raw_query, "headers": headers,
            "requestContext": {"accountId": "1", "apiId": "a", "domainName": host,
                "http": {"method": "GET", "path": raw_path, "protocol": "HTTP/1.1",
                         "sourceIp": "203.0.113.1", "userAgent": "test"},
                "requestId": "r", "routeKey": "GET /rate", "stage": "$default",
                "time": "01/Dec/2026:12:00:00 +0000", "timeEpoch": 0},
            "isBase64Encoded": false
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_space_in_the_query_string_is_encoded_instead_of_panicking() {
        let request = http_request(event(
            "/rate",
            "token=a b&score=2",
            "feedback.shop.example",
            None,
        ));
        assert_eq!(request.uri().path(), "/rate");
        assert_eq!(request.uri().query(), Some("token=a%20b&score=2"));
    }

    #[test]
    fn a_path_that_is_not_ascii_and_a_stray_percent_are_encoded() {
        let request = http_request(event(
            "/rate/ü 100%",
            "x=%zz&y=%41",
            "feedback.shop.example",
            None,
        ));
        assert_eq!(request.uri().path(), "/rate/%C3%BC%20100%25");
        assert_eq!(request.uri().query(), Some("x=%25zz&y=%41"));
    }

    #[test]
    fn a_body_flagged_as_base64_that_does_not_decode_is_dropped_instead_of_panicking() {
        let mut bad = event("/rate/comment", "", "feedback.shop.example", None);
        if let LambdaRequest::ApiGatewayV2(request) = &mut bad {
            request.is_base64_encoded = true;
            request.body = Some("%%% not base64".into());
        }
        let request = http_request(bad);
        assert!(request.body().is_empty());
        let mut good = event("/rate/comment", "", "feedback.shop.example", None);
        if let LambdaRequest::ApiGatewayV2(request) = &mut good {
            request.is_base64_encoded = true;
            request.body = Some("dG9rZW49eA==".into());
        }
        assert_eq!(http_request(good).body().as_ref(), b"token=x");
    }

    #[test]
    fn a_host_or_scheme_a_uri_cannot_hold_is_dropped() {
        let request = http_request(event("rate", "", "bad host/with path", Some("gopher://")));
        assert_eq!(request.uri().path(), "/rate");
        assert!(request.uri().host().is_none());
        let request = http_request(event(
            "/rate",
            "",
            "feedback.shop.example:8443",
            Some("http"),
        ));
        assert_eq!(request.uri().host(), Some("feedback.shop.example"));
        assert_eq!(request.uri().scheme_str(), Some("http"));
    }
}
