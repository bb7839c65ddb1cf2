//! A metering proxy between the functions and the local emulator, on loopback: it forwards
//! every request unchanged and records, for each DynamoDB call, what DynamoDB would bill for it
//! ([`crate::billing`]), and each SES and EventBridge call.
//!
//! A write's cost depends on the items before and after it, so for each item a write touches
//! the proxy reads it (GetItem, strongly consistent) just before forwarding the write and just
//! after it landed. Writes go upstream one at a time, so those reads see exactly the write's
//! effect. A read's cost comes from the items in its answer. The proxy's own reads are not
//! recorded.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use aftercare_fault_proxy::http::{self, Request};
use aftercare_fault_proxy::{aws, Service};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::billing::{read_units, IndexShape, Item, Projection, TableShape, WriteUnits};
use crate::size::item_size;
use aws_sdk_dynamodb::types::ProjectionType;

/// Why the meter could not start.
#[derive(Debug, thiserror::Error)]
pub enum MeterError {
    /// The emulator's address is not `http://<ip>:<port>`.
    #[error("the emulator's address {0:?} is not http://<ip>:<port>")]
    Address(String),
    /// The table could not be described.
    #[error("describing the table failed: {0}")]
    Describe(String),
    /// A socket or the runtime could not be set up.
    #[error("starting the metering proxy failed: {0}")]
    Io(#[from] std::io::Error),
}

/// One call as metered.
#[derive(Debug, Clone, PartialEq)]
pub struct Metered {
    /// The service.
    pub service: Service,
    /// The operation (`TransactWriteItems`, `SendEmail`…).
    pub operation: String,
    /// Whether the service answered 200.
    pub succeeded: bool,
    /// Write units billed (a failed conditional write is billed too).
    pub write: WriteUnits,
    /// Read units billed.
    pub read: f64,
    /// Each item written: its key (`pk sk`) and its size after the write (before, for a
    /// delete), in bytes.
    pub items: Vec<(String, u64)>,
}

struct Shared {
    upstream: SocketAddr,
    shape: TableShape,
    log: Mutex<Vec<Metered>>,
    /// Writes go upstream one at a time, each between its reads of the items it touches.
    writes: tokio::sync::Mutex<()>,
}

/// The metering proxy: its own runtime, a listener on 127.0.0.1 forwarding to the emulator.
/// Stopped when dropped.
pub struct Meter {
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
    endpoint: String,
}

impl Meter {
    /// Starts a meter in front of the emulator at `upstream` (`http://127.0.0.1:<port>`),
    /// billing writes by the table's `shape`.
    pub fn start(upstream: &str, shape: TableShape) -> Result<Self, MeterError> {
        let address: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .map_err(|_| MeterError::Address(upstream.to_owned()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("meter")
            .enable_all()
            .build()?;
        let shared = Arc::new(Shared {
            upstream: address,
            shape,
            log: Mutex::new(Vec::new()),
            writes: tokio::sync::Mutex::new(()),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let endpoint = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let accept = shared.clone();
        let _guard = runtime.enter();
        let listener = TcpListener::from_std(listener)?;
        runtime.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(serve(stream, accept.clone()));
                    }
                    Err(error) => {
                        tracing::warn!(%error, "meter: accepting a connection failed");
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                }
            }
        });
        Ok(Self {
            shared,
            runtime: Some(runtime),
            endpoint,
        })
    }

    /// The address to point the functions' clients at.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Every call metered since the last take, oldest first; the log starts afresh.
    pub fn take(&self) -> Vec<Metered> {
        self.shared
            .log
            .lock()
            .map(|mut log| std::mem::take(&mut *log))
            .unwrap_or_default()
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// One item a write touches: its table, key, and whether it is written in a transaction.
struct Touched {
    table: String,
    key: Item,
    transactional: bool,
    /// A transaction's condition check: billed as a write that changes nothing.
    check_only: bool,
}

async fn serve(mut client: TcpStream, shared: Arc<Shared>) {
    let request = match http::read_request(&mut client).await {
        Ok(Some(request)) => request,
        Ok(None) => return,
        Err(error) => {
            tracing::warn!(%error, "meter: unreadable request");
            return;
        }
    };
    let call = aws::classify(&request);
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let touched = if call.service == Service::DynamoDb {
        touched_by(&call.operation, &body, &shared.shape)
    } else {
        Vec::new()
    };
    let (response, metered) = if touched.is_empty() {
        let response = http::forward(shared.upstream, &request).await;
        let metered = response.as_ref().ok().and_then(|r| {
            metered_read(
                &call.service,
                &call.operation,
                &body,
                r.status,
                body_of(&r.bytes),
            )
        });
        (response, metered)
    } else {
        let _one_at_a_time = shared.writes.lock().await;
        let mut before = Vec::new();
        for item in &touched {
            before.push(get_item(&shared, &request, item).await);
        }
        let response = http::forward(shared.upstream, &request).await;
        let succeeded = response.as_ref().is_ok_and(|r| r.status == 200);
        let mut write = WriteUnits::default();
        let mut items = Vec::new();
        for (item, before) in touched.iter().zip(&before) {
            let after = if succeeded && !item.check_only {
                get_item(&shared, &request, item).await
            } else {
                before.clone()
            };
            let mut units =
                shared
                    .shape
                    .write_units(before.as_ref(), after.as_ref(), item.transactional);
            if !succeeded || item.check_only {
                units.index = 0;
            }
            write += units;
            let size = after
                .as_ref()
                .or(before.as_ref())
                .map(item_size)
                .unwrap_or(0);
            items.push((key_text(&item.key), size));
        }
        let metered = Metered {
            service: Service::DynamoDb,
            operation: call.operation.clone(),
            succeeded,
            write,
            read: 0.0,
            items,
        };
        (response, Some(metered))
    };
    if let Some(metered) = metered {
        if let Ok(mut log) = shared.log.lock() {
            log.push(metered);
        }
    }
    match response {
        Ok(response) => {
            let _ = client.write_all(&response.bytes).await;
            let _ = client.shutdown().await;
        }
        Err(error) => tracing::warn!(%error, "meter: forwarding failed"),
    }
}

/// The body of a response (after its head).
fn body_of(bytes: &[u8]) -> &[u8] {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|end| &bytes[end + 4..])
        .unwrap_or_default()
}

/// The items a DynamoDB write touches; none for a read.
fn touched_by(operation: &str, body: &Value, shape: &TableShape) -> Vec<Touched> {
    let table = |v: &Value| v["TableName"].as_str().unwrap_or_default().to_owned();
    let key_of = |item: &Value| -> Item {
        let item = item.as_object().cloned().unwrap_or_default();
        item.into_iter()
            .filter(|(name, _)| *name == shape.hash || Some(name) == shape.range.as_ref())
            .collect()
    };
    let single = |key: Item, transactional: bool, check_only: bool, table: String| Touched {
        table,
        key,
        transactional,
        check_only,
    };
    match operation {
        "PutItem" => vec![single(key_of(&body["Item"]), false, false, table(body))],
        "UpdateItem" | "DeleteItem" => {
            vec![single(key_of(&body["Key"]), false, false, table(body))]
        }
        "TransactWriteItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let (kind, action) = entry.as_object()?.iter().next()?;
                let key = match kind.as_str() {
                    "Put" => key_of(&action["Item"]),
                    _ => key_of(&action["Key"]),
                };
                Some(single(key, true, kind == "ConditionCheck", table(action)))
            })
            .collect(),
        "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(table, requests)| {
                requests
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|request| {
                        let key = if let Some(put) = request.get("PutRequest") {
                            key_of(&put["Item"])
                        } else {
                            key_of(&request.get("DeleteRequest")?["Key"])
                        };
                        Some(single(key, false, false, table.clone()))
                    })
                    .collect::<Vec<_>>()
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// What a read (or an SES or EventBridge call) is billed, from its request and answer.
fn metered_read(
    service: &Service,
    operation: &str,
    request: &Value,
    status: u16,
    answer: &[u8],
) -> Option<Metered> {
    if *service == Service::Other {
        return None;
    }
    let metered = |read: f64| Metered {
        service: *service,
        operation: operation.to_owned(),
        succeeded: status == 200,
        write: WriteUnits::default(),
        read,
        items: Vec::new(),
    };
    if *service != Service::DynamoDb {
        return Some(metered(0.0));
    }
    let answer: Value = serde_json::from_slice(answer).unwrap_or(Value::Null);
    let consistent = |v: &Value| v["ConsistentRead"].as_bool().unwrap_or(false);
    let size = |v: &Value| v.as_object().map(item_size).unwrap_or(0);
    let read = match operation {
        "GetItem" => read_units(size(&answer["Item"]), consistent(request), false),
        "BatchGetItem" => request["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(table, asked)| {
                let found: Vec<u64> = answer["Responses"][table]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(size)
                    .collect();
                let keys = asked["Keys"].as_array().map(Vec::len).unwrap_or(0);
                let missing = keys.saturating_sub(found.len());
                found
                    .iter()
                    .chain(std::iter::repeat_n(&0, missing))
                    .map(|bytes| read_units(*bytes, consistent(asked), false))
                    .sum::<f64>()
            })
            .sum(),
        "Query" | "Scan" => {
            let bytes: u64 = answer["Items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(size)
                .sum();
            read_units(bytes, consistent(request), false)
        }
        "TransactGetItems" => answer["Responses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| read_units(size(&r["Item"]), true, true))
            .sum(),
        _ => 0.0,
    };
    Some(metered(read))
}

/// Reads one item upstream, strongly consistent, signed as the request it is read for.
async fn get_item(shared: &Shared, original: &Request, item: &Touched) -> Option<Item> {
    let body = json!({"TableName": item.table, "Key": item.key, "ConsistentRead": true});
    let mut headers: Vec<(String, String)> = original
        .headers
        .iter()
        .filter(|(name, _)| {
            ["host", "authorization", "x-amz-date"]
                .iter()
                .any(|h| name.eq_ignore_ascii_case(h))
        })
        .cloned()
        .collect();
    headers.push(("Content-Type".into(), "application/x-amz-json-1.0".into()));
    headers.push(("X-Amz-Target".into(), "DynamoDB_20120810.GetItem".into()));
    let request = Request {
        method: "POST".into(),
        target: "/".into(),
        headers,
        body: body.to_string().into_bytes(),
    };
    let response = http::forward(shared.upstream, &request).await.ok()?;
    let answer: Value = serde_json::from_slice(body_of(&response.bytes)).ok()?;
    answer.get("Item")?.as_object().cloned()
}

/// A key as `pk sk` text, for reports.
fn key_text(key: &Item) -> String {
    key.values()
        .filter_map(|v| v.as_object()?.values().next()?.as_str().map(str::to_owned))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A table's keys and indexes, as DynamoDB (or the emulator) describes them: what [`Meter`]
/// bills writes by.
pub async fn table_shape(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<TableShape, MeterError> {
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| {
            MeterError::Describe(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
        })?;
    let described = described
        .table()
        .ok_or_else(|| MeterError::Describe("no table description".into()))?;
    let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| {
        let of = |kind: &str| {
            schema
                .iter()
                .find(|k| k.key_type().as_str() == kind)
                .map(|k| k.attribute_name().to_owned())
        };
        (of("HASH").unwrap_or_default(), of("RANGE"))
    };
    let (hash, range) = keys(described.key_schema());
    let indexes = described
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            let (hash, range) = keys(index.key_schema());
            let projection = match index.projection().and_then(|p| p.projection_type()) {
                Some(ProjectionType::KeysOnly) => Projection::KeysOnly,
                Some(ProjectionType::Include) => Projection::Include(
                    index
                        .projection()
                        .map(|p| p.non_key_attributes().to_vec())
                        .unwrap_or_default(),
                ),
                _ => Projection::All,
            };
            IndexShape {
                name: index.index_name().unwrap_or_default().to_owned(),
                hash,
                range,
                projection,
            }
        })
        .collect();
    Ok(TableShape {
        hash,
        range,
        indexes,
    })
}
