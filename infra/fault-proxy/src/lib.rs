//! A fault-injecting proxy between the functions and the local AWS emulator, on loopback.
//!
//! Every AWS call of a function goes through it (the functions' `AWS_ENDPOINT_URL` points at
//! it). By the rates of a [`FaultPlan`] it adds latency, answers as throttled or with a 500
//! without forwarding, resets the connection, or forwards the request, lets it land, and then
//! drops the answer or holds it past the client's attempt timeout: the lost answer after which
//! a retried write meets its own effect. DynamoDB, SES and EventBridge calls are faulted;
//! Secrets Manager (read once at cold start) and the emulator's own API never are.
//!
//! Each [`Instance`] is a listener of its own, standing for one function instance (one
//! process), so a crash can be armed at a chosen point of it: right after a transaction was
//! applied, right after SES accepted a message, or just before a message is marked sent. At
//! that point the proxy stops answering the instance for good and says so
//! ([`Instance::crashed`]); the caller abandons the invocation there, as if the process had been
//! killed, and starts a fresh instance.
//!
//! Everything injected is counted ([`FaultStats`]) and listed with what the call was about,
//! so a soak can tell the duplicates no design can prevent from the ones it must not have.

#![warn(missing_docs)]

pub mod aws;
pub mod http;
pub mod plan;

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

pub use aws::{Call, Service};
pub use plan::{FaultKind, FaultPlan, PlanError, Rng};

/// A point of a function's work at which an instance can be made to crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CrashPoint {
    /// A TransactWriteItems was applied; its answer never comes back.
    AfterCommit,
    /// SES accepted a message; the answer never comes back.
    AfterSesAccepted,
    /// The UpdateItem marking a message sent is about to be sent; it never lands.
    BeforeMarkSent,
}

impl CrashPoint {
    /// Every point.
    pub const ALL: [CrashPoint; 3] = [
        CrashPoint::AfterCommit,
        CrashPoint::AfterSesAccepted,
        CrashPoint::BeforeMarkSent,
    ];

    /// Its name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            CrashPoint::AfterCommit => "after_commit",
            CrashPoint::AfterSesAccepted => "after_ses_accepted",
            CrashPoint::BeforeMarkSent => "before_mark_sent",
        }
    }

    fn matches(self, call: &Call, upstream_status: Option<u16>) -> bool {
        match self {
            CrashPoint::AfterCommit => {
                call.service == Service::DynamoDb
                    && call.operation == "TransactWriteItems"
                    && upstream_status == Some(200)
            }
            CrashPoint::AfterSesAccepted => {
                call.service == Service::Ses
                    && call.operation == "SendEmail"
                    && upstream_status == Some(200)
            }
            CrashPoint::BeforeMarkSent => call.marks_sent && upstream_status.is_none(),
        }
    }
}

/// What happened to one call, when something was done to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Injected {
    /// A fault of this kind.
    Fault(FaultKind),
    /// The instance crashed here.
    Crash(CrashPoint),
    /// Not injected, but seen: the emulator answered, and the client had already given up
    /// (its attempt timed out), so it never read the answer.
    Unread,
}

/// One injection, with the call it hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultEvent {
    /// What was done.
    pub injected: Injected,
    /// The call.
    pub call: Call,
    /// Whether the emulator applied the call and answered 200 (the caller never learned it).
    pub applied: bool,
}

/// Counts of what the proxy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Requests received.
    pub requests: u64,
    /// Requests forwarded to the emulator.
    pub forwarded: u64,
    /// Faults injected, by kind and service.
    pub faults: BTreeMap<(FaultKind, Service), u64>,
    /// Crashes, by point.
    pub crashes: BTreeMap<CrashPoint, u64>,
    /// Every fault but latency, every crash, and every answer the client never read, in order.
    pub events: Vec<FaultEvent>,
    /// Answers of the emulator the client never read because it had given up first.
    pub unread: u64,
}

impl FaultStats {
    /// Faults of `kind`, over all services.
    pub fn count(&self, kind: FaultKind) -> u64 {
        self.faults
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|(_, n)| n)
            .sum()
    }

    /// One line per kind and per crash point, for reports.
    pub fn summary(&self) -> String {
        let mut lines = vec![format!(
            "requests {}, forwarded {}",
            self.requests, self.forwarded
        )];
        for kind in FaultKind::ALL {
            let by_service: Vec<String> = self
                .faults
                .iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|((_, s), n)| format!("{} {n}", s.as_str()))
                .collect();
            lines.push(format!(
                "{:<12} {:>6}  {}",
                kind.as_str(),
                self.count(kind),
                by_service.join(", ")
            ));
        }
        for point in CrashPoint::ALL {
            lines.push(format!(
                "crash {:<18} {:>3}",
                point.as_str(),
                self.crashes.get(&point).copied().unwrap_or(0)
            ));
        }
        lines.push(format!("answers never read {:>6}", self.unread));
        lines.join("\n")
    }
}

struct Shared {
    upstream: SocketAddr,
    plan: Mutex<FaultPlan>,
    /// Listeners opened so far: each draws from a generator of its own, so that what one
    /// instance meets does not depend on how its calls interleave with the others'.
    listeners: AtomicU64,
    stats: Mutex<FaultStats>,
    throttles: AtomicU64,
    /// The `amz-sdk-invocation-id`s of calls whose every answer is lost.
    lost_calls: Mutex<std::collections::HashSet<String>>,
    /// Faults to inject into the next calls that can take them (of the operation named, when
    /// one is), whatever the rates say.
    forced: Mutex<Vec<(FaultKind, Option<String>)>>,
}

impl Shared {
    fn record(&self, update: impl FnOnce(&mut FaultStats)) {
        if let Ok(mut stats) = self.stats.lock() {
            update(&mut stats);
        }
    }
}

/// The state of one listener: its generator and its crash.
struct CrashSlot {
    rng: Mutex<Rng>,
    armed: Mutex<Option<CrashPoint>>,
    dead: AtomicBool,
    fired: Notify,
}

/// The proxy: its own threads, listeners on 127.0.0.1 forwarding to the emulator. Stopped
/// when dropped.
pub struct FaultProxy {
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
    endpoint: String,
}

/// One function instance's own way through the proxy.
pub struct Instance {
    endpoint: String,
    slot: Arc<CrashSlot>,
}

impl FaultProxy {
    /// Starts a proxy in front of the emulator at `upstream` (`http://127.0.0.1:<port>`),
    /// injecting by `plan`.
    pub fn start(upstream: &str, plan: FaultPlan) -> io::Result<Self> {
        let address: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("the emulator's address {upstream:?} is not http://<ip>:<port>"),
                )
            })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fault-proxy")
            .enable_all()
            .build()?;
        let shared = Arc::new(Shared {
            upstream: address,
            listeners: AtomicU64::new(0),
            plan: Mutex::new(plan),
            stats: Mutex::new(FaultStats::default()),
            throttles: AtomicU64::new(0),
            lost_calls: Mutex::new(Default::default()),
            forced: Mutex::new(Default::default()),
        });
        let mut proxy = Self {
            shared,
            runtime: Some(runtime),
            endpoint: String::new(),
        };
        proxy.endpoint = proxy.instance()?.endpoint;
        Ok(proxy)
    }

    /// The address of a listener shared by everyone, with no crash points: what
    /// `AWS_ENDPOINT_URL` is set to when crashes are not wanted.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A listener of its own for one function instance.
    pub fn instance(&self) -> io::Result<Instance> {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| io::Error::other("the proxy is stopped"))?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let number = self.shared.listeners.fetch_add(1, Ordering::SeqCst);
        let seed = self
            .plan()
            .seed
            .wrapping_add(number.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let slot = Arc::new(CrashSlot {
            rng: Mutex::new(Rng::new(seed)),
            armed: Mutex::new(None),
            dead: AtomicBool::new(false),
            fired: Notify::new(),
        });
        let shared = self.shared.clone();
        let accept_slot = slot.clone();
        let _guard = runtime.enter();
        let listener = TcpListener::from_std(listener)?;
        runtime.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(serve(stream, shared.clone(), accept_slot.clone()));
                    }
                    // Out of file descriptors, say: the listener stays, and tries again.
                    Err(error) => {
                        tracing::warn!(%error, "fault proxy: accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        });
        Ok(Instance {
            endpoint: format!("http://127.0.0.1:{port}"),
            slot,
        })
    }

    /// Replaces the rates (the generators go on where they were). A plan of no faults also
    /// drops the faults still forced and ends every call whose answers were being lost.
    pub fn set_plan(&self, plan: FaultPlan) {
        if plan.is_none() {
            if let Ok(mut forced) = self.shared.forced.lock() {
                forced.clear();
            }
            if let Ok(mut lost) = self.shared.lost_calls.lock() {
                lost.clear();
            }
        }
        if let Ok(mut current) = self.shared.plan.lock() {
            *current = plan;
        }
    }

    /// Injects a fault of `kind` into the next DynamoDB, SES or EventBridge call, whatever the
    /// rates say: so that a short run is sure to meet every kind at least once.
    pub fn force(&self, kind: FaultKind) {
        if let Ok(mut forced) = self.shared.forced.lock() {
            forced.push((kind, None));
        }
    }

    /// Injects a fault of `kind` into the next call of `operation` (`TransactWriteItems`,
    /// `SendEmail`…), whatever the rates say.
    pub fn force_on(&self, kind: FaultKind, operation: &str) {
        if let Ok(mut forced) = self.shared.forced.lock() {
            forced.push((kind, Some(operation.to_owned())));
        }
    }

    /// The rates in force.
    pub fn plan(&self) -> FaultPlan {
        self.shared
            .plan
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }

    /// What has been injected so far.
    pub fn stats(&self) -> FaultStats {
        self.shared
            .stats
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Instance {
    /// This instance's endpoint, for its SDK clients.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Makes the instance crash the next time its work reaches `point`.
    pub fn arm_crash(&self, point: CrashPoint) {
        if let Ok(mut armed) = self.slot.armed.lock() {
            *armed = Some(point);
        }
    }

    /// Takes back a crash armed but not reached.
    pub fn disarm(&self) {
        if let Ok(mut armed) = self.slot.armed.lock() {
            *armed = None;
        }
    }

    /// Whether a crash is armed and has not happened yet.
    pub fn crash_armed(&self) -> bool {
        self.slot.armed.lock().map(|a| a.is_some()).unwrap_or(false)
    }

    /// Whether the instance crashed.
    pub fn is_dead(&self) -> bool {
        self.slot.dead.load(Ordering::SeqCst)
    }

    /// Resolves once the instance has crashed (at once if it already has).
    pub async fn crashed(&self) {
        loop {
            let notified = self.slot.fired.notified();
            if self.is_dead() {
                return;
            }
            notified.await;
        }
    }
}

/// Handles one client connection: one request, then the connection is closed.
async fn serve(mut client: TcpStream, shared: Arc<Shared>, slot: Arc<CrashSlot>) {
    let request = match http::read_request(&mut client).await {
        Ok(Some(request)) => request,
        Ok(None) => return,
        Err(error) => {
            tracing::warn!(%error, "fault proxy: unreadable request");
            return;
        }
    };
    shared.record(|s| s.requests += 1);
    if slot.dead.load(Ordering::SeqCst) {
        return hold_until_closed(client).await;
    }
    let call = aws::classify(&request);
    let crash = |status: Option<u16>| {
        let mut armed = slot.armed.lock().ok()?;
        let point = (*armed)?;
        if !point.matches(&call, status) {
            return None;
        }
        *armed = None;
        Some(point)
    };
    if let Some(point) = crash(None) {
        return crashed(client, &shared, &slot, point, call, false).await;
    }
    let invocation = request.header("amz-sdk-invocation-id").map(str::to_owned);
    let lost_before = invocation.as_ref().is_some_and(|id| {
        shared
            .lost_calls
            .lock()
            .map(|lost| lost.contains(id))
            .unwrap_or(false)
    });
    let (latency, fault) = if call.service == Service::Other {
        (None, None)
    } else if lost_before {
        // A later attempt of a call whose answers are all lost.
        (None, Some(FaultKind::LostCall))
    } else if let Some(kind) = shared.forced.lock().ok().and_then(|mut forced| {
        let position = forced
            .iter()
            .position(|(_, op)| op.as_ref().is_none_or(|op| *op == call.operation))?;
        Some(forced.remove(position).0)
    }) {
        match kind {
            FaultKind::Latency => {
                let plan = shared.plan.lock().map(|p| p.clone()).unwrap_or_default();
                (Some(plan.latency_range.1), None)
            }
            kind => (None, Some(kind)),
        }
    } else {
        let plan = shared.plan.lock().map(|p| p.clone()).unwrap_or_default();
        let mut rng = match slot.rng.lock() {
            Ok(rng) => rng,
            Err(poisoned) => poisoned.into_inner(),
        };
        plan.draw(&mut rng)
    };
    if let Some(latency) = latency {
        shared.record(|s| {
            *s.faults
                .entry((FaultKind::Latency, call.service))
                .or_default() += 1
        });
        tokio::time::sleep(latency).await;
    }
    let note = |shared: &Shared, kind: FaultKind, applied: bool, call: &Call| {
        shared.record(|s| {
            *s.faults.entry((kind, call.service)).or_default() += 1;
            s.events.push(FaultEvent {
                injected: Injected::Fault(kind),
                call: call.clone(),
                applied,
            });
        });
    };
    match fault {
        Some(FaultKind::Throttle) => {
            note(&shared, FaultKind::Throttle, false, &call);
            let alternate = shared.throttles.fetch_add(1, Ordering::Relaxed) % 2 == 1;
            let _ = client
                .write_all(&aws::throttled(call.service, alternate).bytes)
                .await;
            return;
        }
        Some(FaultKind::Error500) => {
            note(&shared, FaultKind::Error500, false, &call);
            let _ = client
                .write_all(&aws::internal_error(call.service).bytes)
                .await;
            return;
        }
        Some(FaultKind::Reset) => {
            note(&shared, FaultKind::Reset, false, &call);
            return reset(client);
        }
        _ => {}
    }
    let response = match http::forward(shared.upstream, &request).await {
        Ok(response) => response,
        Err(error) => {
            tracing::warn!(%error, "fault proxy: the emulator did not answer");
            return reset(client);
        }
    };
    shared.record(|s| s.forwarded += 1);
    if let Some(point) = crash(Some(response.status)) {
        return crashed(client, &shared, &slot, point, call, true).await;
    }
    let applied = response.status == 200;
    match fault {
        Some(FaultKind::LostAnswer) => {
            note(&shared, FaultKind::LostAnswer, applied, &call);
            reset(client)
        }
        Some(FaultKind::LostCall) => {
            if let (Some(id), Ok(mut lost)) = (invocation, shared.lost_calls.lock()) {
                lost.insert(id);
            }
            note(&shared, FaultKind::LostCall, applied, &call);
            reset(client)
        }
        Some(FaultKind::LateAnswer) => {
            note(&shared, FaultKind::LateAnswer, applied, &call);
            let late_by = shared.plan.lock().map(|p| p.late_by).unwrap_or_default();
            tokio::time::sleep(late_by).await;
            answer(client, &response, &shared, call).await;
        }
        _ => answer(client, &response, &shared, call).await,
    }
}

/// Writes the emulator's answer to the client and makes sure it was read: a client that gave
/// up first (its attempt timed out) has closed its end, which shows as an end of stream before
/// the answer is written, or as a reset after. Such an answer is recorded as unread, with
/// whether it was a success: the client does not know that its call was applied.
async fn answer(mut client: TcpStream, response: &http::Response, shared: &Shared, call: Call) {
    let mut probe = [0u8; 64];
    let gone_before = matches!(client.try_read(&mut probe), Ok(0));
    let delivered = !gone_before
        && client.write_all(&response.bytes).await.is_ok()
        && client.shutdown().await.is_ok()
        && read_to_close(&mut client).await;
    if !delivered {
        shared.record(|s| {
            s.unread += 1;
            s.events.push(FaultEvent {
                injected: Injected::Unread,
                call,
                applied: response.status == 200,
            });
        });
    }
}

/// Waits for the client to close the connection after reading the answer: `true` for an orderly
/// close (or a client that keeps it open), `false` for a reset, which a client that closed
/// without reading gets back from its own end.
async fn read_to_close(client: &mut TcpStream) -> bool {
    let mut sink = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(30), client.read(&mut sink)).await {
            Ok(Ok(0)) | Err(_) => return true,
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return false,
        }
    }
}

async fn crashed(
    client: TcpStream,
    shared: &Shared,
    slot: &CrashSlot,
    point: CrashPoint,
    call: Call,
    applied: bool,
) {
    slot.dead.store(true, Ordering::SeqCst);
    shared.record(|s| {
        *s.crashes.entry(point).or_default() += 1;
        s.events.push(FaultEvent {
            injected: Injected::Crash(point),
            call,
            applied,
        });
    });
    slot.fired.notify_waiters();
    slot.fired.notify_one();
    hold_until_closed(client).await;
}

/// A dead instance answers nothing: the connection stays open until the client gives up.
async fn hold_until_closed(mut client: TcpStream) {
    let mut sink = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(600), client.read(&mut sink)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(_)) => {}
        }
    }
}

/// Closes the connection with a reset (RST), as a dropped connection looks to the client.
fn reset(client: TcpStream) {
    let _ = socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO));
    drop(client);
}
