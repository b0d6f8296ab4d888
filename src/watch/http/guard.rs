//! The connection limits of `watch`'s HTTP server, kept by the listener and each accepted
//! connection's I/O (hyper, under `axum::serve`, keeps none), so that idle or slow clients
//! can neither hold descriptors forever nor crowd `/metrics` out:
//!
//! 1. A request must be answered within [`Limits::request_timeout`] of its first byte (for a
//!    new connection, of its opening): a client that connects and says nothing, or sends its
//!    headers one byte a second (slowloris), is closed.
//! 2. After an answer, a connection may wait for its next request (keep-alive) for
//!    [`Limits::idle_timeout`], then it is closed.
//! 3. At most [`Limits::max_connections`] are open at once. A new one over that closes the one
//!    that has waited longest for its client (idle, or sending slowly): every new connection is
//!    served, so an idle crowd never starves `/metrics`. Running out of descriptors
//!    (`EMFILE`) closes one the same way before accepting again.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;

/// The connection limits; [`Default`] is what `watch` uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// From a request's first byte (a new connection's opening) to its answer.
    pub request_timeout: Duration,
    /// How long a connection may wait for its next request after an answer.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: default_max_connections(),
            request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(10),
        }
    }
}

/// A quarter of the soft descriptor limit, between 16 and 1024: the rest is for the followed
/// files, the store and the sinks.
fn default_max_connections() -> usize {
    use nix::sys::resource::{Resource, getrlimit};
    let soft = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft);
    usize::try_from(soft / 4).map_or(1024, |n| n.clamp(16, 1024))
}

/// The open connections, each with when it started waiting for its client.
#[derive(Debug)]
struct Pool {
    max: usize,
    /// What [`Slot::since`] counts from.
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Slot>>>,
}

/// One connection as the pool sees it.
#[derive(Debug, Default)]
struct Slot {
    /// Nanoseconds after the pool's epoch since when it waits for its client: its opening,
    /// its current request's first byte, or its last answer.
    since: AtomicU64,
    /// Set to make the connection fail at its next poll, which `waker` brings on.
    evicted: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Slot {
    fn evict(&self) {
        self.evicted.store(true, Ordering::Relaxed);
        if let Some(w) = lock(&self.waker).take() {
            w.wake();
        }
    }
}

/// A lock still usable after a panic elsewhere: the data (a map, a waker) stays whole.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Pool {
    fn nanos_since_epoch(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Registers a new connection, evicting one first when the pool is full.
    fn admit(&self) -> (u64, Arc<Slot>) {
        let slot = Arc::new(Slot::default());
        slot.since
            .store(self.nanos_since_epoch(Instant::now()), Ordering::Relaxed);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut open = lock(&self.open);
        let live = open
            .values()
            .filter(|s| !s.evicted.load(Ordering::Relaxed))
            .count();
        if live >= self.max {
            evict_longest_waiting(&open);
        }
        open.insert(id, Arc::clone(&slot));
        (id, slot)
    }

    /// Closes the connection waiting longest for its client; false if there is none.
    fn evict_one(&self) -> bool {
        evict_longest_waiting(&lock(&self.open))
    }
}

/// Evicts, among `open` not evicted yet, the one with the oldest `since`.
fn evict_longest_waiting(open: &HashMap<u64, Arc<Slot>>) -> bool {
    let oldest = open
        .values()
        .filter(|s| !s.evicted.load(Ordering::Relaxed))
        .min_by_key(|s| s.since.load(Ordering::Relaxed));
    oldest.inspect(|s| s.evict()).is_some()
}

/// The server's listener: a TCP listener whose connections keep the [`Limits`].
#[derive(Debug)]
pub(super) struct GuardedListener {
    listener: TcpListener,
    pool: Arc<Pool>,
    limits: Limits,
}

impl GuardedListener {
    pub(super) fn new(listener: TcpListener, limits: Limits) -> GuardedListener {
        GuardedListener {
            listener,
            pool: Arc::new(Pool {
                max: limits.max_connections.max(1),
                epoch: Instant::now(),
                next_id: AtomicU64::new(0),
                open: Mutex::new(HashMap::new()),
            }),
            limits,
        }
    }
}

/// How long accepting rests after an error, for the cause to pass (a descriptor freed).
const ACCEPT_PAUSE: Duration = Duration::from_millis(20);

impl Listener for GuardedListener {
    type Io = Guarded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Guarded, SocketAddr) {
        loop {
            match self.listener.accept().await {
                Ok((stream, addr)) => return (self.guard(stream), addr),
                Err(e) => {
                    // Out of descriptors: an idle connection gives its own back. Other errors
                    // (a client gone before it was accepted) need only a retry.
                    if matches!(
                        e.raw_os_error(),
                        Some(nix::libc::EMFILE | nix::libc::ENFILE)
                    ) {
                        self.pool.evict_one();
                    }
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

impl GuardedListener {
    fn guard(&self, stream: TcpStream) -> Guarded {
        let (id, slot) = self.pool.admit();
        Guarded {
            stream,
            id,
            slot,
            pool: Arc::clone(&self.pool),
            deadline: Box::pin(tokio::time::sleep(self.limits.request_timeout)),
            answered: false,
            request_timeout: self.limits.request_timeout,
            idle_timeout: self.limits.idle_timeout,
        }
    }
}

/// An accepted connection's I/O, failing once its deadline passes or it is evicted (hyper
/// then closes the connection).
#[derive(Debug)]
pub(super) struct Guarded {
    stream: TcpStream,
    id: u64,
    slot: Arc<Slot>,
    pool: Arc<Pool>,
    /// The request's deadline, or (after an answer) the idle one.
    deadline: Pin<Box<Sleep>>,
    /// Whether the current request got answer bytes: the next byte read starts a new one.
    answered: bool,
    request_timeout: Duration,
    idle_timeout: Duration,
}

impl Guarded {
    /// Moves the deadline to `timeout` from now and marks the connection waiting since now.
    fn restart(&mut self, timeout: Duration) {
        let now = Instant::now();
        self.deadline.as_mut().reset((now + timeout).into());
        self.slot
            .since
            .store(self.pool.nanos_since_epoch(now), Ordering::Relaxed);
    }

    /// For an operation that is pending: an error once evicted or past the deadline, else
    /// pending with this task woken by either.
    fn poll_limits(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        *lock(&self.slot.waker) = Some(cx.waker().clone());
        if self.slot.evicted.load(Ordering::Relaxed) {
            return Poll::Ready(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "closed to make room for a new connection",
            ));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took too long",
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if self.answered && buf.filled().len() > before {
                    self.answered = false;
                    let timeout = self.request_timeout;
                    self.restart(timeout);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.poll_limits(cx).map(Err),
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.answered = true;
                    let timeout = self.idle_timeout;
                    self.restart(timeout);
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.poll_limits(cx).map(Err),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.stream).poll_flush(cx) {
            Poll::Pending => self.poll_limits(cx).map(Err),
            done => done,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        lock(&self.pool.open).remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_pool_evicts_the_connection_waiting_longest() {
        let pool = Pool {
            max: 2,
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        };
        let (_, first) = pool.admit();
        let (_, second) = pool.admit();
        // The first connection got a request since: the second has waited longer.
        first.since.store(u64::MAX, Ordering::Relaxed);
        let (_, third) = pool.admit();
        assert!(second.evicted.load(Ordering::Relaxed));
        assert!(!first.evicted.load(Ordering::Relaxed));
        assert!(!third.evicted.load(Ordering::Relaxed));
    }
}
