//! Panics are bugs, and a bug in one record must not take its batch down: [`catch`] runs a
//! record's future and turns a panic inside it into a value, and [`install_hook`] replaces the
//! default panic message (which prints the panic's text, and that text may quote a value a
//! sender wrote) with one log line naming only where the panic happened.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll};

/// Where a caught panic happened (`file:line:column`), for the log line of the record it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panicked {
    /// The source location of the panic, when the panic hook saw it.
    pub location: Option<String>,
}

impl std::fmt::Display for Panicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(location) => write!(f, "a bug: it panicked at {location}"),
            None => write!(f, "a bug: it panicked"),
        }
    }
}

thread_local! {
    static LAST_LOCATION: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Installs, once per process, a panic hook that logs `bug: panic` at error level with the
/// panic's source location and nothing of its message, and remembers the location for
/// [`catch`]. The functions call it at cold start.
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let location = info.location().map(describe);
            tracing::error!(
                location = location.as_deref().unwrap_or("unknown"),
                "bug: panic (its message is not logged: it may quote input)"
            );
            LAST_LOCATION.with(|last| *last.borrow_mut() = location);
        }));
    });
}

fn describe(location: &Location<'_>) -> String {
    format!(
        "{}:{}:{}",
        location.file(),
        location.line(),
        location.column()
    )
}

/// Runs `future` to completion; a panic while polling it becomes `Err(Panicked)` instead of
/// unwinding further. The future's state is dropped after a panic and never polled again.
pub async fn catch<F: Future>(future: F) -> Result<F::Output, Panicked> {
    CatchPanic {
        future: Box::pin(future),
    }
    .await
    .map_err(|_payload: Box<dyn Any + Send>| Panicked {
        location: LAST_LOCATION.with(|last| last.borrow_mut().take()),
    })
}

struct CatchPanic<F> {
    future: Pin<Box<F>>,
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.future.as_mut();
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_inside_the_future_becomes_an_error_with_its_location() {
        install_hook();
        let result = catch(async {
            tokio::task::yield_now().await;
            let dates = [chrono::NaiveDate::MIN];
            dates[0] - chrono::Duration::days(1)
        })
        .await;
        let panicked = result.expect_err("the subtraction overflows");
        let location = panicked.location.expect("the hook saw the panic");
        assert!(location.starts_with(file!()), "{location}");
    }

    #[tokio::test]
    async fn a_future_that_does_not_panic_gives_its_output() {
        assert_eq!(catch(async { 42 }).await, Ok(42));
    }
}
